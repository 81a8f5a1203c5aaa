"""Registry rules through the gateway: no leak through re-registration or park membership, one
record per fact, merges keep the veto, bulk rows refused whole, dates checked."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook

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


def test_a_compliance_record_dated_after_today_is_refused(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu", "en")
    unit = js.post(f"{T}/units", json=factory()).json()["unit"]
    r = js.post(f"{T}/units/{unit['id']}/compliance",
                json={"kind": "tax_violation", "occurred_on": "2099-01-01"})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "compliance.in_the_future" and error["params"]["field"] == "occurred_on"
    assert "occurred_on" in error["message"]
    rows = ["uscc,kind,occurred_on", f"{unit['uscc']},tax_violation,2099-01-01"]
    imported = js.post(f"{T}/compliance/import",
                       files={"file": ("c.csv", "\n".join(rows).encode(), "text/csv")}).json()
    assert imported["rows"][0]["code"] == "compliance.in_the_future"
    assert js.get(f"{T}/units/{unit['id']}/compliance").json()["records"] == []


def test_a_page_token_never_handed_out_is_refused(as_user):  # type: ignore[no-untyped-def]
    r = as_user("jiangsu", "en").get(f"{T}/units", params={"page_token": "zzz"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "unit.page_token"
    assert "page_token" in r.json()["error"]["message"]
