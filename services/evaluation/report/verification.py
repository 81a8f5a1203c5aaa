"""Checking a report (报告核验), as anyone may: is it a report the platform issued, unchanged, and
— for a PDF — are its pages the platform's own?

1. the file is read as a report: a JSON report, or the JSON attached to a report's PDF (read with
   pypdf under tight decompression limits). Anything else — malformed, nested deeper than a
   report ever is (``MAX_DEPTH``), holding text that is not Unicode (a lone surrogate) — is
   ``report.not_a_report``, decided before anything is canonicalised or hashed;
2. its content hash and signature are checked against the published report keys
   (``signature.py``);
3. once the signature holds, a PDF's bytes are compared with the platform's rendering of the
   signed report (rendering is byte-reproducible, ``pdf.py``): a PDF whose attached report is
   genuine but whose pages are not is ``report.pdf_altered``.

The answer states the signed facts (``SignedFacts``: unit, scheme, level, score, pass mark,
conclusion, provisional mark, submission time) whenever the signature holds, and says in words
that only these are certified.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.evaluation.report.content import FORMATS, verify_hash
from services.evaluation.report.pdf import ATTACHMENT, render_pdf
from services.evaluation.report.signature import signature_fault
from services.evaluation.report.wording import is_provisional, pass_mark_provisional

MAX_DEPTH = 32                 # a report nests 6 deep (report → veto → conditions → … → record)
ATTACHMENT_MAX = 8 * 2**20     # what a PDF's streams may decompress to (a report's JSON: ~50 KiB)
FACT_NAMES = (("单位名称及统一社会信用代码、评价方案及版本、申报级别、平台评分、合格分数线、结论、"
               "是否含暂定值、提交时间"),
              ("unit name and USCC, scheme and version, level, platform score, pass mark, "
               "conclusion, whether it contains provisional values, submission time"))
CERTIFIED = (f"经平台签名证明的只有以下事实：{FACT_NAMES[0]}。",
             f"Only these facts are certified by the platform's signature: {FACT_NAMES[1]}.")
NOTICES = {
    "pdf": ("报告由平台签发，未被改动；PDF 的每一页与平台为该报告生成的页面逐字节一致。",
            ("The platform issued this report and nobody changed it; the PDF's pages are byte "
             "for byte the ones the platform renders for it.")),
    "json": (("报告 JSON 由平台签发，未被改动；未核对任何页面：打印件或其他文件须与以下事实"
              "逐项核对。"),
             ("The platform issued this JSON report and nobody changed it; no pages were "
              "checked: compare any printout or other file with the facts below.")),
    "report.pdf_altered": (
        ("PDF 所附的报告由平台签发，但 PDF 的页面不是平台为该报告生成的页面，不可采信；"
         "以下事实出自所附报告。"),
        ("The report attached to the PDF is the one the platform issued, but the pages are "
         "not the ones the platform rendered for it: do not rely on them. The facts below are "
         "the attached report's.")),
}
NOTHING = ("未能证明该文件是平台签发且未被改动的报告，其中没有任何内容经签名证明。",
           ("This file is not shown to be a report the platform issued unchanged: nothing in "
            "it is certified."))
PROVISIONAL = ("报告含暂定值：评分仅供参考，不构成法定评价结果。",
               ("The report contains provisional values: the score is for guidance only and is "
                "not a legal result."))

@dataclass(frozen=True)
class SignedFacts:
    """What a signed report certifies (its format 2 content, as issued)."""

    unit_name: str
    unit_uscc: str
    scheme_id: str
    scheme_version: int
    level: str
    total: str
    max_total: str
    pass_mark: str
    pass_mark_provisional: bool
    conclusion: str
    provisional: bool
    submitted_at: str


@dataclass(frozen=True)
class Verification:
    """What a check of a report found: valid, or why not (a message code); the signed facts
    whenever the signature holds; whether a PDF's pages were compared; and the verdict in
    words (``notice_zh``/``notice_en``)."""

    valid: bool
    reason: str = ""
    content_hash: str = ""
    key_id: str = ""
    evaluation_id: str = ""
    tenant: str = ""
    provisional: bool = False
    facts: SignedFacts | None = None
    pages_checked: bool = False
    notice_zh: str = NOTHING[0]
    notice_en: str = NOTHING[1]


def read_report(data: bytes) -> dict[str, Any] | None:
    """The report a file holds: a JSON report, or the JSON attached to a report's PDF; None for
    anything else (never an exception, whatever the bytes)."""
    try:
        if is_pdf(data):
            data = _attachment(data)
        report = json.loads(data)
    except Exception:  # noqa: BLE001 - any malformed file is "not a report", never a 5xx
        return None
    if (not isinstance(report, dict) or report.get("format") not in FORMATS
            or not isinstance(report.get("content_hash"), str) or not plain_json(report)):
        return None
    return report


def is_pdf(data: bytes) -> bool:
    return data.lstrip()[:5] == b"%PDF-"


def plain_json(value: Any, *, max_depth: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests at most ``max_depth`` deep and all its text (keys too) is
    Unicode that UTF-8 can encode: what canonical JSON and hashing can take. Walked without
    recursion, so any depth is answered."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return False
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return True


def signed_facts(report: Mapping[str, Any]) -> SignedFacts:
    """The facts a signed report certifies."""
    unit = report.get("unit")
    unit = unit if isinstance(unit, Mapping) else {}
    scheme = report.get("scheme")
    scheme = scheme if isinstance(scheme, Mapping) else {}
    version = scheme.get("version")
    return SignedFacts(
        unit_name=_text(unit.get("name")), unit_uscc=_text(unit.get("uscc")),
        scheme_id=_text(scheme.get("id")),
        scheme_version=version if isinstance(version, int) and not isinstance(version, bool)
        and 0 <= version < 2**31 else 0,
        level=_text(report.get("level")), total=_text(report.get("total")),
        max_total=_text(report.get("max_total")), pass_mark=_text(report.get("pass_mark")),
        pass_mark_provisional=pass_mark_provisional(report),
        conclusion=_text(report.get("conclusion")), provisional=is_provisional(report),
        submitted_at=_text(report.get("submitted_at")))


def verify(data: bytes, keys: Mapping[str, Ed25519PublicKey], *,
           render: Callable[[Mapping[str, Any]], bytes] = render_pdf) -> Verification:
    """Check the report in ``data`` (JSON or PDF) against the published ``keys`` (key id →
    public key): not a report, its hash does not match its content, it carries no signature
    (format 1), its key is not published, the signature does not match (or is missing from a
    format-2 report), or — a PDF — its bytes are not ``render`` of its attached report."""
    report = read_report(data)
    if report is None:
        return Verification(False, "report.not_a_report")
    block = report.get("signature")
    found = Verification(
        False, "", content_hash=report["content_hash"],
        key_id=_text(block.get("key_id")) if isinstance(block, dict) else "",
        evaluation_id=_text(report.get("evaluation_id")), tenant=_text(report.get("tenant")),
        provisional=is_provisional(report))
    if not verify_hash(report):
        return replace(found, reason="report.hash_mismatch")
    reason = signature_fault(report, keys)
    if reason:
        return replace(found, reason=reason)
    facts = signed_facts(report)
    found = replace(found, facts=facts)
    if not is_pdf(data):
        return _said(replace(found, valid=True), "json")
    found = replace(found, pages_checked=True)
    if render(report) != data:
        return _said(replace(found, reason="report.pdf_altered"), "report.pdf_altered")
    return _said(replace(found, valid=True), "pdf")


def _said(found: Verification, case: str) -> Verification:
    """The verdict in words: what was verified, what is certified, the provisional mark."""
    zh, en = NOTICES[case]
    zh, en = f"{zh}{CERTIFIED[0]}", f"{en} {CERTIFIED[1]}"
    if found.facts is not None and found.facts.provisional:
        zh, en = f"{zh}{PROVISIONAL[0]}", f"{en} {PROVISIONAL[1]}"
    return replace(found, notice_zh=zh, notice_en=en)


def _attachment(pdf: bytes) -> bytes:
    """The report a PDF attaches; every stream decompressed to at most ``ATTACHMENT_MAX``."""
    from pypdf import PdfReader, apply_configuration

    with apply_configuration(
            zlib_maximum_output_length=ATTACHMENT_MAX, lzw_maximum_output_length=ATTACHMENT_MAX,
            run_length_maximum_output_length=ATTACHMENT_MAX,
            brotli_maximum_output_length=ATTACHMENT_MAX,
            array_based_stream_maximum_output_length=ATTACHMENT_MAX,
            maximum_declared_stream_length=ATTACHMENT_MAX,
            stream_decoding_work_maximum_length=4 * ATTACHMENT_MAX):
        files = PdfReader(io.BytesIO(pdf)).attachments.get(ATTACHMENT) or []
        return files[0] if files else b""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
