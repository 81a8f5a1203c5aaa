"""Real answers of the real services, through the gateway, match the gateway's OpenAPI document.

tests/unit/test_gateway_contract.py checks every route against synthetic service answers; this
walks the common routes with real data (units, plans, compliance, an evaluation with its JSON
fields, the directory, the views) and checks each answer against ``/openapi.json``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.contract import conforms
from tests.helpers import Api, factory, uscc

pytestmark = pytest.mark.stack
T = "/api/v1/tenants/{tenant}"


@pytest.fixture(scope="module")
def spec(stack) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return httpx.get(f"{stack.gateway_url}/openapi.json").json()


@pytest.fixture(scope="module")
def check(spec: dict[str, Any]):  # type: ignore[no-untyped-def]
    def check(api: Api, method: str, template: str, status: int = 200,
              path: dict[str, str] | None = None, **kwargs: Any) -> Any:
        """Call ``template`` (tenant 320000 unless ``path`` says otherwise) and check the answer."""
        url = template.format(**{"tenant": "320000", **(path or {})})
        r = api.request(method, url, **kwargs)
        assert r.status_code == status, f"{method} {url}: {r.status_code} {r.text[:300]}"
        return conforms(spec, method, template, r)

    return check


def test_registry_answers_match_the_document(as_user, check) -> None:  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    unit = check(js, "POST", f"{T}/units", 201, json=factory())["unit"]
    assert check(js, "POST", f"{T}/units", 200, json={**factory(), "uscc": unit["uscc"]})
    park = check(js, "POST", f"{T}/units", 201, json={
        "kind": "park", "uscc": uscc(), "name": "契约测试园区", "location": "320115",
        "park_level": "provincial", "industrial_value_added_share": 42.5})["unit"]
    assert park["industrial_value_added_share"] == 42.5 and "industrial_value_added_share" not in unit
    u, p = {"unit_id": unit["id"]}, {"unit_id": park["id"]}
    check(js, "GET", f"{T}/units", params={"kind": "park"})
    check(js, "GET", f"{T}/units/{{unit_id}}", path=u)
    check(js, "POST", f"{T}/units/{{unit_id}}/rename", path=u, json={"new_name": "契约测试新名"})
    check(js, "GET", f"{T}/units/{{unit_id}}/history", path=u)
    check(js, "PUT", f"{T}/units/{{unit_id}}/members", path=p, json={"member_ids": [unit["id"]]})
    check(js, "GET", f"{T}/units/{{unit_id}}/members", path=p)
    check(js, "GET", f"{T}/units/{{unit_id}}/suppliers", path=p)
    plan = check(js, "POST", f"{T}/units/{{unit_id}}/plans", path=p, json={
        "year": 2026, "entries": [{"uscc": unit["uscc"], "name": unit["name"]}]})
    check(js, "GET", f"{T}/units/{{unit_id}}/plans", path=p)
    check(js, "GET", f"{T}/plans/{{plan_id}}", path={"plan_id": plan["id"]})
    check(js, "POST", f"{T}/targets", 201, json={"unit_id": unit["id"], "category": "factory"})
    check(js, "GET", f"{T}/targets")
    record = check(js, "POST", f"{T}/units/{{unit_id}}/compliance", 201, path=u, json={
        "kind": "abnormal_operations", "occurred_on": "2025-03-01"})
    check(js, "GET", f"{T}/units/{{unit_id}}/veto", path=u)
    check(js, "POST", f"{T}/units/{{unit_id}}/compliance/{{record_id}}/end",
          path={**u, "record_id": record["id"]}, json={"ended_on": "2025-04-01"})
    check(js, "GET", f"{T}/units/{{unit_id}}/compliance", path=u)
    check(js, "POST", f"{T}/units/import",
          files={"file": ("units.csv", "kind,uscc,name,location\nfactory,x,坏行,320102\n".encode(),
                          "text/csv")})
    check(js, "GET", f"{T}/audit/{{service}}", path={"service": "registry"})
    # the refusals have the documented shape too
    check(js, "GET", f"{T}/units/{{unit_id}}", 404, path={"unit_id": "no-such-unit"})
    check(as_user("zhejiang"), "GET", f"{T}/units/{{unit_id}}", 403, path=u)


def test_evaluation_answers_match_the_document(as_user, check) -> None:  # type: ignore[no-untyped-def]
    ent = as_user("factory")
    r = ent.post("/api/v1/tenants/320000/units",
                 json=factory(uscc="91320100MA1N2P3Q43", site="契约测试厂区"))
    assert r.status_code in (200, 201), r.text
    unit = r.json()["unit"]
    schemes = check(ent, "GET", f"{T}/schemes")
    assert all(isinstance(s["definition"], dict) for s in schemes)
    evaluation = check(ent, "POST", f"{T}/evaluations", 201, json={
        "unit_id": unit["id"], "scheme_id": "gbt36132-2025", "scheme_version": 1})
    e = {"evaluation_id": evaluation["id"]}
    check(ent, "PATCH", f"{T}/evaluations/{{evaluation_id}}/values", path=e,
          json={"basic": {"lawful_operation": True}})
    check(ent, "POST", f"{T}/evaluations/{{evaluation_id}}/evidence", 201, path=e,
          data={"indicator_id": "energy_per_output"},
          files={"file": ("能耗.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")})
    preview = check(ent, "GET", f"{T}/evaluations/{{evaluation_id}}/score", path=e)
    assert preview["result"] is not None
    check(ent, "GET", f"{T}/evaluations/{{evaluation_id}}", path=e)
    check(ent, "GET", f"{T}/evaluations", params={"unit_id": unit["id"]})


def test_public_accounts_and_views_match_the_document(stack, as_user, check) -> None:  # type: ignore[no-untyped-def]
    public = Api(stack.gateway_url)
    check(public, "GET", "/api/v1/public/tenants")
    check(public, "GET", "/api/v1/public/tenants/{tenant}/cities")
    check(public, "GET", "/api/v1/public/keys")
    check(public, "GET", "/api/v1/public/institutions")
    check(public, "GET", f"{T}/units", 401)
    check(public, "POST", "/api/v1/auth/login", 401,
          json={"username": "nobody-here", "password": "wrong-pass-1"})
    check(as_user("jiangsu"), "GET", "/api/v1/me")
    check(as_user("jiangsu"), "GET", "/api/v1/accounts")
    check(as_user("jiangsu"), "GET", f"{T}/views/units")
    check(as_user("ministry"), "GET", "/api/v1/national/views/units", params={"by": "kind"})
    check(as_user("ministry"), "GET", "/api/v1/tenants/{tenant}/institutions",
          path={"tenant": "000000"})
