"""Signed reports (签名报告): the platform's report key signs a report's content hash when it is
submitted, and anyone with the published public keys can check it — through the public verify
call, or offline with ``tools/verify_report.py`` (which repeats what ``signature_fault`` does
here with the standard library and ``cryptography`` alone). The whole check of a file, its pages
included, is ``verification.py``.

What is signed is domain-separated: the bytes ``greenladder.evaluation-report/2`` + ``\\n`` + the
content hash (64 hex digits), never anything a key of the platform signs for another use. The
report keys are a key ring of their own (issuer ``evaluation_reports``), not the event or token
keys. The signature block ``{"alg": "Ed25519", "key_id", "signature": base64}`` sits in the report
beside ``content_hash`` and outside what the hash covers.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.evaluation.report.content import FORMAT
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


def signature_fault(report: Mapping[str, Any],
                      keys: Mapping[str, Ed25519PublicKey]) -> str:
    """Why ``report`` (its content hash already checked) is not signed by one of the published
    ``keys``, as a message code; "" when it is. A format-1 report was never signed
    (``report.unsigned``); a format-2 report is always signed, so one without a well-formed block
    is not as issued (``report.bad_signature``)."""
    if report.get("format") not in SIGNED_FORMATS:
        return "report.unsigned"
    block = report.get("signature")
    if (not isinstance(block, dict) or block.get("alg") != ALG
            or not isinstance(block.get("key_id"), str)
            or not isinstance(block.get("signature"), str)):
        return "report.bad_signature"
    key = keys.get(block["key_id"])
    if key is None:
        return "report.unknown_key"
    try:
        key.verify(base64.b64decode(block["signature"], validate=True),
                   signed_message(report["format"], report["content_hash"]))
    except (InvalidSignature, binascii.Error, ValueError):
        return "report.bad_signature"
    return ""
