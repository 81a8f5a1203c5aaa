"""Signed reports (services/evaluation/report/signature.py) and the offline check
(tools/verify_report.py): a genuine report verifies, as JSON and as PDF; an edited one, a key
not published, a report never signed and anything that is no report do not."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import rfc8785
from pypdf import PdfReader, PdfWriter

from services.evaluation.report import (
    ISSUER,
    build_report,
    content_hash,
    render_pdf,
    report_json,
    sign,
    signed_message,
    verify,
)
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
def test_a_genuine_report_verifies(ring: signing.KeyRing, signed: dict[str, Any],
                                   signed_pdf: bytes, as_pdf: bool) -> None:
    found = verify(signed_pdf if as_pdf else report_json(signed), ring.public)
    assert found.valid and found.reason == ""
    assert (found.content_hash, found.key_id, found.evaluation_id, found.tenant,
            found.provisional) == (signed["content_hash"], ring.active_kid, "ev-1", "t_320000",
                                   True)


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


def test_a_report_from_before_signing_is_said_unsigned(ring: signing.KeyRing) -> None:
    old = format_1(build_report(make()))
    assert verify(report_json(old), ring.public).reason == "report.unsigned"


@pytest.mark.parametrize("data", [
    b"", b"\x00" * 64, b"%PDF-1.4 not really", b"[1, 2]", b'{"format": "x"}', b"[" * 100_000,
    json.dumps({"format": "greenladder.evaluation-report/2"}).encode(), "绿".encode() * 1000,
], ids=["empty", "nul", "fake-pdf", "list", "other-format", "deep", "no-hash", "text"])
def test_anything_else_is_not_a_report(ring: signing.KeyRing, data: bytes) -> None:
    found = verify(data, ring.public)
    assert (found.valid, found.reason) == (False, "report.not_a_report")


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


def run_tool(*args: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True,
                          text=True, timeout=120, check=False, cwd="/")


def test_the_command_checks_a_pdf_and_a_json_report_with_the_published_keys(
        ring: signing.KeyRing, signed: dict[str, Any], signed_pdf: bytes,
        tmp_path: Path) -> None:
    keys = tmp_path / "report-keys.json"
    keys.write_text(json.dumps(keys_json(ring)))
    for name, data in (("report.pdf", signed_pdf), ("report.json", report_json(signed))):
        (tmp_path / name).write_bytes(data)
        done = run_tool(tmp_path / name, keys)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith("VALID: signed by the platform's report key")
        assert signed["content_hash"] in done.stdout and "含暂定值" in done.stdout

    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(report_json(edited(signed, rehash=True)))
    done = run_tool(tampered, keys)
    assert done.returncode == 1 and "signature does not match" in done.stdout

    unpublished = tmp_path / "other-keys.json"
    unpublished.write_text(json.dumps(keys_json(signing.ensure(tmp_path / "other", ISSUER))))
    done = run_tool(tmp_path / "report.pdf", unpublished)
    assert done.returncode == 1 and "not among the published report keys" in done.stdout

    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.7 nothing here")
    done = run_tool(garbage, keys)
    assert done.returncode == 1 and done.stdout.startswith("NOT VALID")
    assert run_tool(keys).returncode == 2   # called wrongly: the usage
