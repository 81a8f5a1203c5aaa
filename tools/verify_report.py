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
   ``<format>\\n<content hash>`` — the platform issued it, and the key is one it publishes;
3. a PDF's pages: only where the platform's code is at hand (this file inside a checkout of the
   platform, with its packages installed) are the PDF's bytes compared with the platform's
   rendering of the signed report. Otherwise it says plainly that only the report embedded in
   the PDF is verified, not the pages — compare them with the signed facts it prints, or upload
   the PDF to ``POST /api/v1/public/reports/verify``, which checks the pages too.

Prints the verdict in plain words with the signed facts (unit and USCC, scheme and version,
level, total, pass mark, conclusion, provisional mark, submission time: only these are
certified), and exits 0 when the report is genuine, 1 when it is not (or is no report, or a file
cannot be read), 2 when called wrongly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIGNED_FORMATS = ("greenladder.evaluation-report/2",)
KNOWN_FORMATS = ("greenladder.evaluation-report/1", *SIGNED_FORMATS)
ATTACHMENT = "report.json"
UNHASHED = ("content_hash", "signature")
MAX_DEPTH = 32     # a report nests 6 deep; anything deeper is no report (checked before hashing)


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
    if is_pdf(data):
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
    plain(report)
    return report


def is_pdf(data: bytes) -> bool:
    return data.lstrip()[:5] == b"%PDF-"


