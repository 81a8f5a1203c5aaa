"""Signed reports (services/evaluation/report/signature.py) and the offline check
(tools/verify_report.py): a genuine report verifies, as JSON and as PDF; an edited one, a key
not published, a report never signed and anything that is no report do not."""

from __future__ import annotations

import base64
import dataclasses
import importlib.util
import io
import json
import subprocess
import sys
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import rfc8785
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, StreamObject

from services.evaluation.report import (
    ATTACHMENT,
    FORMAT_1,
    ISSUER,
    build_report,
    content_hash,
    read_report,
    render_pdf,
    report_json,
    sign,
    signed_message,
    verify,
)
from services.evaluation.report.verification import MAX_DEPTH, plain_json
from services.kernel import signing
from tests.unit.test_report import format_1, make

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "verify_report.py"


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> signing.KeyRing:
    return signing.ensure(tmp_path_factory.mktemp("keys"), ISSUER)


@pytest.fixture(scope="module")
def signed(ring: signing.KeyRing) -> dict[str, Any]:
    return sign(build_report(make()), ring)


@pytest.fixture(scope="module")
def signed_pdf(signed: dict[str, Any]) -> bytes:
    return render_pdf(signed)


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_report", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def keys_json(ring: signing.KeyRing) -> dict[str, Any]:
    """What GET /api/v1/public/report-keys answers."""
    return {"active": ring.active_kid, "keys": ring.public_pems()}


def edited(report: dict[str, Any], *, rehash: bool) -> dict[str, Any]:
    """``report`` with one figure raised (and, with ``rehash``, its content hash made again, as
    anyone who edits a report can)."""
    out = json.loads(json.dumps(report, ensure_ascii=False))
    out["total"] = "91.22"
    if rehash:
        out["content_hash"] = content_hash(out)
    return out


def test_a_report_is_signed_over_its_format_and_content_hash(ring: signing.KeyRing,
                                                             signed: dict[str, Any]) -> None:
    block = signed["signature"]
    assert set(block) == {"alg", "key_id", "signature"} and block["alg"] == "Ed25519"
    assert block["key_id"] == ring.active_kid
    message = signed_message(signed["format"], signed["content_hash"])
    assert message == f"greenladder.evaluation-report/2\n{signed['content_hash']}".encode()
    ring.public[ring.active_kid].verify(base64.b64decode(block["signature"]), message)
    assert content_hash(signed) == signed["content_hash"]  # the signature is outside the hash


@pytest.mark.parametrize("as_pdf", [False, True], ids=["json", "pdf"])
def test_a_genuine_report_verifies_and_states_its_signed_facts(
        ring: signing.KeyRing, signed: dict[str, Any], signed_pdf: bytes, as_pdf: bool) -> None:
    found = verify(signed_pdf if as_pdf else report_json(signed), ring.public)
    assert found.valid and found.reason == ""
    assert (found.content_hash, found.key_id, found.evaluation_id, found.tenant,
            found.provisional) == (signed["content_hash"], ring.active_kid, "ev-1", "t_320000",
                                   True)
    assert found.facts is not None and dataclasses.asdict(found.facts) == {
        "unit_name": "苏州示例电子有限公司", "unit_uscc": "91320500MA1N2P3Q43",
        "scheme_id": "gbt36132-2025", "scheme_version": 1, "level": "provincial",
        "total": "71.22", "max_total": "100.00", "pass_mark": "60.00",
        "pass_mark_provisional": True, "conclusion": "passed", "provisional": True,
        "submitted_at": "2025-10-11T09:00:00+08:00"}
    assert found.pages_checked is as_pdf
    assert "Only these facts are certified" in found.notice_en and "只有以下事实" in found.notice_zh
    assert ("pages are byte for byte" if as_pdf else "no pages were checked") in found.notice_en
    assert "含暂定值" in found.notice_zh


