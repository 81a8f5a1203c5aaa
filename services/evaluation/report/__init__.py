"""The evaluation report (评价报告, SPEC §4): its content and content hash (``content``), its
printable renderings (``html``, ``pdf`` with its embedded font from ``font``), which read only
that content, and its signature (``signature``: signed at submission, checked by anyone with the
published report keys).

``from services.evaluation import report`` keeps working as it did when this was one module:
``report.build_report``, ``report.ReportInput``, ``report.verify_hash``, ``report.render_html``,
``report.render_pdf``; ``report.render`` picks the rendering a caller asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.evaluation.domain import REPORT_FORMATS
from services.evaluation.report.content import (
    FORMAT,
    FORMAT_1,
    FORMATS,
    HIGHLIGHTS_MAX,
    PATHS,
    ReportInput,
    amount,
    build_report,
    content_hash,
    place_name,
    verify_hash,
)
from services.evaluation.report.html import render_html
from services.evaluation.report.pdf import ATTACHMENT, PDF_FONT, render_pdf, report_json
from services.evaluation.report.signature import (
    ISSUER,
    Verification,
    read_report,
    sign,
    signed_message,
    verify,
)

__all__ = ["ATTACHMENT", "FORMAT", "FORMATS", "FORMAT_1", "HIGHLIGHTS_MAX", "ISSUER", "PATHS",
           "PDF_FONT", "ReportInput", "Verification", "amount", "build_report", "content_hash",
           "place_name", "read_report", "render", "render_html", "render_pdf", "report_json",
           "sign", "signed_message", "verify", "verify_hash"]


def render(content: Mapping[str, Any], fmt: str, *,
           provisional: bool | None = None) -> tuple[bytes, str]:
    """A stored report as ``fmt`` (one of ``REPORT_FORMATS``, checked by the caller) and its
    content type. ``provisional``: for a format-1 report (which does not state it), whether its
    pinned scheme version has provisional figures; shown on HTML and PDF, never in the JSON
    (whose content the hash covers)."""
    if fmt == "html":
        body = render_html(content, provisional=provisional).encode()
    elif fmt == "pdf":
        body = render_pdf(content, provisional=provisional)
    else:
        body = report_json(content)
    return body, REPORT_FORMATS[fmt]
