"""Self-evaluation through the gateway (SPEC §4): values, evidence, automated score, veto, report."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.evaluation.report import verify_hash
from services.evaluation.scoring import Quantity
from tests.helpers import factory, login
from tests.unit.test_scoring import GBT2025_VALUES

pytestmark = pytest.mark.stack
T = "/api/v1/tenants/320000"
PDF = b"%PDF-1.4\n% evidence\n%%EOF\n"


def _values() -> list[dict]:
    out = []
    for indicator_id, value in GBT2025_VALUES.items():
        if isinstance(value, Quantity):
            out.append({"indicator_id": indicator_id, "amount": str(value.amount), "unit": value.unit})
        else:
            out.append({"indicator_id": indicator_id, "option": value})
    return out


@pytest.fixture(scope="module")
def own_factory(as_user):  # type: ignore[no-untyped-def]
    """The demo enterprise's factory (USCC 91320100MA1N2P3Q43)."""
    r = as_user("factory").post(f"{T}/units", json=factory(uscc="91320100MA1N2P3Q43", site="评价厂区"))
    assert r.status_code in (200, 201), r.text
    return r.json()["unit"]


def _start(api, unit_id: str) -> dict:  # type: ignore[no-untyped-def]
    r = api.post(f"{T}/evaluations", json={"unit_id": unit_id, "scheme_id": "gbt36132-2025",
                                           "scheme_version": 1})
    assert r.status_code == 201, r.text
    return r.json()


