"""Self-evaluation through the gateway (SPEC §4): values, evidence, automated score, veto, report."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.evaluation.report import verify_hash
from services.evaluation.scoring import Quantity
from tests.helpers import login
from tests.helpers import factory
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
    r = api.post(f"{T}/evaluations", json={"unit_id": unit_id, "scheme_id": "gbt36132-2025"})
    assert r.status_code == 201, r.text
    return r.json()


def test_a_self_evaluation_from_values_to_report(as_user, own_factory):  # type: ignore[no-untyped-def]
    ent = as_user("factory")
    schemes = ent.get(f"{T}/schemes").json()
    assert {("gbt36132-2025", 1), ("gbt36132-2018", 1)} <= {(s["id"], s["version"]) for s in schemes}
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
    """An operator adds version 2 (a stricter pass mark) as a file; the province sees who would
    now fall below the mark, from the data held, without changing anything."""
    shipped = Path("services/evaluation/data/schemes/gbt36132-2025.yaml").read_text("utf-8")
    v2 = shipped.replace("\nversion: 1\n", "\nversion: 2\n", 1).replace(
        "  default: 60 ", "  default: 75 ", 1)
    folder = tmp_path / "schemes"
    folder.mkdir()
    (folder / "gbt36132-2025-v2.yaml").write_text(v2, "utf-8")
    own_stack.env["GL_SCHEMES_DIR"] = str(folder)
    stack = own_stack.start()
    ent, js = login(stack, "factory"), login(stack, "jiangsu")
    unit = ent.post(f"{T}/units", json=factory(uscc="91320100MA1N2P3Q43")).json()["unit"]
    evaluation = ent.post(f"{T}/evaluations", json={
        "unit_id": unit["id"], "scheme_id": "gbt36132-2025", "scheme_version": 1}).json()
    path = f"{T}/evaluations/{evaluation['id']}"
    ent.patch(f"{path}/values", json={"values": _values(), "basic": {
        "lawful_operation": True, "no_major_accident": True, "management_body": True,
        "plan_and_targets": True}})
    assert ent.post(f"{path}/submit", json={"pledge": True}).json()["passed"]
    r = js.post(f"{T}/schemes/gbt36132-2025/rescore", json={"to_version": 2})
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["evaluations"], result["now_below_mark"]) == (1, 1)
    row = result["rows"][0]
    assert (row["old_total"], row["new_total"], row["old_passed"], row["new_passed"]) == (
        "71.22", "71.22", True, False)
    assert ent.get(path).json()["scheme_version"] == 1  # the evaluation stays pinned
    assert ent.post(f"{T}/schemes/gbt36132-2025/rescore", json={"to_version": 2}).status_code == 403
    zj = login(stack, "zhejiang")
    assert zj.post("/api/v1/tenants/330000/schemes/gbt36132-2025/rescore",
                   json={"to_version": 2}).json()["evaluations"] == 0