def forged_pdf(genuine: dict[str, Any], pages_of: dict[str, Any]) -> bytes:
    """The pages of ``pages_of`` with the genuine signed report attached instead of its own."""
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(render_pdf(pages_of))).pages:
        writer.add_page(page)
    writer.add_attachment(ATTACHMENT, report_json(genuine))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_whose_pages_are_fake_does_not_verify_though_its_attachment_is_genuine(
        ring: signing.KeyRing, signed: dict[str, Any]) -> None:
    """Review H1: only the attached JSON was bound; now the pages are the platform's
    rendering of it, byte for byte, or the PDF is refused with the true facts."""
    fake = forged_pdf(signed, {**signed, "total": "99.00", "conclusion": "passed"})
    assert read_report(fake) == signed          # the attachment is the genuine report
    found = verify(fake, ring.public)
    assert (found.valid, found.reason, found.pages_checked) == (
        False, "report.pdf_altered", True)
    assert found.facts is not None and found.facts.total == "71.22"   # the true figure
    assert "do not rely on them" in found.notice_en
    appended = render_pdf(signed) + b"\n% a note\n"        # any byte changed is a change
    assert verify(appended, ring.public).reason == "report.pdf_altered"


def test_an_edited_report_fails(ring: signing.KeyRing, signed: dict[str, Any]) -> None:
    rehashed = verify(report_json(edited(signed, rehash=True)), ring.public)
    assert (rehashed.valid, rehashed.reason) == (False, "report.bad_signature")
    as_is = verify(report_json(edited(signed, rehash=False)), ring.public)
    assert (as_is.valid, as_is.reason) == (False, "report.hash_mismatch")


def test_a_key_not_published_fails(signed: dict[str, Any], tmp_path: Path) -> None:
    other = signing.ensure(tmp_path, ISSUER)
    found = verify(report_json(signed), other.public)
    assert (found.valid, found.reason, found.key_id) == (
        False, "report.unknown_key", signed["signature"]["key_id"])


def test_a_signature_of_another_use_or_algorithm_fails(ring: signing.KeyRing,
                                                       signed: dict[str, Any]) -> None:
    kid = ring.active_kid
    bare = ring.private[kid].sign(signed["content_hash"].encode())  # not domain-separated
    forged = {**signed, "signature": {**signed["signature"],
                                      "signature": base64.b64encode(bare).decode()}}
    assert verify(report_json(forged), ring.public).reason == "report.bad_signature"
    other_alg = {**signed, "signature": {**signed["signature"], "alg": "RS256"}}
    assert verify(report_json(other_alg), ring.public).reason == "report.bad_signature"
    garbled = {**signed, "signature": {**signed["signature"], "signature": "not base64!"}}
    assert verify(report_json(garbled), ring.public).reason == "report.bad_signature"


def test_a_report_from_before_signing_is_said_unsigned_and_provisional(
        ring: signing.KeyRing) -> None:
    """Review M5: format-1 reports were all scored under all-provisional scheme versions."""
    old = format_1(build_report(make()))
    found = verify(report_json(old), ring.public)
    assert (found.valid, found.reason, found.provisional, found.facts) == (
        False, "report.unsigned", True, None)
    assert "nothing in it is certified" in found.notice_en


@pytest.mark.parametrize("block", [None, "x", {}, {"alg": "Ed25519", "signature": "c2ln"},
                                   {"alg": "Ed25519", "key_id": 7, "signature": "c2ln"}],
                         ids=["stripped", "text", "empty", "no-key", "key-not-text"])
def test_a_format_2_report_without_a_valid_signature_block_is_not_as_issued(
        ring: signing.KeyRing, signed: dict[str, Any], block: Any) -> None:
    """Review M4: every format-2 report is signed; one without its block is not the report
    the platform issued (not a report 'from before signing')."""
    stripped = {k: v for k, v in signed.items() if k != "signature"}
    if block is not None:
        stripped["signature"] = block
    assert stripped["format"] != FORMAT_1
    found = verify(report_json(stripped), ring.public)
    assert (found.valid, found.reason, found.facts) == (False, "report.bad_signature", None)


@pytest.mark.parametrize("data", [
    b"", b"\x00" * 64, b"%PDF-1.4 not really", b"[1, 2]", b'{"format": "x"}', b"[" * 100_000,
    json.dumps({"format": "greenladder.evaluation-report/2"}).encode(), "绿".encode() * 1000,
], ids=["empty", "nul", "fake-pdf", "list", "other-format", "deep", "no-hash", "text"])
def test_anything_else_is_not_a_report(ring: signing.KeyRing, data: bytes) -> None:
    found = verify(data, ring.public)
    assert (found.valid, found.reason) == (False, "report.not_a_report")


