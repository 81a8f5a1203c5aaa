"""The report as an A4 PDF (reportlab), reproducible byte for byte, readable anywhere (its font is
embedded: ``font.py``) and verifiable alone (the signed JSON report is attached to it)."""

from __future__ import annotations

import hashlib
import html
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from services.evaluation.report import font, wording
from services.evaluation.report.content import verify_hash
from services.evaluation.report.wording import (
    PLEDGE,
    PROVISIONAL,
    PROVISIONAL_MEANS,
    SIGNATURE_NOTE,
    TITLE,
    category_provisional,
    contradiction_lines,
    head_rows,
    is_provisional,
    provisional_figures,
    shown_value,
    signature_rows,
    signoff_rows,
    summary_rows,
    veto_lines,
)

PDF_FONT = "GreenLadderReport"     # the embedded Noto Sans CJK SC subset, as reportlab knows it
ATTACHMENT = "report.json"          # the signed JSON report, attached to the PDF
# Every character the report's labels can print is in these sources (and ASCII): the font is cut
# down to them and to the report's own text.
_LABELS = frozenset(Path(__file__).read_text("utf-8") + Path(wording.__file__).read_text("utf-8")
                    + "".join(chr(c) for c in range(32, 127)))
# reportlab keeps fonts in one registry per process: one PDF is built at a time
_BUILDING = threading.Lock()
# rendered PDFs (about 100 KiB each), by the sha256 of the JSON they attach, least recent first
CACHED = 32
_CACHE: OrderedDict[bytes, bytes] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def report_json(report: Mapping[str, Any]) -> bytes:
    """The report as its JSON rendering (what ``format=json`` answers, and the PDF attaches)."""
    return json.dumps(report, ensure_ascii=False, indent=2).encode()


def render_pdf(report: Mapping[str, Any]) -> bytes:
    """The report as an A4 PDF (reportlab platypus): Chinese in the embedded Noto Sans CJK SC
    subset, page numbers and the content hash in every page's footer, the signature on the last
    page and the JSON report attached. Byte-identical for the same report, so a PDF is checked by
    rendering its attached report again. Reports are frozen: the last ``CACHED`` PDFs are kept,
    by the sha256 of the JSON they render (which the PDF attaches)."""
    body = report_json(report)
    key = hashlib.sha256(body).digest()
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    with _BUILDING:
        pdf = _attach(_layout(report, chars=_LABELS | frozenset(body.decode())), body)
    with _CACHE_LOCK:
        _CACHE[key] = pdf
        while len(_CACHE) > CACHED:
            _CACHE.popitem(last=False)
    return pdf


def clear_cache() -> None:
    """Forget every rendered PDF (tests: render again from nothing)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _layout(report: Mapping[str, Any], *, chars: frozenset[str]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    # registered again for each PDF, under one name: only this report's font stays in memory.
    # reportlab keeps the first font registered under a name, and under its face's name, for the
    # whole process (registerFont ignores a second): the last report's font is taken out first,
    # or this PDF would print with that font, its own characters missing (blank).
    face = TTFont(PDF_FONT, io.BytesIO(font.truetype(chars)))
    pdfmetrics._fonts.pop(PDF_FONT, None)
    pdfmetrics._dynFaceNames.pop(face.face.name, None)
    pdfmetrics.registerFont(face)
    assert pdfmetrics.getFont(PDF_FONT) is face
    base = ParagraphStyle("gl", fontName=PDF_FONT, fontSize=9, leading=12, wordWrap="CJK")
    small = ParagraphStyle("gl-small", parent=base, fontSize=7, leading=9, textColor=colors.grey)
    title = ParagraphStyle("gl-title", parent=base, fontSize=16, leading=22, alignment=1)
    heading = ParagraphStyle("gl-h", parent=base, fontSize=11, leading=16, spaceBefore=8,
                             spaceAfter=3)
    banner = ParagraphStyle("gl-banner", parent=base, fontSize=9, leading=13,
                            textColor=colors.HexColor("#aa6600"), borderColor=colors.HexColor(
                                "#aa6600"), borderWidth=1.5, borderPadding=5, spaceAfter=8)
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
    if is_provisional(report):
        story.append(Paragraph(
            f'<font size="13">{e(PROVISIONAL[0])} / {e(PROVISIONAL[1])}</font><br/>'
            f"{e(PROVISIONAL_MEANS[0])}<br/><font size=\"7\">{e(PROVISIONAL_MEANS[1])}</font>",
            banner))
    if not verify_hash(report):
        story.append(p("内容哈希与报告内容不符", "The content hash does not match the content"))
    story += [h("基本信息", "Particulars"), facts(head_rows(report)),
              h("基本要求", "Basic requirements (one-vote veto)"),
              table([[p("要求", "Requirement"), p("是否满足", "Met")]]
                    + [[p(r["text_zh"], r["text_en"]),
                        p(*(("满足，但与登记记录不符", "met, contradicted by the registry")
                            if r["met"] and r.get("contradicted") else ("满足", "met")
                            if r["met"] else ("不满足", "not met")))]
                       for r in report["basic_requirements"]], [140, 40]),
              h("否决条件核查", "Veto check")]
    story += [p(zh, en) for zh, en in veto_lines(report)]
    contradictions = contradiction_lines(report)
    if contradictions:
        story.append(h("与登记记录不符的声明", "Declarations the registry contradicts"))
        story += [p(zh, en) for zh, en in contradictions]

    story += [h("一级指标得分", "Category scores"),
              table([[p("一级指标", "Category"), p("得分", "Points"), p("满分", "Max")]]
                    + [[[p(c["name_zh"], c["name_en"]), *([Paragraph(
                        '<font color="#aa6600">暂定分值 / provisional points</font>', small)]
                        if category_provisional(report, c) else [])], p(c["points"]), p(c["max"])]
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
        mark_zh, mark_en = provisional_figures(line, report)
        name = [p(line["name_zh"], line["name_en"])]
        if mark_zh:
            name.append(Paragraph(f'<font color="#aa6600">{e(mark_zh)} / {e(mark_en)}</font>',
                                  small))
        rows.append([[*name, rule], p(*shown_value(line)),
                     p(bounds), p(f"{line['points']} / {line['max']}"), refs])
    story += [h("二级指标", "Indicators"), table(rows, [76, 28, 24, 20, 32])]

    story += [h("评价结果", "Result"), facts(summary_rows(report)),
              h("亮点", "Highlights"), p(report["highlights"] or "—"),
              h("编制与承诺", "Sign-off and pledge"), facts(signoff_rows(report)),
              Spacer(1, 2 * mm), p(*PLEDGE),
              h("内容哈希与签名", "Content hash and signature"), facts(signature_rows(report)),
              Paragraph(e(SIGNATURE_NOTE[0]) + "<br/>" + e(SIGNATURE_NOTE[1]), small)]

    digest = str(report.get("content_hash", ""))

    def footer(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(PDF_FONT, 7)
        canvas.drawString(15 * mm, 10 * mm, f"内容哈希 Content hash (SHA-256): {digest}")
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"第 {doc.page} 页 Page {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=18 * mm, invariant=True,
                            title=f"{TITLE[0]} {report['unit']['name']}",
                            subject=digest, creator="GreenLadder", initialFontName=PDF_FONT)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _attach(pdf: bytes, body: bytes) -> bytes:
    """``pdf`` with ``body`` attached as ``report.json`` (an embedded file)."""
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    writer.add_attachment(ATTACHMENT, body)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _xml(value: Any) -> str:
    """Text for a reportlab Paragraph, whose markup is XML-like."""
    return html.escape("" if value is None else str(value), quote=False)
