"""The report's wording, shared by its HTML and PDF renderings: both read only the stored
content, so a report renders the same years later."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TITLE = ("绿色制造评价报告", "Green manufacturing evaluation report")
PATH_LABELS = {"self": ("自评价", "Self-evaluation"),
               "institution": ("第三方机构评价", "Third-party institution")}
CONCLUSIONS = {"passed": ("通过", "Passed"), "failed": ("未通过", "Not passed"),
               "vetoed": ("一票否决", "Vetoed")}
PLEDGE = ("本单位（机构）承诺所填报数据及证明材料真实、准确、完整，如有不实，愿承担相应责任。",
          "We pledge that the data and evidence given are true, accurate and complete, and accept "
          "responsibility for any misstatement.")


def shown_value(line: Mapping[str, Any]) -> tuple[str, str]:
    """(the value scored, a smaller second line: English, or the years of a multi-year scheme)"""
    value = line["value"]
    if value is None:
        return "未填报", "not reported"
    if value is True or value is False:
        return ("满足", "met") if value else ("不满足", "not met")
    if line["kind"] != "quantitative":
        return str(value), ""
    unit = "" if line["unit"] in ("", "-") else f" {line['unit']}"
    years = "；".join(f"第{i}年 {y}" for i, y in enumerate(line["yearly"], 1))
    return f"{value}{unit}", years


def veto_lines(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    veto = report["veto"]
    if not veto["vetoed"]:
        return [(f"截至 {veto['on']} 未触发否决条件", f"No veto condition applies as of {veto['on']}")]
    return [(f"第 {c['condition']} 项：{c['title']}（{c['code']}）；记录 {', '.join(c['records'])}",
             f"Condition {c['condition']} ({c['code']}); records {', '.join(c['records'])}")
            for c in veto["conditions"]]


def head_rows(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(zh label, en label, value) of the report's head."""
    unit, scheme, inst = report["unit"], report["scheme"], report["institution"]
    path_zh, path_en = PATH_LABELS.get(report["path"], (report["path"], ""))
    return [
        ("评价编号", "Evaluation", report["evaluation_id"]),
        ("单位名称", "Unit", unit["name"]),
        ("统一社会信用代码", "USCC", unit["uscc"]),
        ("单位类型", "Kind", unit["kind"]),
        ("所在地", "Location", unit["location"]),
        ("所属行业", "Industry", unit["industry"]),
        ("评价方案", "Scheme", f"{scheme['title_zh']}（{scheme['id']} 第 {scheme['version']} 版）"),
        ("评价路径", "Path", f"{path_zh} {path_en}"),
        ("第三方机构", "Institution", f"{inst['name']}（{inst['uscc']}）" if inst else "—"),
        *([("机构法定代表人", "Legal representative", inst.get("legal_representative", "")),
           ("机构地址", "Address", inst.get("address", ""))] if inst else []),
        ("提交时间", "Submitted", report["submitted_at"]),
    ]


def summary_rows(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    rows = [
        ("平台评分", "Platform score", f"{report['total']} / {report['max_total']}"),
        ("合格分数线", "Pass mark", report["pass_mark"]),
        ("结论", "Conclusion", " ".join(CONCLUSIONS[report["conclusion"]])),
    ]
    if report["vetoed_by"]:
        rows.append(("未满足的基本要求", "Basic requirements not met", "、".join(report["vetoed_by"])))
    if report["failed_required"]:
        rows.append(("未满足的必选项", "Required items not met", "、".join(report["failed_required"])))
    if report["missing"]:
        rows.append(("未填报指标", "Not reported", "、".join(report["missing"])))
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
