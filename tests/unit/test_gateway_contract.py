"""The gateway's answers match its OpenAPI document, route by route.

Routes answer with pre-serialised JSON (FastAPI does not validate it per request), so this test
is what keeps the document honest: a representative request to every route, through the real
app, its dependencies, its account store and its service clients, with the services replaced by
a fake gRPC channel answering each method with its declared output message — once with every
field set and once with none (proto defaults; ``optional`` and message fields unset, so left out
of the JSON). Each answer is checked against the schema ``/openapi.json`` declares for its status.
It also checks each route calls the service method it should, with the caller's metadata.
"""

from __future__ import annotations

import json
from typing import Any

import grpc
import httpx
import pytest

from tests.contract import conforms, declared, schema_errors
from tests.unit.gateway_fakes import Gateway, Refusal, build

T = "/api/v1/tenants/{tenant}"
CSV = {"file": ("rows.csv", b"uscc,name\n", "text/csv")}
Case = tuple[str, str, dict[str, Any], str]  # method, path template, request, the RPC it makes

ROUTES: list[Case] = [
    # registry
    ("POST", f"{T}/units", {"json": {"kind": "factory", "uscc": "91320100MA1N2P3Q43",
                                     "name": "某厂", "location": "320102",
                                     "industrial_value_added_share": 40}}, "RegisterUnit"),
    ("GET", f"{T}/units", {"params": {"kind": "park", "q": "园"}}, "FindUnits"),
    ("POST", f"{T}/units/import", {"files": CSV}, "ImportUnits"),
    ("GET", f"{T}/units/{{unit_id}}", {}, "GetUnit"),
    ("GET", f"{T}/units/{{unit_id}}/history", {}, "UnitHistory"),
    ("POST", f"{T}/units/{{unit_id}}/rename", {"json": {"new_name": "新名"}}, "RenameUnit"),
    ("POST", f"{T}/units/{{unit_id}}/relocate", {"json": {"new_location": "320104"}},
     "RelocateUnit"),
    ("PUT", f"{T}/units/{{unit_id}}/ownership",
     {"json": {"legal_representative": "张三", "legal_rep_id": "320102197503150011"}},
     "SetOwnership"),
    ("POST", f"{T}/units/{{unit_id}}/merge", {"json": {"into_id": "u-2"}}, "MergeUnits"),
    ("PUT", f"{T}/units/{{unit_id}}/members", {"json": {"member_ids": ["u-2"]}}, "SetParkMembers"),
    ("GET", f"{T}/units/{{unit_id}}/members", {}, "GetParkMembers"),
    ("PUT", f"{T}/units/{{unit_id}}/suppliers",
     {"json": {"suppliers": [{"uscc": "x", "name": "供应商", "tenant": "330000"}]}}, "SetSuppliers"),
    ("GET", f"{T}/units/{{unit_id}}/suppliers", {}, "GetSuppliers"),
    ("POST", f"{T}/units/{{unit_id}}/plans",
     {"json": {"year": 2025, "entries": [{"uscc": "x", "name": "企业"}]}}, "PublishPlan"),
    ("GET", f"{T}/units/{{unit_id}}/plans", {}, "ListPlans"),
    ("GET", f"{T}/plans/{{plan_id}}", {}, "GetPlan"),
    ("POST", f"{T}/targets", {"json": {"unit_id": "u-1", "category": "factory"}},
     "DesignateTarget"),
    ("GET", f"{T}/targets", {"params": {"include_expired": "true"}}, "ListTargets"),
    ("POST", f"{T}/units/{{unit_id}}/compliance",
     {"json": {"kind": "penalty", "occurred_on": "2025-01-02"}}, "AddComplianceRecord"),
    ("POST", f"{T}/units/{{unit_id}}/compliance/{{record_id}}/end",
     {"json": {"ended_on": "2025-02-01"}}, "EndComplianceRecord"),
    ("GET", f"{T}/units/{{unit_id}}/compliance", {}, "ListComplianceRecords"),
    ("POST", f"{T}/compliance/import", {"files": CSV}, "ImportComplianceRecords"),
    ("GET", f"{T}/units/{{unit_id}}/veto", {"params": {"on": "2025-10-11"}}, "CheckVeto"),
    ("GET", f"{T}/audit/{{service}}", {}, "VerifyChain"),
    # evaluation
    ("GET", f"{T}/schemes", {}, "ListSchemes"),
    ("POST", f"{T}/evaluations", {"json": {"unit_id": "u-1", "scheme_id": "s"}},
     "CreateEvaluation"),
    ("GET", f"{T}/evaluations", {"params": {"unit_id": "u-1"}}, "ListEvaluations"),
    ("GET", f"{T}/evaluations/{{evaluation_id}}", {}, "GetEvaluation"),
    ("PATCH", f"{T}/evaluations/{{evaluation_id}}/values",
     {"json": {"values": [{"indicator_id": "i", "amount": "1.5", "met": True}],
               "basic": {"b1": True}}}, "SetValues"),
    ("POST", f"{T}/evaluations/{{evaluation_id}}/evidence",
     {"data": {"indicator_id": "i"}, "files": {"file": ("a.pdf", b"%PDF", "application/pdf")}},
     "AddEvidence"),
    ("GET", f"{T}/evaluations/{{evaluation_id}}/score", {}, "PreviewScore"),
    ("POST", f"{T}/evaluations/{{evaluation_id}}/submit", {"json": {"pledge": True}},
     "SubmitEvaluation"),
    ("POST", f"{T}/schemes/{{scheme_id}}/rescore", {"json": {"to_version": 2}}, "Rescore"),
    # institutions
    ("PUT", f"{T}/institutions/{{uscc}}",
     {"json": {"name": "评价机构", "legal_representative": "李四", "scope_categories": ["factory"],
               "staff": [{"name": "王五", "title": "senior", "full_time": True}],
               "experience": [{"year": 2024, "description": "评价"}]}}, "RegisterInstitution"),
    ("POST", f"{T}/institutions/{{uscc}}/verify", {}, "VerifyInstitution"),
    ("GET", f"{T}/institutions", {}, "ListInstitutions"),
    ("GET", f"{T}/institutions/{{uscc}}", {}, "GetInstitution"),
    ("POST", f"{T}/institutions/{{uscc}}/filing", {"json": {}}, "FileInstitution"),
    ("POST", f"{T}/institutions/{{uscc}}/filing/revoke", {"json": {"reason": "r"}},
     "RevokeFiling"),
    ("GET", f"{T}/institutions/{{uscc}}/cap", {"params": {"year": 2025}}, "CapUsage"),
    ("POST", f"{T}/institutions/{{uscc}}/work-reports",
     {"json": {"year": 2025, "summary": "s", "projects": 3, "content": {"a": 1}}},
     "SubmitWorkReport"),
    ("GET", f"{T}/work-reports", {"params": {"year": 2025}}, "ListWorkReports"),
    ("POST", f"{T}/institutions/{{uscc}}/sanctions",
     {"json": {"kind": "warning", "reason": "r", "decision": "工信部 2025-1"}}, "Sanction"),
    ("POST", f"{T}/engagements", {"json": {"unit_id": "u-1", "institution_uscc": "x"}}, "Engage"),
    ("GET", f"{T}/engagements", {}, "ListEngagements"),
    ("GET", f"{T}/engagements/{{engagement_id}}", {}, "GetEngagement"),
    ("POST", f"{T}/engagements/{{engagement_id}}/cancel", {"json": {}}, "CancelEngagement"),
    ("GET", "/api/v1/public/institutions", {"params": {"province": "320000"}}, "Directory"),
    ("GET", "/api/v1/public/institutions/{uscc}/track-record", {}, "TrackRecord"),
    ("GET", "/api/v1/public/report-keys", {}, "ListReportKeys"),
    ("POST", "/api/v1/public/reports/verify",
     {"files": {"file": ("report.pdf", b"%PDF-1.7", "application/pdf")}}, "VerifyReport"),
]
# Exercised by the tests below rather than by the table.
REPORT = ("GET", f"{T}/evaluations/{{evaluation_id}}/report")
ACCOUNTS = {
    ("POST", "/api/v1/auth/login"), ("GET", "/api/v1/me"), ("POST", "/api/v1/signup"),
    ("POST", "/api/v1/accounts"), ("GET", "/api/v1/accounts"), ("GET", "/api/v1/accounts/audit"),
    ("POST", "/api/v1/accounts/{account_id}/verify"),
    ("POST", "/api/v1/accounts/{account_id}/password-reset"),
    ("POST", "/api/v1/accounts/{account_id}/status"),
    ("POST", "/api/v1/accounts/{account_id}/api-keys"),
    ("DELETE", "/api/v1/accounts/{account_id}/api-keys/{key_id}"),
    # a person's own account: tests/e2e/test_account_selfservice.py
    ("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/auth/password"),
    ("PUT", "/api/v1/me/email"), ("POST", "/api/v1/auth/password-reset"),
    ("POST", "/api/v1/auth/password-reset/confirm"),
}
OTHERS = {
    ("GET", "/api/v1/public/tenants"), ("GET", "/api/v1/public/tenants/{tenant}/cities"),
    ("GET", "/api/v1/public/keys"), ("GET", "/api/v1/national/views/units"),
    ("GET", f"{T}/views/units"), ("GET", "/api/v1/public/compliance-kinds"),
}
PARAMS = {"tenant": "320000", "unit_id": "u-1", "plan_id": "p-1", "record_id": "r-1",
          "service": "registry", "evaluation_id": "e-1", "scheme_id": "s", "uscc": "x",
          "engagement_id": "g-1", "account_id": "a-1", "key_id": "k-1"}


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    return build(tmp_path_factory.mktemp("gateway"))