def plain(value: Any) -> None:
    """Refuse a report nested deeper than ``MAX_DEPTH`` or holding text UTF-8 cannot encode (a
    lone surrogate): no report of the platform does (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH}: not a report of the platform")
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("text that is not Unicode: not a report of the platform") from None
        elif isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def is_provisional(report: dict[str, Any]) -> bool:
    """A format-1 report does not say: every scheme version it was issued under was provisional
    throughout. A format-2 report states it."""
    return report["format"] not in SIGNED_FORMATS or report.get("provisional") is True


def facts(report: dict[str, Any]) -> str:
    """The signed facts, one a line: only these are certified."""
    def text(value: Any) -> str:
        return value if isinstance(value, str) and value else "—"

    unit = report.get("unit") if isinstance(report.get("unit"), dict) else {}
    scheme = report.get("scheme") if isinstance(report.get("scheme"), dict) else {}
    mark = report.get("pass_mark_provisional")
    mark = mark if isinstance(mark, bool) else is_provisional(report)
    provisional = ("yes — it contains provisional values (含暂定值): the score is for guidance "
                   "only, not a legal result" if is_provisional(report) else "no")
    rows = [
        ("unit", f"{text(unit.get('name'))} (USCC {text(unit.get('uscc'))})"),
        ("scheme", f"{text(scheme.get('id'))} version {scheme.get('version', '—')}"),
        ("level", text(report.get("level"))),
        ("total", f"{text(report.get('total'))} of {text(report.get('max_total'))}"),
        ("pass mark", text(report.get("pass_mark")) + (" (provisional)" if mark else "")),
        ("conclusion", text(report.get("conclusion"))),
        ("provisional", provisional),
        ("submitted at", text(report.get("submitted_at"))),
    ]
    return ("  The signed facts — only these are certified:\n"
            + "\n".join(f"    {name + ':':<14}{value}" for name, value in rows))


def platform_renderer() -> Callable[[dict[str, Any]], bytes] | None:
    """The platform's PDF rendering, when this file sits in a checkout of the platform with its
    packages installed; None otherwise (then a PDF's pages cannot be checked here)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "services" / "evaluation" / "report" / "__init__.py").is_file():
        return None
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        from services.evaluation.report import render_pdf
    except Exception:  # noqa: BLE001 - any missing piece means: pages not checked here
        return None
    return render_pdf  # type: ignore[no-any-return]


PAGES_NOT_CHECKED = (
    "  The PDF's pages were NOT checked: only the report embedded in the PDF is verified, not the "
    "pages\n  (this command renders them only inside a checkout of the platform). Compare the "
    "pages with the\n  facts below, or upload the PDF to POST /api/v1/public/reports/verify, "
    "which checks the pages too.")
PAGES_CHECKED = ("  The PDF's pages are byte for byte the platform's rendering of the signed "
                 "report.")
NO_PAGES = ("  A JSON report: no pages were checked. Compare any printout with the facts below.")


def verdict(report: dict[str, Any], keys: dict[str, Any], *, pdf: bytes | None = None,
            render: Callable[[dict[str, Any]], bytes] | None = None) -> tuple[bool, str]:
    """(genuine, what was found, in words). ``pdf``: the file, when it was a PDF; ``render``:
    the platform's PDF rendering, to compare its pages with (None: they are not checked)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    body = {k: v for k, v in report.items() if k not in UNHASHED}
    try:
        digest = hashlib.sha256(canonical(body)).hexdigest()
    except (TypeError, ValueError) as exc:
        return False, f"NOT VALID: {exc}"
    about = (f"evaluation {report.get('evaluation_id', '?')} (tenant {report.get('tenant', '?')}),"
             f" content hash {report['content_hash']}")
    nothing = "\n  Nothing in it is certified."
    if digest != report["content_hash"]:
        return False, (f"NOT VALID: the report's content does not match its content hash: it was "
                       f"changed after it was issued.\n  {about}\n  recomputed: {digest}{nothing}")
    if report["format"] not in SIGNED_FORMATS:
        return False, ("NOT VERIFIED: the content hash matches, but the report carries no "
                       f"signature (a report from before reports were signed).\n  {about}\n"
                       "  It contains provisional values (含暂定值): its score is not a legal "
                       f"result.{nothing}")
    signature = report.get("signature")
    if not (isinstance(signature, dict) and signature.get("alg") == "Ed25519"
            and isinstance(signature.get("key_id"), str)
            and isinstance(signature.get("signature"), str)):
        return False, ("NOT VALID: the report's signature is missing or malformed: every report "
                       f"of its format is signed, so it is not the report the platform issued."
                       f"\n  {about}{nothing}")
    kid = signature["key_id"]
    pem = keys.get(kid)
    if not isinstance(pem, str):
        return False, (f"NOT VALID: the key {kid!r} that signed the report is not among the "
                       f"published report keys given.\n  {about}{nothing}")
    try:
        key = load_pem_public_key(pem.encode())
        key.verify(base64.b64decode(signature["signature"], validate=True),  # type: ignore[union-attr]
                   report["format"].encode() + b"\n" + report["content_hash"].encode())
    except (InvalidSignature, binascii.Error, ValueError, TypeError, AttributeError):
        return False, ("NOT VALID: the signature does not match the report: it is not the report "
                       f"the platform issued.\n  {about}\n  key {kid}{nothing}")
    if pdf is not None and render is not None and render(report) != pdf:
        return False, ("NOT VALID: the report attached to the PDF is the one the platform "
                       "issued, but the PDF's pages are not the ones the platform rendered for "
                       f"it: do not rely on them.\n  {about}\n  key {kid}\n"
                       "  The true facts, from the attached report:\n" + facts(report))
    pages = NO_PAGES if pdf is None else PAGES_CHECKED if render is not None else PAGES_NOT_CHECKED
    return True, (f"VALID: signed by the platform's report key {kid}, unchanged since.\n"
                  f"  {about}\n{pages}\n{facts(report)}")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    try:
        data = Path(argv[1]).read_bytes()
        report = read_report(data)
        published = json.loads(Path(argv[2]).read_text("utf-8"))
        keys = published.get("keys") if isinstance(published, dict) else None
        if not isinstance(keys, dict):
            raise ValueError("the keys file is not the JSON of GET /api/v1/public/report-keys")
    except Exception as exc:  # noqa: BLE001 - any unreadable file is said in words
        print(f"NOT VALID: cannot read it as a report and its keys: {exc}")
        return 1
    pdf = data if is_pdf(data) else None
    genuine, words = verdict(report, keys, pdf=pdf,
                             render=platform_renderer() if pdf is not None else None)
    print(words)
    return 0 if genuine else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
