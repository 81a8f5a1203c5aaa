"""Accounts through the gateway, as SPEC §1 says: who creates whom, verification, resets, keys."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import Api, login
from tests.helpers import factory, uscc

pytestmark = pytest.mark.stack


def _operator(stack) -> Api:  # type: ignore[no-untyped-def]
    password = (stack.var_dir / "operator-password").read_text().strip()
    return login(stack, "operator", password)


def test_operator_creates_a_province_which_creates_a_city(stack, as_user):  # type: ignore[no-untyped-def]
    op = _operator(stack)
    r = op.post("/api/v1/accounts", json={"username": "zj-admin-2", "display_name": "浙江省工信厅",
                                          "grants": [{"role": "province", "tenant": "330000"}]})
    assert r.status_code == 201, r.text
    province = login(stack, "zj-admin-2", r.json()["initial_password"])
    r = province.post("/api/v1/accounts", json={"username": "hangzhou-1", "grants": [
        {"role": "city", "tenant": "330000", "city": "330100"}], "password": "hangzhou-pass-1"})
    assert r.status_code == 201, r.text
    city = login(stack, "hangzhou-1", "hangzhou-pass-1")
    # A city may not create accounts; a province may not create cities elsewhere or provinces.
    r = city.post("/api/v1/accounts", json={"username": "x-city", "grants": [
        {"role": "city", "tenant": "330000", "city": "330200"}]})
    assert r.status_code == 403 and r.json()["error"]["code"] == "account.may_not_grant"
    r = province.post("/api/v1/accounts", json={"username": "x-js", "grants": [
        {"role": "city", "tenant": "320000", "city": "320100"}]})
    assert r.status_code == 403
    r = province.post("/api/v1/accounts", json={"username": "x-ningbo", "grants": [
        {"role": "city", "tenant": "330000", "city": "330200"}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "account.city_outside_tenant"
    r = as_user("jiangsu").post("/api/v1/accounts", json={"username": "x-prov", "grants": [
        {"role": "province", "tenant": "320000"}]})
    assert r.status_code == 403


def test_enterprise_sign_up_stays_unverified_until_confirmed(stack, as_user):  # type: ignore[no-untyped-def]
    code = uscc("320100")
    r = httpx.post(f"{stack.gateway_url}/api/v1/signup", json={
        "username": f"ent-{code[-6:]}", "display_name": "南京某制造有限公司",
        "password": "factory-pass-1", "tenant": "320000", "uscc": code, "location": "320102"})
    assert r.status_code == 201, r.text
    account_id = r.json()["id"]
    ent = login(stack, f"ent-{code[-6:]}", "factory-pass-1")
    body = factory(uscc=code)
    refused = ent.post("/api/v1/tenants/320000/units", json=body)
    assert refused.status_code == 403  # unverified: it holds no role in the tenant yet
    # Suzhou is not competent for a Nanjing enterprise; Nanjing is.
    assert as_user("suzhou").post(f"/api/v1/accounts/{account_id}/verify").status_code == 403
    assert as_user("nanjing").post(f"/api/v1/accounts/{account_id}/verify").status_code == 200
    ent = login(stack, f"ent-{code[-6:]}", "factory-pass-1")
    r = ent.post("/api/v1/tenants/320000/units", json=body)
    assert r.status_code == 201, r.text
    other = ent.post("/api/v1/tenants/320000/units", json=factory())  # someone else's USCC
    assert other.status_code == 403 and other.json()["error"]["code"] == "auth.not_your_unit"


def test_password_reset_by_the_administrator(stack, as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    r = js.post("/api/v1/accounts", json={"username": "wuxi-1", "grants": [
        {"role": "city", "tenant": "320000", "city": "320200"}], "password": "wuxi-pass-1"})
    account_id = r.json()["id"]
    assert as_user("zhejiang").post(f"/api/v1/accounts/{account_id}/password-reset").status_code == 403
    r = js.post(f"/api/v1/accounts/{account_id}/password-reset")
    assert r.status_code == 200
    bad = httpx.post(f"{stack.gateway_url}/api/v1/auth/login",
                     json={"username": "wuxi-1", "password": "wuxi-pass-1"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "auth.bad_credentials"
    login(stack, "wuxi-1", r.json()["temporary_password"])
    # Disabling takes effect: the account can no longer log in.
    assert js.post(f"/api/v1/accounts/{account_id}/status", json={"status": "disabled"}).status_code == 200
    r2 = httpx.post(f"{stack.gateway_url}/api/v1/auth/login",
                    json={"username": "wuxi-1", "password": r.json()["temporary_password"]})
    assert r2.status_code == 403


def test_api_key_for_a_machine_client(stack):  # type: ignore[no-untyped-def]
    op = _operator(stack)
    r = op.post("/api/v1/accounts", json={"username": "bank-1", "machine": True,
                                          "grants": [{"role": "partner", "tenant": "000000"}]})
    assert r.status_code == 201, r.text
    key = op.post(f"/api/v1/accounts/{r.json()['id']}/api-keys", json={"label": "bank"}).json()["api_key"]
    me = Api(stack.gateway_url, api_key=key).get("/api/v1/me")
    assert me.status_code == 200 and me.json()["grants"][0]["role"] == "partner"
    wrong = Api(stack.gateway_url, api_key=key[:-2] + "zz").get("/api/v1/me")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "auth.api_key_invalid"
    # A partner holds no role in a provincial tenant's registry.
    assert Api(stack.gateway_url, api_key=key).get("/api/v1/tenants/320000/units").status_code == 403


def test_accounts_listing_shows_only_what_one_administers(stack, as_user):  # type: ignore[no-untyped-def]
    mine = {a["username"] for a in as_user("jiangsu").get("/api/v1/accounts").json()}
    theirs = {a["username"] for a in as_user("zhejiang").get("/api/v1/accounts").json()}
    assert "nanjing" in mine and "nanjing" not in theirs
    assert "jiangsu" not in mine  # a province does not administer itself


def test_every_account_change_is_audited(stack, as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    account_id = js.post("/api/v1/accounts", json={"username": "changzhou-1", "grants": [
        {"role": "city", "tenant": "320000", "city": "320400"}]}).json()["id"]
    js.post(f"/api/v1/accounts/{account_id}/password-reset")
    trail = js.get("/api/v1/accounts/audit", params={"account_id": account_id}).json()
    assert [e["action"] for e in trail] == ["account.password_reset", "account.created"]
    assert trail[1]["detail"]["grants"] == [{"r": "city", "t": "320000", "c": "320400"}]
    assert as_user("zhejiang").get("/api/v1/accounts/audit",
                                   params={"account_id": account_id}).status_code == 403
    assert js.get("/api/v1/accounts/audit").status_code == 403  # the whole trail: operator only
    everything = _operator(stack).get("/api/v1/accounts/audit").json()
    assert any(e["target"] == account_id for e in everything)


def test_openapi_documents_every_route(stack):  # type: ignore[no-untyped-def]
    spec = httpx.get(f"{stack.gateway_url}/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/v1/auth/login", "/api/v1/tenants/{tenant}/units",
                 "/api/v1/tenants/{tenant}/units/{unit_id}/veto", "/api/v1/accounts",
                 "/api/v1/national/views/units", "/api/v1/tenants/{tenant}/engagements",
                 "/api/v1/tenants/{tenant}/institutions/{uscc}/sanctions",
                 "/api/v1/public/institutions/{uscc}/track-record",
                 "/api/v1/tenants/{tenant}/units/{unit_id}/ownership",
                 "/api/v1/tenants/{tenant}/audit/{service}"):
        assert path in paths, path
    assert httpx.get(f"{stack.gateway_url}/docs").status_code == 200
