"""Reports that read right and can be verified, through the gateway (issue 9 §1, §4): the level
applied for, a declaration the registry contradicts, the veto in words, the PDF downloaded and
checked by the public verify route (its signed facts; a PDF with fake pages, text that is not
Unicode and a body over the verify figure refused) and by the offline command with the
published keys."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from services.evaluation.report import content_hash, report_json
from tests.e2e.test_evaluation import _values
from tests.helpers import Api, factory
from tests.unit.test_report_signature import forged_pdf

pytestmark = pytest.mark.stack
T = "/api/v1/tenants/320000"
BASIC = {"lawful_operation": True, "no_major_accident": True, "management_body": True,
         "plan_and_targets": True}
TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_report.py"


def test_a_contradicted_report_reads_right_and_verifies_online_and_offline(
        stack, as_user, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ent, js = as_user("factory"), as_user("jiangsu")
    public = Api(stack.gateway_url)   # nobody logged in
    unit = js.post(f"{T}/units", json=factory(uscc="91320100MA1N2P3Q43", site="事故厂区",
                                              location="320115")).json()["unit"]
    accident = js.post(f"{T}/units/{unit['id']}/compliance", json={
        "kind": "safety_accident", "occurred_on": "2025-03-02", "source": "official",
        "reference": "宁应急罚〔2025〕12号", "description": "叉车伤人"})
    assert accident.status_code == 201, accident.text

    bad = ent.post(f"{T}/evaluations", json={"unit_id": unit["id"], "scheme_id": "gbt36132-2025",
                                             "scheme_version": 1, "level": "county"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "evaluation.level_unknown"
    created = ent.post(f"{T}/evaluations", json={
        "unit_id": unit["id"], "scheme_id": "gbt36132-2025", "scheme_version": 1,
        "level": "provincial"})
    assert created.status_code == 201 and created.json()["level"] == "provincial"
    path = f"{T}/evaluations/{created.json()['id']}"
    filled = ent.patch(f"{path}/values", json={"values": _values(), "basic": BASIC})
    assert filled.status_code == 200, filled.text

    preview = ent.get(f"{path}/score").json()["result"]
    (flag,) = preview["contradictions"]
    assert flag["requirement"] == "no_major_accident"
    assert [(r["kind"], r["occurred_on"], r["reference"]) for r in flag["records"]] == [
        ("safety_accident", "2025-03-02", "宁应急罚〔2025〕12号")]
    submitted = ent.post(f"{path}/submit", json={"pledge": True}).json()
    assert (submitted["vetoed"], submitted["passed"], submitted["level"]) == (
        True, False, "provincial")

    report = ent.get(f"{path}/report")
    content = report.json()
    assert content["format"] == "greenladder.evaluation-report/2"
    assert content["level"] == "provincial"
    assert content["unit"]["location_name"] == "江苏省南京市江宁区"
    (condition,) = content["veto"]["conditions"]
    (record,) = condition["records"]
    assert record == {"kind": "safety_accident", "kind_zh": "安全事故",
                      "kind_en": "safety accident", "condition": 2, "occurred_on": "2025-03-02",
                      "ended_on": "", "reference": "宁应急罚〔2025〕12号", "source": "official"}
    assert content["contradictions"][0]["requirement"] == "no_major_accident"
    assert content["provisional"] is True
    signature = content["signature"]
    assert report.headers["x-report-key-id"] == signature["key_id"]
    assert report.headers["x-report-signature"] == signature["signature"]

    pdf = ent.get(f"{path}/report", params={"format": "pdf"}).content
    first_page = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "绿色制造评价报告" in first_page and "含暂定值" in first_page

    keys = public.get("/api/v1/public/report-keys")
    assert keys.status_code == 200 and signature["key_id"] in keys.json()["keys"]
    assert keys.json()["active"] == signature["key_id"]
    verified = public.post("/api/v1/public/reports/verify",
                           files={"file": ("report.pdf", pdf, "application/pdf")})
    assert verified.status_code == 200, verified.text
    answer = verified.json()
    assert {k: answer[k] for k in ("valid", "reason", "content_hash", "key_id", "evaluation_id",
                                   "tenant", "provisional", "pages_checked")} == {
        "valid": True, "reason": "", "content_hash": content["content_hash"],
        "key_id": signature["key_id"], "evaluation_id": content["evaluation_id"],
        "tenant": content["tenant"], "provisional": True, "pages_checked": True}
    assert answer["facts"] == {
        "unit_name": unit["name"], "unit_uscc": "91320100MA1N2P3Q43",
        "scheme_id": "gbt36132-2025", "scheme_version": 1, "level": "provincial",
        "total": content["total"], "max_total": content["max_total"],
        "pass_mark": content["pass_mark"], "pass_mark_provisional": True,
        "conclusion": "vetoed", "provisional": True, "submitted_at": content["submitted_at"]}
    assert "Only these facts are certified" in answer["notice_en"]
    # review H1: the genuine signed report attached to pages that say something else
    fake = forged_pdf(content, {**content, "conclusion": "passed", "total": "99.00"})
    altered = public.post("/api/v1/public/reports/verify",
                          files={"file": ("report.pdf", fake, "application/pdf")}).json()
    assert (altered["valid"], altered["reason"], altered["pages_checked"]) == (
        False, "report.pdf_altered", True)
    assert (altered["facts"]["conclusion"], altered["facts"]["total"]) == (
        "vetoed", content["total"])
    # review H3: text UTF-8 cannot hold (a lone surrogate, valid JSON) is no report, not a 500
    surrogate = report_json(content).replace(content["evaluation_id"].encode(), b"\\ud800")
    lone = public.post("/api/v1/public/reports/verify",
                       files={"file": ("report.json", surrogate, "application/json")})
    assert lone.status_code == 200, lone.text
    assert (lone.json()["valid"], lone.json()["reason"]) == (False, "report.not_a_report")
    assert "facts" not in lone.json()
    # review H2: a body over the verify figure never reaches the service
    big = public.post("/api/v1/public/reports/verify",
                      files={"file": ("report.pdf", pdf + b" " * 2**21, "application/pdf")})
    assert big.status_code == 413 and big.json()["error"]["code"] == "request.report_too_large"
    content["total"] = "99.00"
    content["content_hash"] = content_hash(content)
    forged = public.post("/api/v1/public/reports/verify", files={
        "file": ("report.json", json.dumps(content, ensure_ascii=False).encode(),
                 "application/json")})
    assert forged.status_code == 200
    assert (forged.json()["valid"], forged.json()["reason"]) == (False, "report.bad_signature")
    garbage = public.post("/api/v1/public/reports/verify",
                          files={"file": ("x.pdf", b"%PDF-\x00\xff" * 100, "application/pdf")})
    assert garbage.status_code == 200 and garbage.json()["reason"] == "report.not_a_report"

    (tmp_path / "report.pdf").write_bytes(pdf)
    (tmp_path / "report-keys.json").write_text(keys.text, "utf-8")
    done = subprocess.run([sys.executable, str(TOOL), "report.pdf", "report-keys.json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("VALID") and content["evaluation_id"] in done.stdout
    assert "The signed facts — only these are certified:" in done.stdout
    assert "conclusion:   vetoed" in done.stdout

