"""The report's wording, shared by its HTML and PDF renderings: both read only the stored
content, so a report renders the same years later. Reports of format 1 (veto records as text,
no names, no signature) read through the same functions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.evaluation.report.content import FORMAT_1
from services.evaluation.scoring.lines import FIGURE_NAMES as FIGURES

TITLE = ("绿色制造评价报告", "Green manufacturing evaluation report")
PATH_LABELS = {"self": ("自评价", "Self-evaluation"),
               "institution": ("第三方机构评价", "Third-party institution")}
CONCLUSIONS = {"passed": ("通过", "Passed"), "failed": ("未通过", "Not passed"),
               "vetoed": ("一票否决", "Vetoed")}
LEVELS = {"municipal": ("市级", "municipal"), "provincial": ("省级", "provincial"),
          "national": ("国家级", "national")}
UNIT_KINDS = {"factory": ("绿色工厂", "factory"), "park": ("绿色工业园区", "industrial park"),
              "supply_chain": ("绿色供应链管理企业", "supply-chain enterprise")}
PLEDGE = ("本单位（机构）承诺所填报数据及证明材料真实、准确、完整，如有不实，愿承担相应责任。",
          "We pledge that the data and evidence given are true, accurate and complete, and accept "
          "responsibility for any misstatement.")
PROVISIONAL = ("含暂定值", "contains provisional values")
PROVISIONAL_MEANS = (
    "本报告所用评价方案的部分分值、基准值、引领值或合格线并非取自正式发布的标准文本，而是平台的"
    "暂定值（下表中标注“暂定”的指标）。据此得出的分数仅供参考，不构成法定评价结果。",
    "Some points, baseline or leading values or the pass mark of the scheme used are not taken "
    "from an official text but are the platform's provisional figures (indicators marked "
    "'provisional' below). The score is for guidance only and is not a legal result.")
SIGNATURE_NOTE = (
    "用平台公布的报告公钥（GET /api/v1/public/report-keys）可核验本报告：PDF 内附有签名的 JSON "
    "报告，运行 python tools/verify_report.py 报告.pdf 公钥.json，或上传至 "
    "POST /api/v1/public/reports/verify。",
    "Verify this report with the platform's published report keys (GET "
    "/api/v1/public/report-keys): the PDF carries the signed JSON report as an attachment; run "
    "python tools/verify_report.py report.pdf keys.json, or upload it to "
    "POST /api/v1/public/reports/verify.")


MARK = ("暂定", "provisional")
# a format-1 report names no figure: every figure of its scheme versions was provisional
EVERY_FIGURE = ("暂定：本行全部数值", "provisional: every figure of this line")


def is_provisional(report: Mapping[str, Any]) -> bool:
    """Whether the first page carries the provisional mark: as the report states it (format 2).
    A report of format 1 does not state it; every scheme version it was issued under was
    provisional throughout, so it is."""
    if report.get("format") == FORMAT_1:
        return True
    return report.get("provisional") is True


def _stated(report: Mapping[str, Any], value: Any) -> bool:
    """A provisional flag of part of a report: as stated, or (format 1, or a format-2 report
    issued before the part was flagged) as the whole report is."""
    if report.get("format") != FORMAT_1 and isinstance(value, bool):
        return value
    return is_provisional(report)


def pass_mark_provisional(report: Mapping[str, Any]) -> bool:
    return _stated(report, report.get("pass_mark_provisional"))


def category_provisional(report: Mapping[str, Any], category: Mapping[str, Any]) -> bool:
    """Whether the category's points (its maximum) are a provisional figure."""
    return _stated(report, category.get("provisional"))


