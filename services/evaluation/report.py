"""The evaluation report (评价报告, SPEC §4): content, content hash, HTML and PDF renderings.

``build_report`` turns a scored evaluation into plain JSON-able data: unit identity (单位信息),
scheme version (评价方案及版本), the two paths (自评价 / 第三方机构评价), basic requirements
(基本要求) met or not, the veto check (否决条件核查), every indicator with its evidence references
(证明材料), category and total scores, the institution's claimed score and its deviation, highlights
(亮点, ≤ 100 characters), preparer (编制人) and reviewer (审核人), the integrity pledge (诚信承诺)
and ``content_hash``: sha256 over the RFC 8785 canonical JSON of everything else (SPEC §13).

Numbers are strings with (at least) two decimals and never rounded here, so the hash is exact and
survives any JSON round trip. The renderers read only that data, so a stored report renders the
same years later.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from io import BytesIO
from typing import Any

import rfc8785

from services.evaluation.schemes import Scheme
from services.evaluation.scoring import CENT, IndicatorScore, Result
from services.kernel.errors import invalid

FORMAT = "greenladder.evaluation-report/1"
HIGHLIGHTS_MAX = 100
PATHS = ("self", "institution")
UNIT_KEYS = ("id", "uscc", "name", "kind", "location", "industry")
PDF_FONT = "STSong-Light"  # reportlab's built-in CID font: no font file, the viewer has the glyphs


@dataclass(frozen=True)
class ReportInput:
    """Everything a report states. ``scheme`` names the basic requirements; ``scheme_id``,
    ``scheme_version`` and ``scheme_title_zh`` default to the scheme's and must agree with it."""

    evaluation_id: str
    tenant: str
    unit: Mapping[str, Any]                   # id, uscc, name, kind, location, industry
    scheme: Scheme
    path: str                                 # "self" 自评价 | "institution" 第三方机构评价
    institution: Mapping[str, Any] | None     # uscc, name, legal_representative, address
    basic: Mapping[str, bool]                 # basic requirement id → met
    veto: Mapping[str, Any]                   # vetoed, on, conditions: [{condition, code,
                                              #   title, records: [ids]}]
    result: Result
    evidence: Mapping[str, Sequence[Mapping[str, str]]]  # indicator id → [{sha256, filename}]
    highlights: str
    preparer: str
    reviewer: str
    pledge: bool
    claimed_total: Decimal | None
    submitted_at: str
    scheme_id: str | None = None
    scheme_version: int | None = None
    scheme_title_zh: str | None = None


# --- content ------------------------------------------------------------------------------------


def build_report(inp: ReportInput) -> dict[str, Any]:
    """The report's content, ``content_hash`` included. Refuses highlights over 100 characters
    (``report.highlights_too_long``) and a missing pledge (``report.pledge_required``)."""
    highlights = inp.highlights.strip()
    if len(highlights) > HIGHLIGHTS_MAX:
        raise invalid("report.highlights_too_long", max=HIGHLIGHTS_MAX, length=len(highlights))
    if inp.pledge is not True:
        raise invalid("report.pledge_required")
    scheme, result = inp.scheme, inp.result
    _agree(inp)

    name = f"{scheme.id} v{scheme.version}"
    requirements = {r.id for r in scheme.basic_requirements}
    for key in inp.basic:
        if key not in requirements:
            raise invalid("value.unknown_requirement", scheme=name, id=key)
    indicator_ids = {line.id for line in result.indicators}
    for key in inp.evidence:
        if key not in indicator_ids:
            raise invalid("value.unknown_indicator", scheme=name, id=key)

    vetoed = bool(inp.veto.get("vetoed"))
    claimed = inp.claimed_total
    content: dict[str, Any] = {
        "format": FORMAT,
        "evaluation_id": inp.evaluation_id,
        "tenant": inp.tenant,
        "unit": {key: _text(inp.unit.get(key)) for key in UNIT_KEYS},
        "scheme": {"id": scheme.id, "version": scheme.version, "title_zh": scheme.title_zh,
                   "title_en": scheme.title_en},
        "level": result.level,
        "path": inp.path,
        "institution": None if inp.institution is None else {
            key: _text(inp.institution.get(key))
            for key in ("uscc", "name", "legal_representative", "address")},
        "basic_requirements": [
            {"id": r.id, "text_zh": r.text_zh, "text_en": r.text_en,
             "met": inp.basic.get(r.id) is True}
            for r in scheme.basic_requirements],
        "veto": {
            "vetoed": vetoed,
            "on": _text(inp.veto.get("on")),
            "conditions": [
                {"condition": c.get("condition"), "code": _text(c.get("code")),
                 "title": _text(c.get("title")), "records": [str(r) for r in c.get("records", ())]}
                for c in inp.veto.get("conditions", ())],
        },
        "indicators": [_indicator(line, inp.evidence.get(line.id, ()))
                       for line in result.indicators],
        "categories": [
            {"id": c.id, "name_zh": c.name_zh, "name_en": c.name_en, "points": amount(c.points),
             "max": amount(c.max_points)} for c in result.categories],
        "total": amount(result.total),
        "max_total": amount(result.max_total),
        "pass_mark": amount(result.pass_mark),
        "passed": result.passed,
        "vetoed_by": list(result.vetoed_by),
        "failed_required": list(result.failed_required),
        "missing": list(result.missing),
        # 结论: the score alone (passed) is not the verdict when a veto condition applies
        "conclusion": ("vetoed" if vetoed or result.vetoed
                       else "passed" if result.passed else "failed"),
        "claimed_total": None if claimed is None else amount(claimed),
        "deviation": None if claimed is None else amount(claimed - result.total),
        "highlights": highlights,
        "preparer": inp.preparer.strip(),
        "reviewer": inp.reviewer.strip(),
        "pledge": True,
        "submitted_at": inp.submitted_at,
    }
    content["content_hash"] = content_hash(content)
    return content