@pytest.fixture(scope="module")
def spec(gw: Gateway) -> dict[str, Any]:
    return gw.http.get("/openapi.json").json()


@pytest.fixture(scope="module")
def province(gw: Gateway) -> dict[str, str]:
    return gw.headers("jiangsu")


def test_every_documented_route_is_exercised_here(spec: dict[str, Any]) -> None:
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    covered = {(m, p) for m, p, _, _ in ROUTES} | {REPORT} | ACCOUNTS | OTHERS
    assert documented == covered, (documented - covered, covered - documented)


def test_every_json_route_declares_its_answer(spec: dict[str, Any]) -> None:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            ok = {s: a for s, a in op["responses"].items() if s.startswith("2")}
            assert ok, f"{method} {path}: no success answer documented"
            for status, answer in ok.items():
                if status == "204" or (method.upper(), path) == REPORT:
                    continue
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                assert schema and schema != {}, f"{method} {path} {status}: answer undocumented"
            assert "ErrorBody" in json.dumps(op["responses"].get("403", {})) or \
                path.startswith("/api/v1/public") or (method.upper(), path) in ACCOUNTS, path


@pytest.mark.parametrize("full", [True, False], ids=["every-field", "defaults"])
@pytest.mark.parametrize("case", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_a_route_answers_as_documented(gw: Gateway, spec: dict[str, Any],
                                       province: dict[str, str], case: Case, full: bool) -> None:
    method, template, request, rpc_method = case
    gw.answer(full=full)
    before = len(gw.sent)
    headers = {} if template.startswith("/api/v1/public") else province
    r = gw.http.request(method, template.format(**PARAMS), headers=headers, **request)
    assert r.status_code < 300, r.text
    conforms(spec, method, template, r)
    (sent,) = gw.sent[before:]
    assert sent.path.endswith(f"/{rpc_method}")
    expected_tenant = "000000" if template.startswith("/api/v1/public") else "320000"
    assert sent.metadata["x-gl-tenant"] == expected_tenant
    assert sent.metadata["x-gl-token"] and sent.metadata["accept-language"] == "zh"


def test_register_answers_201_when_created_and_200_when_already_there(
        gw: Gateway, spec: dict[str, Any], province: dict[str, str]) -> None:
    body = {"kind": "factory", "uscc": "x", "name": "n", "location": "320102"}
    for full, status in ((True, 201), (False, 200)):
        gw.answer(full=full)
        r = gw.http.post("/api/v1/tenants/320000/units", headers=province, json=body)
        assert r.status_code == status
        assert conforms(spec, "POST", f"{T}/units", r)["created"] is full


def test_json_is_the_message_as_message_to_dict_renders_it(
        gw: Gateway, province: dict[str, str]) -> None:
    gw.answer(full=True)
    unit = gw.http.get("/api/v1/tenants/320000/units/u-1", headers=province).json()
    assert unit["industrial_value_added_share"] == 12.5 and unit["version"] == 7
    gw.answer(full=False)
    unit = gw.http.get("/api/v1/tenants/320000/units/u-1", headers=province).json()
    assert "industrial_value_added_share" not in unit  # proto3 optional, unset: left out
    assert unit["name"] == "" and unit["version"] == 0  # no presence: printed as default
    evaluation = gw.http.get("/api/v1/tenants/320000/evaluations/e-1", headers=province).json()
    assert evaluation["values"] is None and "values_json" not in evaluation


def test_imports_get_the_long_timeout_and_the_file_format(gw: Gateway,
                                                          province: dict[str, str]) -> None:
    gw.answer(full=True)
    before = len(gw.sent)
    r = gw.http.post("/api/v1/tenants/320000/units/import", headers=province,
                     files={"file": ("rows.xlsx", b"PK", "application/octet-stream")})
    assert r.status_code == 200
    (sent,) = gw.sent[before:]
    assert sent.timeout == 600.0 and sent.request.format == "xlsx"  # type: ignore[attr-defined]
    r = gw.http.post("/api/v1/tenants/320000/compliance/import", headers=province,
                     files={"file": ("rows.txt", b"x", "text/plain")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "request.file_format"


def test_the_report_is_passed_through_with_its_hash(gw: Gateway, province: dict[str, str]) -> None:
    gw.answer(full=True)
    r = gw.http.get("/api/v1/tenants/320000/evaluations/e-1/report", headers=province,
                    params={"format": "pdf"})
    assert r.status_code == 200 and r.content == b"\x00bytes"
    assert r.headers["x-content-hash"] == "content_hash-1"
    assert (r.headers["x-report-key-id"], r.headers["x-report-signature"]) == (
        "key_id-1", "signature-1")


def test_refusals_have_the_documented_error_shape(gw: Gateway, spec: dict[str, Any],
                                                  province: dict[str, str]) -> None:
    path = f"{T}/units/{{unit_id}}"
    gw.answer(refuse=Refusal(grpc.StatusCode.NOT_FOUND, "unit.not_found", "没有这个单位",
                             {"unit_id": "u-9"}))
    try:
        r = gw.http.get("/api/v1/tenants/320000/units/u-9", headers=province)
    finally:
        gw.answer(full=True)
    assert r.status_code == 404
    assert conforms(spec, "GET", path, r) == {"error": {
        "code": "unit.not_found", "message": "没有这个单位", "params": {"unit_id": "u-9"}}}
    r = gw.http.get("/api/v1/tenants/320000/units/u-9")
    assert r.status_code == 401
    assert conforms(spec, "GET", path, r)["error"]["code"] == "auth.required"
    r = gw.http.get("/api/v1/tenants/330000/units/u-9", headers=province)
    assert r.status_code == 403
    assert conforms(spec, "GET", path, r)["error"]["code"] == "auth.wrong_tenant"
    r = gw.http.post("/api/v1/tenants/320000/units", headers=province, json={"kind": "mine"})
    assert r.status_code == 422
    assert conforms(spec, "POST", f"{T}/units", r)["error"]["params"]["problems"]


def test_accounts_answer_as_documented(gw: Gateway, spec: dict[str, Any]) -> None:
    def check(method: str, template: str, r: httpx.Response, status: int = 200) -> Any:
        assert r.status_code == status, r.text
        return conforms(spec, method, template, r)

    r = gw.http.post("/api/v1/auth/login",
                     json={"username": "jiangsu", "password": "demo-province-1"})
    js = {"Authorization": f"Bearer {check('POST', '/api/v1/auth/login', r)['access_token']}"}
    check("GET", "/api/v1/me", gw.http.get("/api/v1/me", headers=js))
    r = gw.http.post("/api/v1/signup", json={
        "username": "ent-contract", "display_name": "某公司", "password": "factory-pass-1",
        "tenant": "320000", "uscc": "91320100MA1N2P3Q43", "location": "320102"})
    enterprise = check("POST", "/api/v1/signup", r, 201)["id"]
    r = gw.http.post("/api/v1/accounts", headers=js, json={
        "username": "wuxi-contract",
        "grants": [{"role": "city", "tenant": "320000", "city": "320200"}]})
    city = check("POST", "/api/v1/accounts", r, 201)
    assert city["initial_password"]
    r = gw.http.post("/api/v1/accounts", headers=js, json={
        "username": "xuzhou-contract", "password": "xuzhou-pass-1",
        "grants": [{"role": "city", "tenant": "320000", "city": "320300"}]})
    assert "initial_password" not in check("POST", "/api/v1/accounts", r, 201)
    listed = check("GET", "/api/v1/accounts", gw.http.get("/api/v1/accounts", headers=js))
    assert {"wuxi-contract", "ent-contract"} <= {a["username"] for a in listed}
    check("POST", "/api/v1/accounts/{account_id}/verify",
          gw.http.post(f"/api/v1/accounts/{enterprise}/verify", headers=js))
    check("POST", "/api/v1/accounts/{account_id}/password-reset",
          gw.http.post(f"/api/v1/accounts/{city['id']}/password-reset", headers=js))
    check("POST", "/api/v1/accounts/{account_id}/status",
          gw.http.post(f"/api/v1/accounts/{city['id']}/status", headers=js,
                       json={"status": "disabled"}))
    trail = check("GET", "/api/v1/accounts/audit",
                  gw.http.get("/api/v1/accounts/audit", headers=js,
                              params={"account_id": city["id"]}))
    assert [e["action"] for e in trail][:2] == ["account.disabled", "account.password_reset"]
    password = (gw.app.state.settings.var_dir / "operator-password").read_text().strip()
    op = {"Authorization": f"Bearer {gw.token('operator', password)}"}
    check("GET", "/api/v1/accounts/audit", gw.http.get("/api/v1/accounts/audit", headers=op))
    r = gw.http.post("/api/v1/accounts", headers=op, json={
        "username": "bank-contract", "machine": True,
        "grants": [{"role": "partner", "tenant": "000000"}]})
    machine = check("POST", "/api/v1/accounts", r, 201)["id"]
    r = gw.http.post(f"/api/v1/accounts/{machine}/api-keys", headers=op, json={"label": "bank"})
    key = check("POST", "/api/v1/accounts/{account_id}/api-keys", r, 201)["api_key"]
    me = check("GET", "/api/v1/me", gw.http.get("/api/v1/me", headers={"X-API-Key": key}))
    assert me["grants"][0]["role"] == "partner"
    r = gw.http.delete(f"/api/v1/accounts/{machine}/api-keys/{key.split('_')[1]}", headers=op)
    assert r.status_code == 204 and r.content == b""
    r = gw.http.get("/api/v1/me", headers={"X-API-Key": key})
    assert check("GET", "/api/v1/me", r, 401)["error"]["code"] == "auth.api_key_invalid"


def test_public_data_and_views_answer_as_documented(gw: Gateway, spec: dict[str, Any],
                                                    province: dict[str, str]) -> None:
    def check(template: str, url: str, **kw: Any) -> Any:
        r = gw.http.get(url, **kw)
        assert r.status_code == 200, r.text
        return conforms(spec, "GET", template, r)

    assert len(check("/api/v1/public/tenants", "/api/v1/public/tenants")) == 38
    check("/api/v1/public/tenants/{tenant}/cities", "/api/v1/public/tenants/320000/cities")
    assert check("/api/v1/public/keys", "/api/v1/public/keys")["issuer"] == "gateway"
    kinds = {k["kind"]: k for k in check("/api/v1/public/compliance-kinds",
                                          "/api/v1/public/compliance-kinds")}
    assert kinds["environmental_accident"]["condition"] == 2
    assert kinds["production_stopped"]["min_months"] == 12
    ministry = gw.headers("ministry")
    for by in ("tenant", "kind", "city", "industry"):
        rows = check("/api/v1/national/views/units", "/api/v1/national/views/units",
                     headers=ministry, params={"by": by})
        assert rows and all(by in row for row in rows)
    rows = check(f"{T}/views/units", "/api/v1/tenants/320000/views/units", headers=province)
    assert {r["city"] for r in rows} == {"320100", "320500"}


def test_the_checker_catches_drift(gw: Gateway, spec: dict[str, Any],
                                   province: dict[str, str]) -> None:
    gw.answer(full=True)
    unit = gw.http.get("/api/v1/tenants/320000/units/u-1", headers=province).json()
    schema = declared(spec, "GET", f"{T}/units/{{unit_id}}", 200)
    assert schema is not None and schema_errors(unit, schema, spec) == []
    missing = {k: v for k, v in unit.items() if k != "name"}
    for drifted in ({**unit, "surprise": 1}, {**unit, "version": "7"}, missing,
                    {**unit, "industrial_value_added_share": None}):
        assert schema_errors(drifted, schema, spec), drifted