@pytest.mark.parametrize("mangle", ["value", "key", "signature"])
def test_a_report_with_text_utf_8_cannot_hold_is_not_a_report(
        ring: signing.KeyRing, signed: dict[str, Any], mangle: str) -> None:
    """Review H3: a lone surrogate ("\\ud800", valid JSON) in any string was a 500."""
    text = report_json(signed).decode()
    if mangle == "value":
        text = text.replace('"ev-1"', '"ev-1\\ud800"')
    elif mangle == "key":
        text = text.replace('"highlights"', '"highlights\\udfff"')
    else:
        text = text.replace(f'"{signed["signature"]["key_id"]}"', '"\\ud800"')
    data = text.encode()
    assert json.loads(data) != signed
    found = verify(data, ring.public)
    assert (found.valid, found.reason) == (False, "report.not_a_report")


def test_a_report_nested_deeper_than_a_report_is_refused_before_hashing(
        ring: signing.KeyRing, signed: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    assert plain_json(signed) and not plain_json(signed, max_depth=5)  # a report nests 6 deep
    hashed: list[Any] = []
    monkeypatch.setattr(rfc8785, "dumps", lambda value: hashed.append(value) or b"")
    for depth in (MAX_DEPTH, 900, 5000):   # 900: below the JSON parser's own recursion limit
        deep = report_json(signed).replace(
            json.dumps(signed["highlights"], ensure_ascii=False).encode(),
            b"[" * depth + b"]" * depth)
        found = verify(deep, ring.public)
        assert (found.valid, found.reason) == (False, "report.not_a_report"), depth
    assert hashed == []


def test_a_pdf_whose_attachment_decompresses_beyond_the_bound_is_not_a_report(
        ring: signing.KeyRing, signed: dict[str, Any], signed_pdf: bytes) -> None:
    """A small PDF whose attached report (genuine, after 20 MB of blanks JSON allows) inflates
    beyond what a report can be: not read at all (unbounded, it would read as pdf_altered)."""
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(signed_pdf)).pages:
        writer.add_page(page)
    writer.add_attachment(ATTACHMENT, b" " * (20 * 2**20) + report_json(signed))
    for obj in writer._objects:  # type: ignore[attr-defined]
        if isinstance(obj, StreamObject) and obj.get("/Type") == "/EmbeddedFile":
            obj._data = zlib.compress(obj.get_data(), 9)  # type: ignore[attr-defined]
            obj[NameObject("/Filter")] = NameObject("/FlateDecode")
    out = io.BytesIO()
    writer.write(out)
    bomb = out.getvalue()
    assert len(bomb) < 2**20
    assert verify(bomb, ring.public).reason == "report.not_a_report"


def test_a_pdf_without_the_report_attached_is_not_a_report(ring: signing.KeyRing,
                                                           signed_pdf: bytes) -> None:
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(signed_pdf)).pages:
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    assert verify(out.getvalue(), ring.public).reason == "report.not_a_report"


# --- the offline command ----------------------------------------------------------------------


def test_the_tools_canonical_json_is_rfc_8785(tool: ModuleType, signed: dict[str, Any]) -> None:
    body = {k: v for k, v in signed.items() if k not in ("content_hash", "signature")}
    tricky = {"é": "\u2028\x1f\"\\\t", "a": [None, True, 0, -12, 2**53 - 1], "Z": {"ß": "𝄞"},
              "\U0001f600": 1, "\ue000": 2}
    for value in (body, tricky):
        assert tool.canonical(value) == rfc8785.dumps(value)


