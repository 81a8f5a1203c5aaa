"""Account security through the gateway: resets end sessions, logins are throttled, API keys are
for machines and revocable, sign-up locations are real."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import login, uscc

pytestmark = pytest.mark.stack
T = "/api/v1/tenants/320000"


def test_a_password_reset_ends_existing_sessions(stack, as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    account_id = js.post("/api/v1/accounts", json={"username": "yangzhou-1", "password": "yz-pass-123",
                                                   "grants": [{"role": "city", "tenant": "320000",
                                                               "city": "320600"}]}).json()["id"]
    city = login(stack, "yangzhou-1", "yz-pass-123")
    assert city.get("/api/v1/me").status_code == 200
    js.post(f"/api/v1/accounts/{account_id}/password-reset")
    r = city.get("/api/v1/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth.token_revoked"


def test_logins_are_throttled_after_repeated_failures(stack, as_user):  # type: ignore[no-untyped-def]
    # An account of its own: a demo account locked for 15 minutes would fail later tests' logins.
    as_user("jiangsu").post("/api/v1/accounts", json={
        "username": "taizhou-1", "password": "tz-pass-123",
        "grants": [{"role": "city", "tenant": "320000", "city": "321200"}]})
    url = f"{stack.gateway_url}/api/v1/auth/login"
    codes = [httpx.post(url, json={"username": "taizhou-1", "password": f"wrong-{i}"}).status_code
             for i in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    r = httpx.post(url, json={"username": "taizhou-1", "password": "tz-pass-123"})
    assert r.status_code == 429  # even the right password waits out the window


def test_api_keys_only_for_machine_accounts_and_revocable(stack):  # type: ignore[no-untyped-def]
    op = login(stack, "operator", (stack.var_dir / "operator-password").read_text().strip())
    person = op.post("/api/v1/accounts", json={"username": "gd-admin", "grants": [
        {"role": "province", "tenant": "440000"}]}).json()["id"]
    assert op.post(f"/api/v1/accounts/{person}/api-keys", json={}).json()["error"]["code"] == "account.not_machine"
    bank = op.post("/api/v1/accounts", json={"username": "bank-2", "machine": True, "grants": [
        {"role": "partner", "tenant": "000000"}]}).json()["id"]
    key = op.post(f"/api/v1/accounts/{bank}/api-keys", json={}).json()["api_key"]
    headers = {"X-API-Key": key}
    assert httpx.get(f"{stack.gateway_url}/api/v1/me", headers=headers).status_code == 200
    key_id = key.split("_")[1]
    assert op.delete(f"/api/v1/accounts/{bank}/api-keys/{key_id}").status_code == 204
    assert httpx.get(f"{stack.gateway_url}/api/v1/me", headers=headers).status_code == 401


def test_sign_up_location_must_be_real_and_in_the_tenant(stack):  # type: ignore[no-untyped-def]
    url = f"{stack.gateway_url}/api/v1/signup"
    body = {"username": "ent-loc", "display_name": "x", "password": "abc12345", "tenant": "320000",
            "uscc": uscc()}
    assert httpx.post(url, json={**body, "location": "330106"}).json()["error"]["code"] == "unit.location_other_tenant"
    assert httpx.post(url, json={**body, "location": "329999"}).status_code == 422
