"""Leaks and losses found in review, each pinned by a test that fails without its fix."""

from __future__ import annotations

import io
from datetime import date

import httpx
import pytest
from openpyxl import Workbook

from tests.conftest import login
from tests.helpers import factory, uscc

pytestmark = pytest.mark.stack
T = "/api/v1/tenants/320000"


def test_re_registering_does_not_reveal_a_unit_outside_the_city(as_user):  # type: ignore[no-untyped-def]
    body = factory(location="320104")
    as_user("nanjing").post(f"{T}/units", json=body)
    probe = as_user("suzhou").post(f"{T}/units", json={**body, "location": "320505"})
    assert probe.status_code == 403 and "unit" not in probe.json()


def test_park_membership_is_kept_by_officials_who_may_act_on_every_member(as_user):  # type: ignore[no-untyped-def]
    js, nanjing = as_user("jiangsu"), as_user("nanjing")
    park = js.post(f"{T}/units", json={"kind": "park", "uscc": uscc(), "name": "成员权限园区",
                                       "location": "320115", "park_level": "provincial"}).json()["unit"]
    suzhou_unit = js.post(f"{T}/units", json=factory(location="320505")).json()["unit"]
    refused = nanjing.put(f"{T}/units/{park['id']}/members", json={"member_ids": [suzhou_unit["id"]]})
    assert refused.status_code == 403
    assert js.put(f"{T}/units/{park['id']}/members",
                  json={"member_ids": [suzhou_unit["id"]]}).status_code == 200
    # Nanjing may not drop a member it cannot act on either.
    assert nanjing.put(f"{T}/units/{park['id']}/members", json={"member_ids": []}).status_code == 403


def test_two_facts_on_one_day_are_two_records_and_a_state_can_end(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    unit = js.post(f"{T}/units", json=factory()).json()["unit"]
    path = f"{T}/units/{unit['id']}/compliance"
    a = js.post(path, json={"kind": "safety_accident", "occurred_on": "2026-01-05",
                            "description": "A车间爆炸"})
    b = js.post(path, json={"kind": "safety_accident", "occurred_on": "2026-01-05",
                            "description": "B车间火灾"})
    again = js.post(path, json={"kind": "safety_accident", "occurred_on": "2026-01-05",
                                "description": "A车间爆炸"})
    assert a.json()["id"] != b.json()["id"] and again.json()["id"] == a.json()["id"]
    state = js.post(path, json={"kind": "abnormal_operations", "occurred_on": "2025-05-01"}).json()
    veto = lambda day: js.get(f"{T}/units/{unit['id']}/veto", params={"on": day}).json()  # noqa: E731
    assert 1 in [c["condition"] for c in veto("2026-06-01")["conditions"]]
    ended = js.post(f"{path}/{state['id']}/end", json={"ended_on": "2026-03-01", "reason": "已移出"})
    assert ended.status_code == 200 and ended.json()["ended_on"] == "2026-03-01"
    assert 1 not in [c["condition"] for c in veto("2026-06-01")["conditions"]]
    assert 1 in [c["condition"] for c in veto("2026-02-01")["conditions"]]


def test_merging_does_not_escape_the_veto(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    dirty, clean = (js.post(f"{T}/units", json=factory()).json()["unit"] for _ in range(2))
    js.post(f"{T}/units/{dirty['id']}/compliance", json={"kind": "tax_violation",
                                                          "occurred_on": "2026-01-10"})
    js.post(f"{T}/units/{dirty['id']}/merge", json={"into_id": clean["id"]})
    veto = js.get(f"{T}/units/{clean['id']}/veto", params={"on": "2026-06-01"}).json()
    assert veto["vetoed"] and veto["conditions"][0]["records"][0]["unit_id"] == dirty["id"]


def test_long_text_is_refused_per_row_not_half_imported(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    unit = js.post(f"{T}/units", json=factory()).json()["unit"]
    rows = ["uscc,kind,occurred_on,description",
            f"{unit['uscc']},tax_violation,2025-01-01,ok",
            f"{unit['uscc']},tax_violation,2025-01-02,{'x' * 3000}",
            f"{unit['uscc']},tax_violation,2025-01-03,also ok"]
    r = js.post(f"{T}/compliance/import", files={"file": ("c.csv", "\n".join(rows).encode(), "text/csv")})
    result = r.json()
    assert (result["accepted"], result["refused"]) == (2, 1)
    assert result["rows"][1]["code"] == "text.too_long"


def test_chinese_headers_and_excel_dates_are_understood(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    unit = js.post(f"{T}/units", json=factory()).json()["unit"]
    book = Workbook()
    sheet = book.active
    sheet.append(["统一社会信用代码", "类型", "发生日期", "文号"])
    sheet.append([unit["uscc"], "dishonest_debtor", date(2025, 7, 1), "（2025）苏01执123号"])
    buf = io.BytesIO()
    book.save(buf)
    r = js.post(f"{T}/compliance/import", files={"file": ("信用.xlsx", buf.getvalue(), "x")})
    assert r.json()["accepted"] == 1, r.text
    records = js.get(f"{T}/units/{unit['id']}/compliance").json()["records"]
    assert records[0]["occurred_on"] == "2025-07-01"


def test_out_of_range_dates_are_refused_not_crashing(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    unit = js.post(f"{T}/units", json=factory()).json()["unit"]
    r = js.get(f"{T}/units/{unit['id']}/veto", params={"on": "0002-01-01"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "date.out_of_range"


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


def test_logins_are_throttled_after_repeated_failures(stack):  # type: ignore[no-untyped-def]
    url = f"{stack.gateway_url}/api/v1/auth/login"
    codes = [httpx.post(url, json={"username": "expert", "password": f"wrong-{i}"}).status_code
             for i in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    r = httpx.post(url, json={"username": "expert", "password": "demo-expert-1"})
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
