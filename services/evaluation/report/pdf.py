"""The report as an A4 PDF (reportlab), reproducible byte for byte."""

from __future__ import annotations

import html
from collections.abc import Mapping
from io import BytesIO
from typing import Any

from services.evaluation.report.content import verify_hash
from services.evaluation.report.wording import (
    PLEDGE,
    TITLE,
    head_rows,
    shown_value,
    signoff_rows,
    summary_rows,
    veto_lines,
)

PDF_FONT = "STSong-Light"  # reportlab's built-in CID font: no font file, the viewer has the glyphs


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
    story += [h("基本信息", "Particulars"), facts(head_rows(report)),
              h("基本要求", "Basic requirements (one-vote veto)"),
              table([[p("要求", "Requirement"), p("是否满足", "Met")]]
                    + [[p(r["text_zh"], r["text_en"]),
                        p(*(("满足", "met") if r["met"] else ("不满足", "not met")))]
                       for r in report["basic_requirements"]], [150, 30]),
              h("否决条件核查", "Veto check")]
    story += [p(zh, en) for zh, en in veto_lines(report)]

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
        rows.append([[p(line["name_zh"], line["name_en"]), rule], p(*shown_value(line)),
                     p(bounds), p(f"{line['points']} / {line['max']}"), refs])
    story += [h("二级指标", "Indicators"), table(rows, [76, 28, 24, 20, 32])]

    story += [h("评价结果", "Result"), facts(summary_rows(report)),
              h("亮点", "Highlights"), p(report["highlights"] or "—"),
              h("编制与承诺", "Sign-off and pledge"), facts(signoff_rows(report)),
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
