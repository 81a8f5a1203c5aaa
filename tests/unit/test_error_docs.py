"""Every operation documents the error codes it can answer (issue 10 §2), per HTTP status, as
an ``enum`` of ``error.code`` and as a list with each code's message in the description
(``gateway.routes._common.errors``). Whether the lists are complete is kept true by the stack
tests: ``tests.helpers.check_documented`` fails any e2e test that receives an undocumented code.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.errors import message_texts
from gateway.routes._common import AUTH, documented_codes, errors

T = "/api/v1/tenants/{tenant}"


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app()


@pytest.fixture(scope="module")
def spec(app: Any) -> dict[str, Any]:
    return TestClient(app).get("/openapi.json").json()  # no lifespan: the document is static


def _routes(app: Any) -> list[APIRoute]:
    return [r for r in app.routes if isinstance(r, APIRoute) and r.include_in_schema]


def test_every_route_declares_its_codes(app: Any) -> None:
    """No route is left with a generic error list: each error status it documents names its
    codes, and it documents at least what every route answers (a refused field)."""
    undeclared = []
    for route in _routes(app):
        declared = documented_codes(route.responses)
        generic = [s for s in route.responses if str(s).isdigit() and int(s) >= 400
                   and int(s) not in declared]
        if "request.invalid" not in declared.get(422, []) or generic:
            undeclared.append(f"{sorted(route.methods)} {route.path} {generic}")
    assert not undeclared, f"declare them with errors(...): {undeclared}"


def test_every_declared_code_has_a_message_in_both_languages(app: Any) -> None:
    missing = {code for route in _routes(app)
               for codes in documented_codes(route.responses).values() for code in codes
               if not (texts := message_texts(code)) or not texts["zh"] or not texts["en"]}
    assert not missing, f"no zh/en message in any messages.yaml: {sorted(missing)}"


def test_an_operation_lists_its_codes_per_status(spec: dict[str, Any]) -> None:
    responses = spec["paths"][f"{T}/units/{{unit_id}}"]["get"]["responses"]

    def enum(status: int) -> list[str]:
        schema = responses[str(status)]["content"]["application/json"]["schema"]
        return schema["properties"]["error"]["properties"]["code"]["enum"]

    assert "unit.not_found" in enum(404) and "tenant.unknown" in enum(404)
    assert set(AUTH) <= set(enum(401))
    assert {"auth.wrong_tenant", "auth.not_your_unit"} <= set(enum(403))
    assert {"request.invalid", "text.nul"} <= set(enum(422))
    assert enum(503) == ["unavailable"]
    assert "409" not in responses and "400" not in responses  # a read of one unit: no body
    assert "request.no_route" in enum(404)  # a unit id holding "/" is no route
    description = responses["404"]["description"]
    assert "`unit.not_found` — Unit {unit_id} not found / 找不到单位 {unit_id}" in description
    # a refusal the service decides, under the status its kind gives it
    merge = spec["paths"][f"{T}/units/{{unit_id}}/merge"]["post"]["responses"]
    merge_409 = merge["409"]["content"]["application/json"]["schema"]
    assert "unit.already_merged" in merge_409["properties"]["error"]["properties"]["code"]["enum"]
    assert "request.malformed_json" in merge["400"]["description"]


def test_the_routes_own_limits_and_callers_shape_the_common_codes(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    evidence = paths[f"{T}/evaluations/{{evaluation_id}}/evidence"]["post"]["responses"]
    assert "`request.evidence_too_large`" in evidence["413"]["description"]
    assert "`request.too_large`" not in evidence["413"]["description"]
    assert "`request.error`" in evidence["400"]["description"]  # a form body
    tenants = paths["/api/v1/public/tenants"]["get"]["responses"]
    assert not {"401", "403", "404", "503"} & tenants.keys()  # open, by the gateway alone
    directory = paths["/api/v1/public/institutions"]["get"]["responses"]
    assert "401" not in directory and "503" in directory  # anyone; asks a service
    login = paths["/api/v1/auth/login"]["post"]["responses"]
    assert "auth.too_many_attempts" in login["429"]["description"]


def test_errors_adds_up_groups_and_the_common_codes() -> None:
    unit = {404: ["unit.not_found"]}
    out = errors(unit, {404: ["plan.not_found"], 409: ["unit.site_taken"]}, caller="user",
                 body="none")
    assert documented_codes(out) == {
        401: sorted(AUTH), 404: ["plan.not_found", "unit.not_found"],
        409: ["unit.site_taken"], 413: ["request.too_large"],
        422: ["request.invalid", "text.nul"]}
    assert documented_codes(errors(caller="open", body="json"))[400] == ["request.malformed_json"]


def test_a_code_without_a_message_is_caught() -> None:
    assert message_texts("unit.not_found") is not None  # a service's catalogue, read as data
    assert message_texts("no.such_code") is None


def test_a_json_body_that_is_not_even_text_is_malformed_json(app: Any) -> None:
    """FastAPI refuses bytes that are not UTF-8 with its own 400 before any route runs: the
    gateway answers it as the documented ``request.malformed_json``, not a generic code."""
    client = TestClient(app)  # no lifespan: the body is refused before any dependency
    r = client.post("/api/v1/auth/login", content=b"\xff\xfe{\x03",
                    headers={"Content-Type": "application/json", "Accept-Language": "en"})
    assert r.status_code == 400
    assert r.json()["error"] == {"code": "request.malformed_json",
                                 "message": "The request body is not valid JSON", "params": {}}
