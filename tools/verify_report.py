"""Check a GreenLadder evaluation report offline.

    python tools/verify_report.py REPORT KEYS

REPORT is the report as downloaded: its PDF (which carries the signed JSON report as an attached
file, ``report.json``) or its JSON. KEYS is the platform's published report keys, the JSON that
``GET /api/v1/public/report-keys`` answers (``{"active": …, "keys": {key id: PEM}}``).

It checks, with nothing but this file, the standard library and ``cryptography`` (and ``pypdf``
to open a PDF):

1. the content hash: sha256 over the RFC 8785 canonical JSON of the report without its
   ``content_hash`` and ``signature`` — the report was not changed after it was issued;
2. the signature: Ed25519, by the key named in the report, over the bytes
   ``<format>\\n<content hash>`` — the platform issued it, and the key is one it publishes.

Prints the verdict in plain words and exits 0 when the report is genuine, 1 when it is not (or
is no report, or a file cannot be read), 2 when called wrongly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

SIGNED_FORMATS = ("greenladder.evaluation-report/2",)
KNOWN_FORMATS = ("greenladder.evaluation-report/1", *SIGNED_FORMATS)
ATTACHMENT = "report.json"
UNHASHED = ("content_hash", "signature")


# --- RFC 8785 (JSON Canonicalization Scheme) for what a report holds ------------------------------


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON of what a report holds (objects, arrays, strings, integers,
    booleans, null): object keys sorted by their UTF-16 code units, no whitespace, strings
    escaped as ECMAScript does."""
    return _canonical(value).encode("utf-8")


def _canonical(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        if abs(value) > 2**53 - 1:
            raise ValueError("an integer beyond the range JSON numbers keep exactly")
        return str(value)
    if isinstance(value, float):  # a report states every figure as text, never as a float
        raise ValueError("a fractional JSON number: not a report of the platform")
    if isinstance(value, list | tuple):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(f"{_string(k)}:{_canonical(value[k])}" for k in keys) + "}"
    raise TypeError(f"not JSON: {type(value).__name__}")


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
            "\t": "\\t"}


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


# --- the report ---------------------------------------------------------------------------------


def read_report(data: bytes) -> dict[str, Any]:
    """The report a file holds (the JSON, or the JSON attached to the PDF)."""
    if data.lstrip()[:5] == b"%PDF-":
        from pypdf import PdfReader

        files = PdfReader(io.BytesIO(data)).attachments.get(ATTACHMENT) or []
        if not files:
            raise ValueError(f"the PDF carries no {ATTACHMENT}: not a report of the platform")
        data = files[0]
    report = json.loads(data)
    if not isinstance(report, dict) or report.get("format") not in KNOWN_FORMATS:
        raise ValueError("this is not an evaluation report of the platform")
    if not isinstance(report.get("content_hash"), str):
        raise ValueError("the report states no content hash")
    return report


def verdict(report: dict[str, Any], keys: dict[str, Any]) -> tuple[bool, str]:
    """(genuine, what was found, in words)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    body = {k: v for k, v in report.items() if k not in UNHASHED}
    try:
        digest = hashlib.sha256(canonical(body)).hexdigest()
    except (TypeError, ValueError) as exc:
        return False, f"NOT VALID: {exc}"
    about = (f"evaluation {report.get('evaluation_id', '?')} (tenant {report.get('tenant', '?')}),"
             f" content hash {report['content_hash']}")
    if digest != report["content_hash"]:
        return False, (f"NOT VALID: the report's content does not match its content hash: it was "
                       f"changed after it was issued.\n  {about}\n  recomputed: {digest}")
    signature = report.get("signature")
    if report["format"] not in SIGNED_FORMATS or not isinstance(signature, dict):
        return False, ("NOT VERIFIED: the content hash matches, but the report carries no "
                       f"signature (a report from before reports were signed).\n  {about}")
    kid = signature.get("key_id")
    pem = keys.get(kid) if isinstance(kid, str) else None
    if pem is None:
        return False, (f"NOT VALID: the key {kid!r} that signed the report is not among the "
                       f"published report keys given.\n  {about}")
    try:
        if signature.get("alg") != "Ed25519":
            raise InvalidSignature
        key = load_pem_public_key(pem.encode())
        key.verify(base64.b64decode(str(signature.get("signature", "")), validate=True),  # type: ignore[union-attr]
                   report["format"].encode() + b"\n" + report["content_hash"].encode())
    except (InvalidSignature, binascii.Error, ValueError, TypeError, AttributeError):
        return False, ("NOT VALID: the signature does not match the report: it is not the report "
                       f"the platform issued.\n  {about}\n  key {kid}")
    mark = ("\n  The report contains provisional values (含暂定值): its score is not a legal "
            "result." if report.get("provisional") is True else "")
    return True, (f"VALID: signed by the platform's report key {kid}, unchanged since.\n"
                  f"  {about}{mark}")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    try:
        report = read_report(Path(argv[1]).read_bytes())
        published = json.loads(Path(argv[2]).read_text("utf-8"))
        keys = published.get("keys") if isinstance(published, dict) else None
        if not isinstance(keys, dict):
            raise ValueError("the keys file is not the JSON of GET /api/v1/public/report-keys")
    except Exception as exc:  # noqa: BLE001 - any unreadable file is said in words
        print(f"NOT VALID: cannot read it as a report and its keys: {exc}")
        return 1
    genuine, words = verdict(report, keys)
    print(words)
    return 0 if genuine else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