def test_a_self_evaluation_from_values_to_report(as_user, own_factory):  # type: ignore[no-untyped-def]
    ent = as_user("factory")
    schemes = ent.get(f"{T}/schemes").json()
    assert {("gbt36132-2025", 1), ("gbt36132-2025", 2), ("gbt36132-2018", 1)} <= {
        (s["id"], s["version"]) for s in schemes}
    # every shipped version has provisional figures, and its definition names their sources
    assert all(s["provisional"] is True for s in schemes)
    assert all(s["definition"]["sources"] for s in schemes)
    evaluation = _start(ent, own_factory["id"])
    assert (evaluation["status"], evaluation["scheme_version"]) == ("draft", 1)
    path = f"{T}/evaluations/{evaluation['id']}"
    r = ent.patch(f"{path}/values", json={"values": _values(), "basic": {
        "lawful_operation": True, "no_major_accident": True, "management_body": True,
        "plan_and_targets": True}})
    assert r.status_code == 200, r.text
    up = ent.post(f"{path}/evidence", data={"indicator_id": "energy_per_output"},
                  files={"file": ("能耗统计.pdf", PDF, "application/pdf")})
    assert up.status_code == 201, up.text
    assert len(up.json()["sha256"]) == 64
    preview = ent.get(f"{path}/score").json()["result"]
    line = next(i for i in preview["indicators"] if i["id"] == "energy_per_output")
    assert (line["points"], line["baseline"], line["leading"]) == ("6.88", "0.25", "0.08")
    submitted = ent.post(f"{path}/submit", json={"highlights": "余热回收", "pledge": True})
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert (body["status"], body["total"], body["passed"], body["vetoed"]) == ("submitted", "71.22", True, False)
    report = ent.get(f"{path}/report").json()
    assert verify_hash(report) and report["content_hash"] == body["report_hash"]
    assert report["indicators"][0]["evidence"] or any(i["evidence"] for i in report["indicators"])
    html = ent.get(f"{path}/report", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html") and body["report_hash"] in html.text
    pdf = ent.get(f"{path}/report", params={"format": "pdf"})
    assert pdf.content.startswith(b"%PDF") and pdf.headers["x-content-hash"] == body["report_hash"]
    # Frozen once submitted; a retried submit changes nothing.
    frozen = ent.patch(f"{path}/values", json={"values": [], "basic": {}})
    assert frozen.status_code == 409 and frozen.json()["error"]["code"] == "evaluation.frozen"
    again = ent.post(f"{path}/submit", json={"pledge": True}).json()
    assert again["report_hash"] == body["report_hash"]
    # The province and the ministry read it; Zhejiang and Suzhou do not.
    assert as_user("jiangsu").get(path).status_code == 200
    assert as_user("ministry").get(path).status_code == 200
    assert as_user("zhejiang").get(path).status_code == 403
    assert as_user("suzhou").get(path).status_code == 403


def test_a_veto_in_the_registry_fails_the_evaluation(as_user, own_factory):  # type: ignore[no-untyped-def]
    ent, js = as_user("factory"), as_user("jiangsu")
    unit = js.post(f"{T}/units", json=factory(uscc="91320100MA1N2P3Q43", site="受否决厂区")).json()["unit"]
    js.post(f"{T}/units/{unit['id']}/compliance", json={"kind": "dishonest_debtor",
                                                         "occurred_on": "2024-05-01"})
    evaluation = _start(ent, unit["id"])
    path = f"{T}/evaluations/{evaluation['id']}"
    ent.patch(f"{path}/values", json={"values": _values(), "basic": {
        "lawful_operation": True, "no_major_accident": True, "management_body": True,
        "plan_and_targets": True}})
    body = ent.post(f"{path}/submit", json={"pledge": True}).json()
    assert body["vetoed"] and not body["passed"]
    report = ent.get(f"{path}/report").json()
    assert report["conclusion"] == "vetoed"
    assert report["veto"]["conditions"][0]["condition"] == 6


def test_bad_values_and_files_are_refused_clearly(as_user, own_factory):  # type: ignore[no-untyped-def]
    ent = as_user("factory", "en")
    evaluation = _start(ent, own_factory["id"])
    path = f"{T}/evaluations/{evaluation['id']}"
    wrong_unit = ent.patch(f"{path}/values", json={"values": [
        {"indicator_id": "energy_per_output", "amount": "0.1", "unit": "kgce/万元"}]})
    assert wrong_unit.status_code == 422 and wrong_unit.json()["error"]["code"] == "value.unit_mismatch"
    unknown = ent.patch(f"{path}/values", json={"values": [{"indicator_id": "nope", "amount": "1"}]})
    assert unknown.json()["error"]["code"] == "value.unknown_indicator"
    not_pdf = ent.post(f"{path}/evidence", data={"indicator_id": "energy_per_output"},
                       files={"file": ("x.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert not_pdf.json()["error"]["code"] == "evidence.content_mismatch"
    exe = ent.post(f"{path}/evidence", data={"indicator_id": "energy_per_output"},
                   files={"file": ("x.exe", b"MZ", "application/octet-stream")})
    assert exe.json()["error"]["code"] == "evidence.type"
    no_pledge = ent.post(f"{path}/submit", json={"pledge": False})
    assert no_pledge.json()["error"]["code"] == "report.pledge_required"
    assert ent.get(f"{path}").json()["status"] == "draft"  # nothing half-written
    # Only the unit's own enterprise evaluates it.
    js_unit = as_user("jiangsu").post(f"{T}/units", json=factory()).json()["unit"]
    other = ent.post(f"{T}/evaluations", json={"unit_id": js_unit["id"], "scheme_id": "gbt36132-2025"})
    assert other.status_code == 403


def test_a_new_scheme_version_rescores_what_is_held(own_stack, tmp_path):  # type: ignore[no-untyped-def]
    """An operator adds a new version (a stricter pass mark) as a file; the province sees who would
    now fall below the mark, from the data held, without changing anything. The answer streams
    (issue 9 §4) in the same JSON shape; a refusal is still a proper error answer."""
    folder = Path("services/evaluation/data/schemes")
    new = 1 + max(yaml.safe_load(f.read_text("utf-8"))["version"] for f in folder.glob("*.yaml")
                  if yaml.safe_load(f.read_text("utf-8")).get("id") == "gbt36132-2025")
    stricter = (folder / "gbt36132-2025.yaml").read_text("utf-8").replace(
        "\nversion: 1\n", f"\nversion: {new}\n", 1).replace("  default: 60 ", "  default: 75 ", 1)
    operator = tmp_path / "schemes"
    operator.mkdir()
    (operator / "gbt36132-2025-stricter.yaml").write_text(stricter, "utf-8")
    own_stack.env["GL_SCHEMES_DIR"] = str(operator)
    stack = own_stack.start()
    ent, js = login(stack, "factory"), login(stack, "jiangsu", lang="en")
    unit = ent.post(f"{T}/units", json=factory(uscc="91320100MA1N2P3Q43")).json()["unit"]
    evaluation = ent.post(f"{T}/evaluations", json={
        "unit_id": unit["id"], "scheme_id": "gbt36132-2025", "scheme_version": 1}).json()
    path = f"{T}/evaluations/{evaluation['id']}"
    ent.patch(f"{path}/values", json={"values": _values(), "basic": {
        "lawful_operation": True, "no_major_accident": True, "management_body": True,
        "plan_and_targets": True}})
    assert ent.post(f"{path}/submit", json={"pledge": True}).json()["passed"]
    r = js.post(f"{T}/schemes/gbt36132-2025/rescore", json={"to_version": new})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    result = r.json()
    assert set(result) == {"scheme_id", "to_version", "evaluations", "now_below_mark", "rows",
                           "fell_by_indicator"}
    assert (result["scheme_id"], result["to_version"]) == ("gbt36132-2025", new)
    assert (result["evaluations"], result["now_below_mark"], result["fell_by_indicator"]) == (
        1, 1, {})
    (row,) = result["rows"]
    assert (row["evaluation_id"], row["from_version"], row["old_total"], row["new_total"],
            row["old_passed"], row["new_passed"], row["now_below_mark"]) == (
        evaluation["id"], 1, "71.22", "71.22", True, False, True)
    assert ent.get(path).json()["scheme_version"] == 1  # the evaluation stays pinned
    # Refusals come before any row: a proper error answer, never a broken stream.
    refused = ent.post(f"{T}/schemes/gbt36132-2025/rescore", json={"to_version": new})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "auth.forbidden_role"
    unknown = js.post(f"{T}/schemes/gbt36132-2025/rescore", json={"to_version": new + 1})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "scheme.unknown"
    assert unknown.json()["error"]["message"]
    out_of_range = js.post(f"{T}/schemes/gbt36132-2025/rescore", json={"to_version": 10**6})
    assert out_of_range.status_code == 422
    assert out_of_range.json()["error"]["code"] == "request.invalid"
    zj = login(stack, "zhejiang")
    other = zj.post(f"{T}/schemes/gbt36132-2025/rescore", json={"to_version": new})
    assert other.status_code == 403 and other.json()["error"]["code"] == "auth.wrong_tenant"
    assert zj.post("/api/v1/tenants/330000/schemes/gbt36132-2025/rescore",
                   json={"to_version": new}).json() == {
        "scheme_id": "gbt36132-2025", "to_version": new, "rows": [], "evaluations": 0,
        "now_below_mark": 0, "fell_by_indicator": {}}


MiB = 2**20


def test_evidence_up_to_its_limit_passes_end_to_end(as_user, own_factory):  # type: ignore[no-untyped-def]
    """Issue 9 §3: the evaluation allows 10 MiB per file but the gateway cut every body at 5 MiB.
    Now one figure, applied per route; every upload keeps its own name and uploader."""
    ent = as_user("factory", "en")
    evaluation = ent.post(f"{T}/evaluations", json={
        "unit_id": own_factory["id"], "scheme_id": "gbt36132-2025", "scheme_version": 1}).json()
    path = f"{T}/evaluations/{evaluation['id']}"

    def upload(size: int, name: str = "能耗统计.pdf"):  # type: ignore[no-untyped-def]
        return ent.post(f"{path}/evidence", data={"indicator_id": "energy_per_output"},
                        files={"file": (name, PDF + b"0" * (size - len(PDF)), "application/pdf")})

    for size in (6 * MiB, 10 * MiB):
        r = upload(size, f"{size}.pdf")
        assert r.status_code == 201, r.text[:300]
        assert (r.json()["size"], r.json()["filename"]) == (str(size), f"{size}.pdf")
    over = upload(11 * MiB)
    assert over.status_code == 413
    assert over.json()["error"]["code"] == "request.evidence_too_large"
    assert over.json()["error"]["params"] == {"max": 10 * MiB}
    assert "10 MiB" in over.json()["error"]["message"]
    just_over = upload(10 * MiB + 1)  # inside the framing allowance: the service's own rule
    assert just_over.status_code == 413
    assert just_over.json()["error"]["code"] == "evidence.too_large"
    # every other route keeps the general limit (5 MiB)
    big = ent.patch(f"{path}/values", json={"values": [
        {"indicator_id": "energy_per_output", "amount": "1", "unit": "x" * (6 * MiB)}]})
    assert big.status_code == 413 and big.json()["error"]["code"] == "request.too_large"
    # the same bytes under a second name: its own upload, uploader and time
    first = upload(len(PDF), "a.pdf").json()
    second = upload(len(PDF), "b.pdf").json()
    assert (first["filename"], second["filename"]) == ("a.pdf", "b.pdf")
    assert first["sha256"] == second["sha256"] and first["uploaded_by"] and first["uploaded_at"]
    assert upload(len(PDF), "a.pdf").json() == first  # a retry: the same upload
    listed = ent.get(path).json()["evidence"]
    assert sorted(e["filename"] for e in listed) == ["10485760.pdf", "6291456.pdf", "a.pdf",
                                                     "b.pdf"]
    assert all(e["uploaded_by"] == first["uploaded_by"] for e in listed)
