"""The gateway refuses what no service could store or hold, before any service sees it: a NUL
character in any string (path, query, JSON body at any depth, form field, the unauthenticated
login), and integers outside the range the field allows. Each is a 422 naming the field and what
is allowed, in the caller's language. A bug stays a bug: an unexpected exception is a logged 500
with the error shape, never a 4xx.

On today's main each NUL reached the service or the account store (500 on PostgreSQL, stored on
SQLite), and each out-of-range integer made the proto request raise (500)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tests.unit.gateway_fakes import Gateway, build

T = "/api/v1/tenants/320000"
EN = {"Accept-Language": "en"}
INT32_MAX = 2**31 - 1


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    return build(tmp_path_factory.mktemp("gateway-inputs"))


@pytest.fixture(scope="module")
def province(gw: Gateway) -> dict[str, str]:
    return gw.headers("jiangsu")


def _refused_nul(gw: Gateway, r: httpx.Response, field: str, sent_before: int) -> None:
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "text.nul" and error["params"] == {"field": field}
    assert field in error["message"]
    assert len(gw.sent) == sent_before, "a NUL reached a service"


NUL_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", f"{T}/units", {"json": {"kind": "factory", "uscc": "91320100MA1N2P3Q43",
                                     "name": "a\u0000b", "location": "320102"}}, "name"),
    ("POST", f"{T}/units/u-1/rename", {"json": {"new_name": "新\u0000名"}}, "new_name"),
    ("POST", f"{T}/units/u-1/compliance", {"json": {"kind": "abnormal_operation",
                                                    "occurred_on": "2024-01-01",
                                                    "description": "x\u0000"}}, "description"),
    ("GET", f"{T}/units", {"params": {"q": "a\u0000"}}, "q"),
    ("GET", f"{T}/units/u%00x", {}, "unit_id"),
    ("PUT", f"{T}/institutions/x", {"json": {
        "name": "n", "legal_representative": "r", "scope_categories": ["factory"],
        "staff": [{"name": "ok", "title": "senior", "full_time": True},
                  {"name": "b\u0000", "title": "senior", "full_time": True}]}}, "staff.1.name"),
    ("POST", f"{T}/evaluations/e-1/evidence",
     {"data": {"indicator_id": "i\u0000"}, "files": {"file": ("a.pdf", b"%PDF", "x")}},
     "indicator_id"),
]


@pytest.mark.parametrize(("method", "url", "kw", "field"), NUL_CASES,
                         ids=[c[3] for c in NUL_CASES])
def test_a_nul_anywhere_is_refused_naming_the_field(gw: Gateway, province: dict[str, str],
                                                     method: str, url: str, kw: dict[str, Any],
                                                     field: str) -> None:
    before = len(gw.sent)
    r = gw.http.request(method, url, headers={**province, **EN}, **kw)
    _refused_nul(gw, r, field, before)
    assert "NUL" in r.json()["error"]["message"]


def test_a_nul_in_the_login_and_in_account_names_is_refused(gw: Gateway) -> None:
    for body, field in (({"username": "jiangsu\u0000", "password": "x"}, "username"),
                        ({"username": "jiangsu", "password": "p\u0000w"}, "password")):
        r = gw.http.post("/api/v1/auth/login", json=body)
        _refused_nul(gw, r, field, len(gw.sent))
        assert r.json()["error"]["message"].startswith(field)  # zh by default
        assert "空字符" in r.json()["error"]["message"]
    r = gw.http.post("/api/v1/signup", json={
        "username": "someone", "display_name": "名\u0000", "password": "abcdefgh1",
        "tenant": "320000", "uscc": "91320100MA1N2P3Q43"})
    _refused_nul(gw, r, "display_name", len(gw.sent))
    r = gw.http.post("/api/v1/accounts", headers=gw.headers("jiangsu"), json={
        "username": "city-x", "display_name": "市\u0000",
        "grants": [{"role": "city", "tenant": "320000", "city": "320100"}]})
    _refused_nul(gw, r, "display_name", len(gw.sent))


OUT_OF_RANGE: list[tuple[str, str, dict[str, Any], str]] = [
    ("GET", f"{T}/engagements", {"params": {"year": 4164622746}}, "year"),
    ("GET", f"{T}/work-reports", {"params": {"year": 10000}}, "year"),
    ("GET", f"{T}/institutions/x/cap", {"params": {"year": -1}}, "year"),
    ("POST", f"{T}/evaluations", {"json": {"unit_id": "u-1", "scheme_id": "s",
                                           "scheme_version": 4294967296}}, "scheme_version"),
    ("POST", f"{T}/institutions/x/work-reports",
     {"json": {"year": 4294967296, "summary": "s", "projects": 1}}, "year"),
    ("POST", f"{T}/institutions/x/work-reports",
     {"json": {"year": 2024, "summary": "s", "projects": 4294967296}}, "projects"),
    ("PUT", f"{T}/institutions/x", {"json": {
        "name": "n", "legal_representative": "r", "scope_categories": ["factory"],
        "experience": [{"year": 4294967296, "description": "d"}]}}, "experience.0.year"),
    ("POST", f"{T}/schemes/s/rescore", {"json": {"to_version": 4294967296}}, "to_version"),
]


@pytest.mark.parametrize(("method", "url", "kw", "field"), OUT_OF_RANGE,
                         ids=[f"{c[1].rsplit('/', 1)[-1]}-{c[3]}" for c in OUT_OF_RANGE])
def test_an_integer_out_of_range_is_refused_naming_the_field_and_the_range(
        gw: Gateway, province: dict[str, str], method: str, url: str, kw: dict[str, Any],
        field: str) -> None:
    before = len(gw.sent)
    for lang, word in (("en", "at "), ("zh", "不能")):
        r = gw.http.request(method, url, headers={**province, "Accept-Language": lang}, **kw)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "request.invalid"
        problem = next(p for p in error["params"]["problems"] if p["field"] == field)
        assert word in problem["allowed"] and field in error["message"]
        assert problem["allowed"] in error["message"]
    assert len(gw.sent) == before


def test_every_integer_the_api_takes_is_bounded(gw: Gateway) -> None:
    """No integer reaches a proto ``int32`` unchecked: each parameter and body field says its
    range in the document (and pydantic enforces it)."""
    spec = gw.http.get("/openapi.json").json()
    loose: list[str] = []

    def walk(schema: Any, where: str) -> None:
        if isinstance(schema, dict):
            if schema.get("type") == "integer" and not (
                    -INT32_MAX - 1 <= schema.get("minimum", -2**63) and
                    schema.get("maximum", 2**63) <= INT32_MAX):
                loose.append(where)
            for key, value in schema.items():
                walk(value, f"{where}/{key}")
        elif isinstance(schema, list):
            for i, value in enumerate(schema):
                walk(value, f"{where}/{i}")

    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                walk(p.get("schema", {}), f"{method} {path} {p['name']}")
            walk(op.get("requestBody", {}), f"{method} {path} body")
    bodies = {name: s for name, s in spec["components"]["schemas"].items()
              if name.endswith("In") or name.startswith("Body_")}
    assert bodies
    for name, schema in bodies.items():
        walk(schema, name)
    assert not loose, loose


def test_an_unexpected_error_stays_a_logged_500(gw: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    """A catch-all that turned bugs into 4xx would hide them: a route that raises answers 500
    with the error shape, and the traceback is logged."""

    @gw.app.get("/api/v1/test-only/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("a bug")

    try:
        client = type(gw.http)(gw.app, raise_server_exceptions=False)
        with caplog.at_level(logging.ERROR, logger="greenladder.gateway"):
            r = client.get("/api/v1/test-only/boom", headers=EN)
        assert r.status_code == 500
        assert r.json() == {"error": {"code": "internal", "message": r.json()["error"]["message"],
                                      "params": {}}}
        assert any(rec.exc_info and "a bug" in str(rec.exc_info[1]) for rec in caplog.records)
    finally:
        gw.app.router.routes = [rt for rt in gw.app.router.routes
                                if getattr(rt, "path", "") != "/api/v1/test-only/boom"]


def test_every_route_of_the_app_checks_for_nul_first(gw: Gateway) -> None:
    """The NUL rule runs in ``errors.CheckedRoute``, not as a dependency: a router created
    without ``route_class=CheckedRoute`` would let its routes take a NUL. Walks every route the
    app serves, through the included routers."""
    from fastapi.routing import APIRoute

    from gateway.errors import CheckedRoute

    def walk(routes: list[Any]) -> list[APIRoute]:
        found: list[APIRoute] = []
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route)
            inner = getattr(getattr(route, "original_router", None), "routes", None)
            if inner is not None:
                found += walk(inner)
        return found

    routes = walk(gw.app.router.routes)
    assert len(routes) > 60
    assert [r.path for r in routes if not isinstance(r, CheckedRoute)] == []