def provisional_figures(line: Mapping[str, Any],
                        report: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """("暂定：分值、基准值", "provisional: points, baseline"), or ("", "") when none is; every
    figure of a line of a format-1 report."""
    if report is not None and report.get("format") == FORMAT_1:
        return EVERY_FIGURE
    figures = line.get("provisional") or []
    if not figures:
        return "", ""
    return ("暂定：" + "、".join(FIGURES.get(f, (f, f))[0] for f in figures),
            "provisional: " + ", ".join(FIGURES.get(f, (f, f))[1] for f in figures))


def shown_value(line: Mapping[str, Any]) -> tuple[str, str]:
    """(the value scored, a smaller second line: English, or the years of a multi-year scheme,
    or the products of a per-product indicator, or the tier a basis picked)"""
    value = line["value"]
    products = line.get("products") or []
    if products:
        return ("；".join(f"{p['name']} {p['amount']} {p['unit']}（{p['standard']}）"
                         for p in products),
                "; ".join(f"{p['name']}: grade 1 {p['grade1']}, grade 2 {p['grade2']}, "
                          f"weight {p['weight']}" for p in products))
    if value is None:
        return "未填报", "not reported"
    if value is True or value is False:
        return ("满足", "met") if value else ("不满足", "not met")
    if line["kind"] != "quantitative":
        return str(value), ""
    unit = "" if line["unit"] in ("", "-") else f" {line['unit']}"
    years = "；".join(f"第{i}年 {y}" for i, y in enumerate(line["yearly"], 1))
    if line.get("basis") is not None:
        years = "；".join(x for x in (years, f"分档依据 {line['basis']}（{line.get('tier', '')}）")
                         if x)
    return f"{value}{unit}", years


def record_words(record: Any) -> tuple[str, str]:
    """A compliance record in words: "2025-03-02 安全事故（条件 2），文号 …，来源 …". A record of
    a format-1 report is the registry's text as it was."""
    if not isinstance(record, Mapping):
        return str(record), str(record)
    get = record.get
    kind_zh, kind_en = get("kind_zh") or get("kind", ""), get("kind_en") or get("kind", "")
    ended = get("ended_on")
    zh = (f"{get('occurred_on', '')}{f' 至 {ended}' if ended else ''} {kind_zh}"
          f"（条件 {get('condition')}）")
    en = (f"{get('occurred_on', '')}{f' to {ended}' if ended else ''} {kind_en}"
          f" (condition {get('condition')})")
    if get("reference"):
        zh, en = f"{zh}，文号 {get('reference')}", f"{en}, reference {get('reference')}"
    if get("source"):
        zh, en = f"{zh}，来源 {get('source')}", f"{en}, source {get('source')}"
    return zh, en


def veto_lines(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    veto = report["veto"]
    if not veto["vetoed"]:
        return [(f"截至 {veto['on']} 未触发否决条件", f"No veto condition applies as of {veto['on']}")]
    lines = []
    for c in veto["conditions"]:
        title_zh = c.get("title_zh") or c.get("title", "")
        title_en = c.get("title_en") or c.get("code", "")
        records = [record_words(r) for r in c.get("records", ())]
        lines.append((f"第 {c['condition']} 项：{title_zh}（截至 {veto['on']}）；记录："
                      + "；".join(zh for zh, _ in records),
                      f"Condition {c['condition']}: {title_en} (as of {veto['on']}); records: "
                      + "; ".join(en for _, en in records)))
    return lines


def contradiction_lines(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Declarations the registry contradicts (format 2; none in format 1)."""
    lines = []
    for c in report.get("contradictions") or ():
        records = [record_words(r) for r in c["records"]]
        lines.append((f"单位声明已满足“{c['text_zh']}”，但登记的合规记录与之不符："
                      + "；".join(zh for zh, _ in records),
                      f"The unit declared '{c['text_en']}' met, but the registry's compliance "
                      "records contradict it: " + "; ".join(en for _, en in records)))
    return lines


def head_rows(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(zh label, en label, value) of the report's head."""
    unit, scheme, inst = report["unit"], report["scheme"], report["institution"]
    path_zh, path_en = PATH_LABELS.get(report["path"], (report["path"], ""))
    kind_zh, kind_en = UNIT_KINDS.get(unit["kind"], (unit["kind"], ""))
    level = report.get("level")
    level_zh, level_en = LEVELS.get(level, (level, "")) if level else ("未申报级别", "not stated")
    return [
        ("评价编号", "Evaluation", report["evaluation_id"]),
        ("单位名称", "Unit", unit["name"]),
        ("统一社会信用代码", "USCC", unit["uscc"]),
        ("单位类型", "Kind", f"{kind_zh} {kind_en}".strip()),
        ("所在地", "Location", _named(unit.get("location_name"), unit["location"])),
        ("所属行业", "Industry", _named(unit.get("industry_name"), unit["industry"])),
        ("评价方案", "Scheme", f"{scheme['title_zh']}（{scheme['id']} 第 {scheme['version']} 版）"),
        ("申报级别", "Level", f"{level_zh} {level_en}".strip()),
        ("评价路径", "Path", f"{path_zh} {path_en}"),
        ("第三方机构", "Institution", f"{inst['name']}（{inst['uscc']}）" if inst else "—"),
        *([("机构法定代表人", "Legal representative", inst.get("legal_representative", "")),
           ("机构地址", "Address", inst.get("address", ""))] if inst else []),
        ("提交时间", "Submitted", report["submitted_at"]),
    ]


def summary_rows(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    requirements = {r["id"]: r["text_zh"] for r in report["basic_requirements"]}
    indicators = {i["id"]: i["name_zh"] for i in report["indicators"]}
    rows = [
        ("平台评分", "Platform score", f"{report['total']} / {report['max_total']}"),
        ("合格分数线", "Pass mark", report["pass_mark"] + (
            f"（{MARK[0]} {MARK[1]}）" if pass_mark_provisional(report) else "")),
        ("结论", "Conclusion", " ".join(CONCLUSIONS[report["conclusion"]])),
    ]
    if report["vetoed_by"]:
        rows.append(("未满足的基本要求", "Basic requirements not met",
                     "、".join(requirements.get(i, i) for i in report["vetoed_by"])))
    if report["failed_required"]:
        rows.append(("未满足的必选项", "Required items not met",
                     "、".join(indicators.get(i, i) for i in report["failed_required"])))
    if report["missing"]:
        rows.append(("未填报指标", "Not reported",
                     "、".join(indicators.get(i, i) for i in report["missing"])))
    if report["claimed_total"] is not None:
        rows.append(("机构评分", "Institution's score", report["claimed_total"]))
        rows.append(("偏差（机构 − 平台）", "Deviation (claimed − platform)", report["deviation"]))
    return rows


def signoff_rows(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    return [
        ("编制人", "Preparer", report["preparer"] or "—"),
        ("审核人", "Reviewer", report["reviewer"] or "—"),
        ("诚信承诺", "Integrity pledge", "已承诺 Given" if report["pledge"] else "未承诺 Not given"),
    ]


def signature_rows(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The content hash and, once signed, the platform's signature over it."""
    rows = [("内容哈希", "Content hash (SHA-256, RFC 8785)", str(report.get("content_hash", "")))]
    signature = report.get("signature")
    if isinstance(signature, Mapping):
        rows += [("签名算法", "Algorithm", str(signature.get("alg", ""))),
                 ("签名密钥", "Key id", str(signature.get("key_id", ""))),
                 ("平台签名", "Signature", str(signature.get("signature", "")))]
    else:
        rows.append(("平台签名", "Signature",
                     "无（签名前的报告格式） none (format before signing)"))
    return rows


def _named(name: Any, code: str) -> str:
    return f"{name}（{code}）" if name else code
