"""Signed reports (签名报告): the platform's report key signs a report's content hash when it is
submitted, and anyone with the published public keys can check it — through the public verify
call, or offline with ``tools/verify_report.py`` (which repeats what ``verify`` does here with
the standard library and ``cryptography`` alone).

What is signed is domain-separated: the bytes ``greenladder.evaluation-report/2`` + ``\\n`` + the
content hash (64 hex digits), never anything a key of the platform signs for another use. The
report keys are a key ring of their own (issuer ``evaluation_reports``), not the event or token
keys. The signature block ``{"alg": "Ed25519", "key_id", "signature": base64}`` sits in the report
beside ``content_hash`` and outside what the hash covers.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.evaluation.report.content import FORMAT, FORMATS, verify_hash
from services.evaluation.report.pdf import ATTACHMENT
from services.kernel.signing import KeyRing

ISSUER = "evaluation_reports"
ALG = "Ed25519"
SIGNED_FORMATS = (FORMAT,)


def signed_message(fmt: str, content_hash: str) -> bytes:
    """The bytes a report's signature is made over."""
    return fmt.encode() + b"\n" + content_hash.encode()


def sign(content: Mapping[str, Any], ring: KeyRing) -> dict[str, Any]:
    """``content`` with its signature block, made with the ring's active key."""
    kid = ring.active_kid
    signature = ring.private[kid].sign(signed_message(content["format"],
                                                      content["content_hash"]))
    return {**content, "signature": {"alg": ALG, "key_id": kid,
                                     "signature": base64.b64encode(signature).decode()}}


@dataclass(frozen=True)
class Verification:
    """What a check of a report found: valid, or why not (a message code)."""

    valid: bool
    reason: str = ""
    content_hash: str = ""
    key_id: str = ""
    evaluation_id: str = ""
    tenant: str = ""
    provisional: bool = False


def read_report(data: bytes) -> dict[str, Any] | None:
    """The report a file holds: a JSON report, or the JSON attached to a report's PDF; None for
    anything else (never an exception, whatever the bytes)."""
    try:
        if data.lstrip()[:5] == b"%PDF-":
            data = _attachment(data)
        report = json.loads(data)
    except Exception:  # noqa: BLE001 - any malformed file is "not a report", never a 5xx
        return None
    if (not isinstance(report, dict) or report.get("format") not in FORMATS
            or not isinstance(report.get("content_hash"), str)):
        return None
    return report


def verify(data: bytes, keys: Mapping[str, Ed25519PublicKey]) -> Verification:
    """Check the report in ``data`` (JSON or PDF) against the published ``keys`` (key id →
    public key): not a report, its hash does not match its content, it carries no signature,
    its key is not published, or the signature does not match."""
    report = read_report(data)
    if report is None:
        return Verification(False, "report.not_a_report")
    signature = report.get("signature")
    block = signature if isinstance(signature, dict) else {}
    found = Verification(
        False, "", content_hash=report["content_hash"], key_id=_text(block.get("key_id")),
        evaluation_id=_text(report.get("evaluation_id")), tenant=_text(report.get("tenant")),
        provisional=report.get("provisional") is True)
    if not verify_hash(report):
        return replace(found, reason="report.hash_mismatch")
    if report["format"] not in SIGNED_FORMATS or not block:
        return replace(found, reason="report.unsigned")
    key = keys.get(found.key_id)
    if key is None:
        return replace(found, reason="report.unknown_key")
    if block.get("alg") != ALG:
        return replace(found, reason="report.bad_signature")
    try:
        key.verify(base64.b64decode(_text(block.get("signature")), validate=True),
                   signed_message(report["format"], report["content_hash"]))
    except (InvalidSignature, binascii.Error, ValueError):
        return replace(found, reason="report.bad_signature")
    return replace(found, valid=True)


def _attachment(pdf: bytes) -> bytes:
    from pypdf import PdfReader

    files = PdfReader(io.BytesIO(pdf)).attachments.get(ATTACHMENT) or []
    return files[0] if files else b""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
