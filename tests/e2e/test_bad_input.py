"""Bad input gets a clear error in the caller's language, and nothing is half-written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import factory

pytestmark = pytest.mark.stack
T = "/api/v1/tenants/320000"


def test_malformed_json(as_user):  # type: ignore[no-untyped-def]
    r = as_user("jiangsu").post(f"{T}/units", content=b'{"kind": "factory",',
                                headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"] == {"code": "request.malformed_json", "message": "请求体不是有效的 JSON",
                                 "params": {}}


def test_wrong_types_name_the_fields(as_user):  # type: ignore[no-untyped-def]
    r = as_user("jiangsu", "en").post(f"{T}/units", json={"kind": "mine", "uscc": 42,
                                                          "name": ["x"], "location": "320102"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "request.invalid"
    assert {"kind", "uscc", "name"} <= {p["field"] for p in error["params"]["problems"]}
    assert error["message"].startswith("Invalid request fields")


def test_unknown_tenant_and_unknown_route(as_user):  # type: ignore[no-untyped-def]
    r = as_user("ministry").get("/api/v1/tenants/999999/units")
    assert r.status_code == 404 and r.json()["error"]["code"] == "tenant.unknown"
    assert as_user("ministry").get("/api/v1/nothing").json()["error"]["code"] == "request.no_route"


def test_oversize_body_is_refused_before_it_is_read(as_user, stack):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    big = b"kind,uscc,name,location\n" + b"factory,x,y,320102\n" * 400_000  # ~8 MB > 5 MB
    r = js.post(f"{T}/units/import", files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request.too_large"

    def chunks():  # no Content-Length: the limit must hold for a streamed body too
        for _ in range(120):
            yield b"x" * 65536

    r = js.post(f"{T}/units", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_bad_csv_file_refused_whole_and_nothing_written(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    body = factory()
    missing = f"kind,uscc,name\nfactory,{body['uscc']},{body['name']}\n".encode()
    r = js.post(f"{T}/units/import", files={"file": ("u.csv", missing, "text/csv")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "import.columns_missing"
    assert "location" in r.json()["error"]["message"]
    not_a_sheet = js.post(f"{T}/units/import", files={"file": ("u.xlsx", b"PK\x03\x04junk", "x")})
    assert not_a_sheet.json()["error"]["code"] == "import.xlsx_malformed"
    wrong_ext = js.post(f"{T}/units/import", files={"file": ("u.txt", b"a,b", "text/plain")})
    assert wrong_ext.json()["error"]["code"] == "request.file_format"
    assert js.get(f"{T}/units", params={"uscc": body["uscc"]}).json().get("units", []) == []


def test_gbk_csv_from_excel_is_read(as_user):  # type: ignore[no-untyped-def]
    body = factory()
    text = f"kind,uscc,name,location,industry\nfactory,{body['uscc']},{body['name']},320102,3311\n"
    r = as_user("jiangsu").post(f"{T}/units/import",
                                files={"file": ("u.csv", text.encode("gb18030"), "text/csv")})
    assert r.json()["accepted"] == 1
    assert as_user("jiangsu").get(f"{T}/units", params={"uscc": body["uscc"]}).json()["units"][0]["name"] == body["name"]


def test_login_errors_do_not_tell_which_part_was_wrong(stack):  # type: ignore[no-untyped-def]
    import httpx

    url = f"{stack.gateway_url}/api/v1/auth/login"
    a = httpx.post(url, json={"username": "jiangsu", "password": "wrong-1"})
    b = httpx.post(url, json={"username": "nobody-here", "password": "wrong-1"},
                   headers={"Accept-Language": "en"})
    assert a.status_code == b.status_code == 401
    assert a.json()["error"]["message"] == "用户名或密码错误"
    assert b.json()["error"]["message"] == "Wrong username or password"
    expired = httpx.get(f"{stack.gateway_url}/api/v1/me", headers={"Authorization": "Bearer abc.def.ghi"})
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "auth.token_invalid"


# --- no 5xx from any input: NUL characters and integers out of range (issue 8, item 2) ------------
# On today's main each of these was a 500 on PostgreSQL (a NUL cannot be stored; an integer past
# int32 cannot be put in the proto request; year 10000 has no due day), and SQLite stored the NUL.

NUL = "a\u0000b"


def _nul(r, field: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "text.nul"
    assert r.json()["error"]["params"] == {"field": field}


def test_a_nul_in_any_text_is_422_at_the_gateway(as_user, stack):  # type: ignore[no-untyped-def]
    import httpx

    js = as_user("jiangsu", "en")
    _nul(js.post(f"{T}/units", json=factory(name=NUL)), "name")
    unit = js.post(f"{T}/units", json=factory()).json()["unit"]
    _nul(js.post(f"{T}/units/{unit['id']}/rename", json={"new_name": NUL}), "new_name")
    _nul(js.post(f"{T}/units/{unit['id']}/compliance", json={
        "kind": "tax_violation", "occurred_on": "2025-01-02", "description": NUL}), "description")
    r = js.get(f"{T}/units", params={"q": NUL})
    _nul(r, "q")
    assert "NUL" in r.json()["error"]["message"]
    url = stack.gateway_url
    _nul(httpx.post(f"{url}/api/v1/auth/login", json={"username": NUL, "password": "x"}), "username")
    _nul(httpx.post(f"{url}/api/v1/auth/login", json={"username": "jiangsu", "password": NUL}),
         "password")
    _nul(httpx.post(f"{url}/api/v1/signup", json={
        "username": "nul-display", "display_name": NUL, "password": "abcdefgh1", "tenant": "320000",
        "uscc": "91320100MA1N2P3Q43"}), "display_name")
    names = [u["name"] for u in js.get(f"{T}/units", params={"page_size": 200}).json()["units"]]
    assert not any("\u0000" in n for n in names)


def test_integers_out_of_range_are_422_naming_the_field(as_user):  # type: ignore[no-untyped-def]
    ministry, js = as_user("ministry", "en"), as_user("jiangsu")
    inst = as_user("institution")
    cases = [
        (js.get(f"{T}/engagements", params={"year": 4164622746}), "year"),
        (ministry.get("/api/v1/tenants/000000/work-reports", params={"year": 10000}), "year"),
        (as_user("factory").post(f"{T}/evaluations", json={
            "unit_id": "x", "scheme_id": "gbt36132-2025", "scheme_version": 4294967296}),
         "scheme_version"),
        (inst.post("/api/v1/tenants/000000/institutions/91110108MA01XYA126/work-reports",
                   json={"year": 4294967296, "summary": "s", "projects": 1}), "year"),
        (inst.put("/api/v1/tenants/000000/institutions/91110108MA01XYA126", json={
            "name": "n", "legal_representative": "r", "scope_categories": ["factory"],
            "experience": [{"year": 4294967296, "description": "d"}]}), "experience.0.year"),
    ]
    for r, field in cases:
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "request.invalid", error
        assert field in [p["field"] for p in error["params"]["problems"]]
        assert field in error["message"]
    assert "at most 2199" in cases[1][0].json()["error"]["message"]
    assert "不能大于" in cases[0][0].json()["error"]["message"]


def test_the_services_refuse_them_too(stack):  # type: ignore[no-untyped-def]
    """Straight to the services with a forged token: the same refusals, whoever calls."""
    import grpc

    from generated.evaluation.v1 import evaluation_pb2 as epb
    from generated.evaluation.v1.evaluation_pb2_grpc import EvaluationStub
    from generated.institutions.v1 import institutions_pb2 as ipb
    from generated.institutions.v1.institutions_pb2_grpc import InstitutionsStub
    from generated.registry.v1 import registry_pb2 as pb
    from services.kernel.identity import Grant
    from tests.helpers import Registry, error_code, register_pb, token

    province = (Grant("province", "320000"),)
    registry = Registry(stack)
    try:
        for method, request, field in (
                ("RegisterUnit", register_pb(name=NUL), "name"),
                ("FindUnits", pb.FindUnitsRequest(name_contains=NUL), "name_contains"),
                ("RenameUnit", pb.RenameUnitRequest(unit_id="x", new_name=NUL), "new_name"),
                ("AddComplianceRecord", pb.AddComplianceRecordRequest(
                    unit_id="x", kind="tax_violation", occurred_on="2025-01-02",
                    description=NUL), "description")):
            with pytest.raises(grpc.RpcError) as err:
                registry.call(method, request, tenant="320000", grants=province, lang="en")
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, method
            assert error_code(err.value) == "text.nul" and field in err.value.details()
    finally:
        registry.close()

    def refused(stub_class, service: str, method: str, request, grants, tenant: str) -> str:  # type: ignore[no-untyped-def]
        with grpc.insecure_channel(stack.addr(service)) as channel:
            md = [("x-gl-tenant", tenant), ("accept-language", "en"),
                  ("x-gl-token", token(stack, *grants))]
            with pytest.raises(grpc.RpcError) as err:
                answer = getattr(stub_class(channel), method)(request, metadata=md, timeout=20)
                if isinstance(answer, Iterator):  # a server stream: refused on reading, no row
                    assert list(answer) == []
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (method, err.value.details())
        return f"{error_code(err.value)} {err.value.details()}"

    ministry = (Grant("ministry", "000000"),)
    assert refused(InstitutionsStub, "institutions", "ListWorkReports",
                   ipb.ListWorkReportsRequest(year=10000), ministry, "000000").startswith(
        "number.out_of_range year")
    assert refused(InstitutionsStub, "institutions", "ListEngagements",
                   ipb.ListEngagementsRequest(year=2**31 - 1), province, "320000").startswith(
        "number.out_of_range")
    assert refused(InstitutionsStub, "institutions", "CapUsage",
                   ipb.CapUsageRequest(uscc="x", year=-5), province, "320000").startswith(
        "number.out_of_range")
    enterprise = (Grant("enterprise", "320000", org="91320100MA1N2P3Q43"),)
    assert "to_version" in refused(
        EvaluationStub, "evaluation", "Rescore",
        epb.RescoreRequest(scheme_id="gbt36132-2025", to_version=-1), province, "320000")
    assert "text.nul" in refused(
        EvaluationStub, "evaluation", "CreateEvaluation",
        epb.CreateEvaluationRequest(unit_id=NUL, scheme_id="gbt36132-2025"), enterprise, "320000")


def test_an_import_answers_every_row_and_writes_nothing_of_a_refused_one(as_user):  # type: ignore[no-untyped-def]
    """Issue 8, item 3: good / NUL / good — on PostgreSQL today's main answered 500 with row 1
    committed and row 3 never processed."""
    js = as_user("jiangsu", "en")
    one, two, three = factory(), factory(), factory()
    csv = (f"kind,uscc,name,location,industry\nfactory,{one['uscc']},{one['name']},320102,3311\n"
           f"factory,{two['uscc']},坏\u0000名,320102,3311\n"
           f"factory,{three['uscc']},{three['name']},320102,3311\n").encode()
    r = js.post(f"{T}/units/import", files={"file": ("u.csv", csv, "text/csv")})
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert [(x["row"], x["accepted"], x.get("code", "")) for x in rows] == [
        (1, True, ""), (2, False, "text.nul"), (3, True, "")]
    assert js.get(f"{T}/units", params={"uscc": two["uscc"]}).json().get("units", []) == []
    assert len(js.get(f"{T}/units", params={"uscc": three["uscc"]}).json()["units"]) == 1
    credit = (f"uscc,kind,occurred_on,description\n{one['uscc']},tax_violation,2025-01-02,\n"
              f"{three['uscc']},tax_violation,2025-01-03,x\u0000y\n"
              f"{three['uscc']},tax_violation,2025-01-04,\n").encode()
    r = js.post(f"{T}/compliance/import", files={"file": ("c.csv", credit, "text/csv")})
    assert r.status_code == 200, r.text
    assert [(x["accepted"], x.get("code", "")) for x in r.json()["rows"]] == [
        (True, ""), (False, "text.nul"), (True, "")]
    unit3 = js.get(f"{T}/units", params={"uscc": three["uscc"]}).json()["units"][0]
    records = js.get(f"{T}/units/{unit3['id']}/compliance").json()["records"]
    assert [x["occurred_on"] for x in records] == ["2025-01-04"]
