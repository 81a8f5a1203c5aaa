"""The evaluation report (评价报告, SPEC §4): its content and content hash (``content``), its
printable renderings (``html``, ``pdf`` with its embedded font from ``font``), which read only
that content, its signature (``signature``: signed at submission) and its check by anyone with
the published report keys (``verification``: the signature, and a PDF's pages).

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
from services.evaluation.report.pdf import (
    ATTACHMENT,
    PDF_FONT,
    clear_cache,
    render_pdf,
    report_json,
)
from services.evaluation.report.signature import ISSUER, sign, signature_fault, signed_message
from services.evaluation.report.verification import (
    SignedFacts,
    Verification,
    read_report,
    signed_facts,
    verify,
)

__all__ = ["ATTACHMENT", "FORMAT", "FORMATS", "FORMAT_1", "HIGHLIGHTS_MAX", "ISSUER", "PATHS",
           "PDF_FONT", "ReportInput", "SignedFacts", "Verification", "amount", "build_report",
           "clear_cache", "content_hash", "place_name", "read_report", "render", "render_html",
           "render_pdf", "report_json", "sign", "signature_fault", "signed_facts",
           "signed_message", "verify", "verify_hash"]


def render(content: Mapping[str, Any], fmt: str) -> tuple[bytes, str]:
    """A stored report as ``fmt`` (one of ``REPORT_FORMATS``, checked by the caller) and its
    content type."""
    if fmt == "html":
        body = render_html(content).encode()
    elif fmt == "pdf":
        body = render_pdf(content)
    else:
        body = report_json(content)
    return body, REPORT_FORMATS[fmt]