def test_the_tool_agrees_with_the_service(tool: ModuleType, ring: signing.KeyRing,
                                          signed: dict[str, Any], signed_pdf: bytes) -> None:
    keys = keys_json(ring)["keys"]
    assert tool.verdict(tool.read_report(signed_pdf), keys)[0] is True
    assert tool.verdict(edited(signed, rehash=True), keys)[0] is False
    assert tool.verdict(edited(signed, rehash=False), keys)[0] is False
    assert tool.verdict(signed, {})[0] is False
    assert tool.verdict(format_1(build_report(make())), keys)[0] is False
    stripped = {k: v for k, v in signed.items() if k != "signature"}
    assert "missing or malformed" in tool.verdict(stripped, keys)[1]          # review M4
    assert "provisional values" in tool.verdict(format_1(build_report(make())), keys)[1]  # M5
    fake = forged_pdf(signed, {**signed, "total": "99.00"})
    genuine, words = tool.verdict(tool.read_report(fake), keys, pdf=fake, render=render_pdf)
    assert not genuine and "pages are not the ones the platform rendered" in words
    assert tool.verdict(signed, keys, pdf=signed_pdf, render=render_pdf)[0] is True
    for bad in (report_json(signed).replace(b'"ev-1"', b'"\\ud800"'),
                b'{"format": "greenladder.evaluation-report/2", "content_hash": "x", "a": '
                + b"[" * 40 + b"]" * 40 + b"}"):
        with pytest.raises(ValueError, match="not a report"):
            tool.read_report(bad)


def run_tool(*args: Path, tool: Path = TOOL) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(tool), *map(str, args)], capture_output=True,
                          text=True, timeout=120, check=False, cwd="/")


FACTS = ("The signed facts — only these are certified:",
         "unit:         苏州示例电子有限公司 (USCC 91320500MA1N2P3Q43)",
         "scheme:       gbt36132-2025 version 1", "level:        provincial",
         "total:        71.22 of 100.00", "pass mark:    60.00 (provisional)",
         "conclusion:   passed", "provisional:  yes — it contains provisional values (含暂定值)",
         "submitted at: 2025-10-11T09:00:00+08:00")


def test_the_command_checks_a_pdf_and_a_json_report_with_the_published_keys(
        ring: signing.KeyRing, signed: dict[str, Any], signed_pdf: bytes,
        tmp_path: Path) -> None:
    keys = tmp_path / "report-keys.json"
    keys.write_text(json.dumps(keys_json(ring)))
    for name, data, pages in (
            ("report.pdf", signed_pdf, "pages are byte for byte the platform's rendering"),
            ("report.json", report_json(signed), "A JSON report: no pages were checked")):
        (tmp_path / name).write_bytes(data)
        done = run_tool(tmp_path / name, keys)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith("VALID: signed by the platform's report key")
        assert signed["content_hash"] in done.stdout and pages in done.stdout
        for line in FACTS:
            assert line in done.stdout, line

    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(report_json(edited(signed, rehash=True)))
    done = run_tool(tampered, keys)
    assert done.returncode == 1 and "signature does not match" in done.stdout
    assert "Nothing in it is certified" in done.stdout

    forged = tmp_path / "forged.pdf"
    forged.write_bytes(forged_pdf(signed, {**signed, "total": "99.00"}))
    done = run_tool(forged, keys)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("NOT VALID: the report attached to the PDF is the one")
    assert "total:        71.22 of 100.00" in done.stdout   # the true figure, not the pages'

    unpublished = tmp_path / "other-keys.json"
    unpublished.write_text(json.dumps(keys_json(signing.ensure(tmp_path / "other", ISSUER))))
    done = run_tool(tmp_path / "report.pdf", unpublished)
    assert done.returncode == 1 and "not among the published report keys" in done.stdout

    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.7 nothing here")
    done = run_tool(garbage, keys)
    assert done.returncode == 1 and done.stdout.startswith("NOT VALID")
    assert run_tool(keys).returncode == 2   # called wrongly: the usage


def test_the_command_alone_says_the_pages_were_not_checked_and_prints_the_facts(
        ring: signing.KeyRing, signed: dict[str, Any], tmp_path: Path) -> None:
    """The tool as a user has it (the file alone, no platform code beside it): it cannot render
    the pages, so it says only the embedded report is verified, and prints the signed facts."""
    alone = tmp_path / "verify_report.py"
    alone.write_bytes(TOOL.read_bytes())
    keys = tmp_path / "report-keys.json"
    keys.write_text(json.dumps(keys_json(ring)))
    forged = tmp_path / "report.pdf"
    forged.write_bytes(forged_pdf(signed, {**signed, "total": "99.00"}))
    done = run_tool(forged, keys, tool=alone)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("VALID: signed by the platform's report key")
    assert ("The PDF's pages were NOT checked: only the report embedded in the PDF is verified, "
            "not the pages") in done.stdout
    assert "POST /api/v1/public/reports/verify" in done.stdout
    for line in FACTS:
        assert line in done.stdout, line
