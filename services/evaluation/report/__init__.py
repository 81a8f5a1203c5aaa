"""The evaluation report (评价报告, SPEC §4): its content and content hash (``content``), and
its printable renderings (``html``, ``pdf``), which read only that content.

``from services.evaluation import report`` keeps working as it did when this was one module:
``report.build_report``, ``report.ReportInput``, ``report.verify_hash``, ``report.render_html``,
``report.render_pdf``; ``report.render`` picks the rendering a caller asked for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from services.evaluation.domain import REPORT_FORMATS
from services.evaluation.report.content import (
    FORMAT,
    HIGHLIGHTS_MAX,
    PATHS,
    ReportInput,
    amount,
    build_report,
    content_hash,
    verify_hash,
)
from services.evaluation.report.html import render_html
from services.evaluation.report.pdf import PDF_FONT, render_pdf

__all__ = ["FORMAT", "HIGHLIGHTS_MAX", "PATHS", "PDF_FONT", "ReportInput", "amount",
           "build_report", "content_hash", "render", "render_html", "render_pdf", "verify_hash"]


def render(content: Mapping[str, Any], fmt: str) -> tuple[bytes, str]:
    """A stored report as ``fmt`` (one of ``REPORT_FORMATS``, checked by the caller) and its
    content type."""
    if fmt == "html":
        body = render_html(content).encode()
    elif fmt == "pdf":
        body = render_pdf(content)
    else:
        body = json.dumps(content, ensure_ascii=False, indent=2).encode()
    return body, REPORT_FORMATS[fmt]