def content_hash(report: Mapping[str, Any]) -> str:
    """sha256 hex of the RFC 8785 canonical JSON of ``report`` without ``content_hash``."""
    body = {key: value for key, value in report.items() if key != "content_hash"}
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def verify_hash(report: Mapping[str, Any]) -> bool:
    """True when ``content_hash`` matches the rest of the report (nothing changed since)."""
    stated = report.get("content_hash")
    if not isinstance(stated, str):
        return False
    try:
        return content_hash(report) == stated
    except (TypeError, ValueError):  # not JSON any more: tampered
        return False


def amount(number: Decimal) -> str:
    """A Decimal as text with two decimals (71.2 → "71.20"), more only when it has them
    (0.125 stays "0.125"): never rounded, so the hash states exactly what was scored."""
    if not number.is_finite():
        raise ValueError(f"not a finite number: {number}")
    with localcontext() as ctx:
        ctx.prec = 100
        number = number.normalize() if number else Decimal(0)
        if number.as_tuple().exponent >= -2:
            number = number.quantize(CENT)
        return format(number, "f")


def _indicator(line: IndicatorScore, refs: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    value = line.value
    return {
        "category": line.category, "id": line.id, "kind": line.kind,
        "name_zh": line.name_zh, "name_en": line.name_en,
        "value": amount(value) if isinstance(value, Decimal) else value,
        "unit": line.unit,
        "yearly": [amount(year) for year in line.yearly],
        "rule_zh": line.rule_zh, "rule_en": line.rule_en,
        "baseline": None if line.baseline is None else amount(line.baseline),
        "leading": None if line.leading is None else amount(line.leading),
        "points": amount(line.points), "max": amount(line.max_points),
        "missing": line.missing,
        # sorted: the report does not depend on the order the store returns files in
        "evidence": sorted(({"sha256": str(r["sha256"]), "filename": str(r["filename"])}
                            for r in refs), key=lambda r: (r["sha256"], r["filename"])),
    }


def _agree(inp: ReportInput) -> None:
    """A caller's inconsistency (a result of another scheme, basic answers that do not give its
    veto) is a bug, not a user's error: ValueError."""
    scheme, result = inp.scheme, inp.result
    if inp.path not in PATHS:
        raise ValueError(f"path {inp.path!r} is not one of {PATHS}")
    if (result.scheme_id, result.scheme_version) != scheme.key:
        raise ValueError(f"result of {result.scheme_id} v{result.scheme_version}, "
                         f"scheme {scheme.id} v{scheme.version}")
    stated = (inp.scheme_id, inp.scheme_version, inp.scheme_title_zh)
    for given, actual in zip(stated, (scheme.id, scheme.version, scheme.title_zh)):
        if given is not None and given != actual:
            raise ValueError(f"scheme {given!r} given, the scheme says {actual!r}")
    not_met = tuple(r.id for r in scheme.basic_requirements if inp.basic.get(r.id) is not True)
    if not_met != result.vetoed_by:
        raise ValueError(f"basic requirements not met {not_met}, "
                         f"the result says {result.vetoed_by}")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# --- shared wording -----------------------------------------------------------------------------

TITLE = ("绿色制造评价报告", "Green manufacturing evaluation report")
PATH_LABELS = {"self": ("自评价", "Self-evaluation"),
               "institution": ("第三方机构评价", "Third-party institution")}
CONCLUSIONS = {"passed": ("通过", "Passed"), "failed": ("未通过", "Not passed"),
               "vetoed": ("一票否决", "Vetoed")}
PLEDGE = ("本单位（机构）承诺所填报数据及证明材料真实、准确、完整，如有不实，愿承担相应责任。",
          "We pledge that the data and evidence given are true, accurate and complete, and accept "
          "responsibility for any misstatement.")


def _shown_value(line: Mapping[str, Any]) -> tuple[str, str]:
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


def _veto_lines(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    veto = report["veto"]
    if not veto["vetoed"]:
        return [(f"截至 {veto['on']} 未触发否决条件", f"No veto condition applies as of {veto['on']}")]
    return [(f"第 {c['condition']} 项：{c['title']}（{c['code']}）；记录 {', '.join(c['records'])}",
             f"Condition {c['condition']} ({c['code']}); records {', '.join(c['records'])}")
            for c in veto["conditions"]]


def _facts(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
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


def _summary(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
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


def _signoff(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    return [
        ("编制人", "Preparer", report["preparer"] or "—"),
        ("审核人", "Reviewer", report["reviewer"] or "—"),
        ("诚信承诺", "Integrity pledge", "已承诺 Given" if report["pledge"] else "未承诺 Not given"),
    ]


# --- HTML ---------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
       "SimSun", sans-serif; font-size: 10pt; color: #111; margin: 0 auto; max-width: 182mm; }
h1 { font-size: 17pt; text-align: center; margin: 0 0 2mm; }
h2 { font-size: 12pt; border-bottom: 1px solid #333; margin: 6mm 0 2mm; padding-bottom: 1mm; }
small, .en { font-size: 7.5pt; color: #555; font-weight: normal; }
table { width: 100%; border-collapse: collapse; page-break-inside: auto; }
tr { page-break-inside: avoid; }
th, td { border: 1px solid #999; padding: 1.2mm 1.6mm; vertical-align: top; text-align: left; }
th { background: #eee; }
td.num { text-align: right; white-space: nowrap; }
table.facts th { width: 32%; }
.rule { font-size: 7.5pt; color: #444; }
.evidence { font-size: 7pt; font-family: monospace; word-break: break-all; }
.warning { border: 2px solid #b00; color: #b00; padding: 2mm; margin: 2mm 0; }
footer { margin-top: 8mm; border-top: 1px solid #333; padding-top: 1.5mm; font-size: 7.5pt; }
footer code { word-break: break-all; }
"""


def render_html(report: Mapping[str, Any]) -> str:
    """A standalone printable (A4) HTML document of ``report``; every value is escaped."""
    e = _escape

    def label(zh: str, en: str) -> str:
        return f"{e(zh)} <small>{e(en)}</small>"

    def facts(rows: list[tuple[str, str, str]]) -> str:
        return "<table class=facts>" + "".join(
            f"<tr><th>{label(zh, en)}</th><td>{e(value)}</td></tr>" for zh, en, value in rows
        ) + "</table>"

    parts = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{e(TITLE[0])} {e(report['unit']['name'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(TITLE[0])}<br><small>{e(TITLE[1])}</small></h1>",
    ]
    if not verify_hash(report):
        parts.append('<p class="warning">内容哈希与报告内容不符 <small>The content hash does not '
                     "match the content</small></p>")
    parts += [f"<h2>{label('基本信息', 'Particulars')}</h2>", facts(_facts(report))]

    parts.append(f"<h2>{label('基本要求', 'Basic requirements (one-vote veto)')}</h2><table>"
                 f"<tr><th>{label('要求', 'Requirement')}</th><th>{label('是否满足', 'Met')}</th></tr>")
    for r in report["basic_requirements"]:
        met = "满足 <small>met</small>" if r["met"] else "<b>不满足</b> <small>not met</small>"
        parts.append(f"<tr><td>{e(r['text_zh'])}<br><small>{e(r['text_en'])}</small></td>"
                     f"<td>{met}</td></tr>")
    parts.append("</table>")

    parts.append(f"<h2>{label('否决条件核查', 'Veto check')}</h2><ul>")
    parts += [f"<li>{e(zh)}<br><small>{e(en)}</small></li>" for zh, en in _veto_lines(report)]
    parts.append("</ul>")

    parts.append(f"<h2>{label('一级指标得分', 'Category scores')}</h2><table>"
                 f"<tr><th>{label('一级指标', 'Category')}</th><th>{label('得分', 'Points')}</th>"
                 f"<th>{label('满分', 'Max')}</th></tr>")
    for c in report["categories"]:
        parts.append(f"<tr><td>{e(c['name_zh'])} <small>{e(c['name_en'])}</small></td>"
                     f"<td class=num>{e(c['points'])}</td><td class=num>{e(c['max'])}</td></tr>")
    parts.append(f"<tr><th>{label('合计', 'Total')}</th><th class=num>{e(report['total'])}</th>"
                 f"<th class=num>{e(report['max_total'])}</th></tr></table>")

    names = {c["id"]: c["name_zh"] for c in report["categories"]}
    parts.append(f"<h2>{label('二级指标', 'Indicators')}</h2><table>"
                 f"<tr><th>{label('指标及评分规则', 'Indicator and rule')}</th>"
                 f"<th>{label('取值', 'Value')}</th>"
                 f"<th>{label('基准值 / 引领值', 'Baseline / leading')}</th>"
                 f"<th>{label('得分 / 满分', 'Points / max')}</th>"
                 f"<th>{label('证明材料', 'Evidence')}</th></tr>")
    for line in report["indicators"]:
        value_zh, value_en = _shown_value(line)
        bounds = ("—" if line["baseline"] is None
                  else f"{line['baseline']} / {line['leading']}")
        evidence = "<br>".join(f"{e(ref['filename'])}<br><span class=evidence>"
                               f"sha256:{e(ref['sha256'])}</span>" for ref in line["evidence"])
        parts.append(
            f"<tr><td>{e(names.get(line['category'], line['category']))} › "
            f"{e(line['name_zh'])} <small>{e(line['name_en'])}</small>"
            f"<div class=rule>{e(line['rule_zh'])}<br>{e(line['rule_en'])}</div></td>"
            f"<td>{e(value_zh)}<br><small>{e(value_en)}</small></td><td class=num>{e(bounds)}</td>"
            f"<td class=num>{e(line['points'])} / {e(line['max'])}</td>"
            f"<td>{evidence or '—'}</td></tr>")
    parts.append("</table>")

    parts += [f"<h2>{label('评价结果', 'Result')}</h2>", facts(_summary(report)),
              f"<h2>{label('亮点', 'Highlights')}</h2><p>{e(report['highlights']) or '—'}</p>",
              f"<h2>{label('编制与承诺', 'Sign-off and pledge')}</h2>", facts(_signoff(report)),
              f"<p>{e(PLEDGE[0])}<br><small>{e(PLEDGE[1])}</small></p>",
              f"<footer>{label('内容哈希', 'Content hash')} (SHA-256, RFC 8785)："
              f"<code>{e(report.get('content_hash', ''))}</code></footer>",
              "</body></html>"]
    return "\n".join(parts)


def _escape(value: Any) -> str:
    return html.escape("" if value is None else str(value))


# --- PDF ----------------------------------------------------------------------------------------


def render_pdf(report: Mapping[str, Any]) -> bytes:
    """The report as an A4 PDF (reportlab platypus), Chinese in the STSong-Light CID font, page
    numbers and the content hash in every page's footer. Byte-identical for the same report."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    base = ParagraphStyle("gl", fontName=PDF_FONT, fontSize=9, leading=12, wordWrap="CJK")
    small = ParagraphStyle("gl-small", parent=base, fontSize=7, leading=9, textColor=colors.grey)
    title = ParagraphStyle("gl-title", parent=base, fontSize=16, leading=22, alignment=1)
    heading = ParagraphStyle("gl-h", parent=base, fontSize=11, leading=16, spaceBefore=8,
                             spaceAfter=3)
    e = _xml

    def p(zh: Any, en: Any = "") -> Paragraph:
        text = e(zh) + (f'<br/><font size="7" color="grey">{e(en)}</font>' if en else "")
        return Paragraph(text, base)

    def h(zh: str, en: str) -> Paragraph:
        return Paragraph(f'{e(zh)} <font size="8" color="grey">{e(en)}</font>', heading)

    def table(rows: list[list[Any]], widths: list[float], *, header: bool = True) -> Table:
        t = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1 if header else 0)
        style = [("FONT", (0, 0), (-1, -1), PDF_FONT, 9),
                 ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                 ("VALIGN", (0, 0), (-1, -1), "TOP")]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke))
        t.setStyle(TableStyle(style))
        return t

    def facts(rows: list[tuple[str, str, str]]) -> Table:
        return table([[p(zh, en), p(value)] for zh, en, value in rows], [50, 130], header=False)

    story: list[Any] = [Paragraph(f'{e(TITLE[0])}<br/><font size="9">{e(TITLE[1])}</font>', title),
                        Spacer(1, 4 * mm)]
    if not verify_hash(report):
        story.append(p("内容哈希与报告内容不符", "The content hash does not match the content"))
    story += [h("基本信息", "Particulars"), facts(_facts(report)),
              h("基本要求", "Basic requirements (one-vote veto)"),
              table([[p("要求", "Requirement"), p("是否满足", "Met")]]
                    + [[p(r["text_zh"], r["text_en"]),
                        p(*(("满足", "met") if r["met"] else ("不满足", "not met")))]
                       for r in report["basic_requirements"]], [150, 30]),
              h("否决条件核查", "Veto check")]
    story += [p(zh, en) for zh, en in _veto_lines(report)]

    story += [h("一级指标得分", "Category scores"),
              table([[p("一级指标", "Category"), p("得分", "Points"), p("满分", "Max")]]
                    + [[p(c["name_zh"], c["name_en"]), p(c["points"]), p(c["max"])]
                       for c in report["categories"]]
                    + [[p("合计", "Total"), p(report["total"]), p(report["max_total"])]],
                    [120, 30, 30])]

    rows: list[list[Any]] = [[p("指标及评分规则", "Indicator and rule"), p("取值", "Value"),
                              p("基准/引领", "Baseline/leading"), p("得分/满分", "Points/max"),
                              p("证明材料", "Evidence")]]
    for line in report["indicators"]:
        rule = Paragraph(e(line["rule_zh"]) + "<br/>" + e(line["rule_en"]), small)
        refs = Paragraph("<br/>".join(f"{e(r['filename'])} sha256:{e(r['sha256'])}"
                                      for r in line["evidence"]) or "—", small)
        bounds = "—" if line["baseline"] is None else f"{line['baseline']} / {line['leading']}"
        rows.append([[p(line["name_zh"], line["name_en"]), rule], p(*_shown_value(line)),
                     p(bounds), p(f"{line['points']} / {line['max']}"), refs])
    story += [h("二级指标", "Indicators"), table(rows, [76, 28, 24, 20, 32])]

    story += [h("评价结果", "Result"), facts(_summary(report)),
              h("亮点", "Highlights"), p(report["highlights"] or "—"),
              h("编制与承诺", "Sign-off and pledge"), facts(_signoff(report)),
              Spacer(1, 2 * mm), p(*PLEDGE)]

    digest = str(report.get("content_hash", ""))

    def footer(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(PDF_FONT, 7)
        canvas.drawString(15 * mm, 10 * mm, f"内容哈希 Content hash (SHA-256): {digest}")
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"第 {doc.page} 页 Page {doc.page}")
        canvas.restoreState()

    out = BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=18 * mm, invariant=True,
                            title=f"{TITLE[0]} {report['unit']['name']}",
                            subject=digest, creator="GreenLadder")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _xml(value: Any) -> str:
    """Text for a reportlab Paragraph, whose markup is XML-like."""
    return html.escape("" if value is None else str(value), quote=False)
