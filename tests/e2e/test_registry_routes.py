"""The registry through the gateway, as each role would use it (SPEC §3, §5)."""

from __future__ import annotations

import io

import httpx
import pytest
from openpyxl import Workbook

from tests.helpers import bad_checksum, factory, uscc, wait_for

pytestmark = pytest.mark.stack
T = "/api/v1/tenants/320000"


def _register(api, **fields):  # type: ignore[no-untyped-def]
    r = api.post(f"{T}/units", json=factory(**fields))
    assert r.status_code == 201, r.text
    return r.json()["unit"]


def test_registration_is_idempotent_and_locatable(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    body = factory()
    first = js.post(f"{T}/units", json=body)
    again = js.post(f"{T}/units", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["unit"]["id"] == again.json()["unit"]["id"] and not again.json()["created"]
    second_site = js.post(f"{T}/units", json={**body, "site": "二厂区"})
    assert second_site.status_code == 201
    found = js.get(f"{T}/units", params={"uscc": body["uscc"]}).json()["units"]
    assert {u["site"] for u in found} == {"", "二厂区"}
    assert found[0]["city"] == "320100" and found[0]["tenant"] == "320000"


def test_uscc_checksum_override_needs_a_reason_and_is_recorded(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu", "en")
    body = factory()
    body["uscc"] = bad_checksum(body["uscc"])
    refused = js.post(f"{T}/units", json=body)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "uscc.checksum"
    assert "check" in refused.json()["error"]["message"].lower()
    malformed = js.post(f"{T}/units", json={**body, "uscc": "91320100ABC"})
    assert malformed.json()["error"]["code"] == "uscc.length"
    accepted = js.post(f"{T}/units", json={**body, "uscc_override_reason": "早期试点地区赋码，营业执照原件已核验"})
    assert accepted.status_code == 201
    unit = accepted.json()["unit"]
    assert unit["uscc_checksum_override"] and "营业执照" in unit["uscc_override_reason"]
    history = js.get(f"{T}/units/{unit['id']}/history").json()["changes"]
    assert "override" in history[0]["reason"]


def test_each_role_in_its_place(as_user):  # type: ignore[no-untyped-def]
    nanjing, suzhou = as_user("nanjing"), as_user("suzhou")
    unit = _register(nanjing, location="320104")
    assert suzhou.get(f"{T}/units/{unit['id']}").status_code == 403
    outside = suzhou.post(f"{T}/units", json=factory(location="320104"))
    assert outside.status_code == 403 and outside.json()["error"]["code"] == "auth.outside_city"
    assert all(u["location"].startswith("3205") for u in suzhou.get(f"{T}/units").json()["units"])
    ministry = as_user("ministry")
    assert ministry.get(f"{T}/units/{unit['id']}").status_code == 200
    assert ministry.post(f"{T}/units", json=factory()).status_code == 403
    for role in ("expert", "institution", "partner"):
        assert as_user(role).get(f"{T}/units").status_code == 403
    assert httpx.get(f"{as_user('nanjing').base_url}{T}/units").status_code == 401
    # the demo enterprise registers its own USCC only
    ent = as_user("factory")
    assert ent.post(f"{T}/units", json=factory(uscc="91320100MA1N2P3Q43")).status_code in (200, 201)
    assert ent.post(f"{T}/units", json=factory()).status_code == 403


def test_tenant_isolation_for_every_read_path(as_user):  # type: ignore[no-untyped-def]
    js, zj = as_user("jiangsu"), as_user("zhejiang")
    unit = _register(js)
    park = js.post(f"{T}/units", json={"kind": "park", "uscc": uscc(), "name": "隔离测试园区",
                                       "location": "320115", "park_level": "provincial"}).json()["unit"]
    js.put(f"{T}/units/{park['id']}/members", json={"member_ids": [unit["id"]]})
    plan = js.post(f"{T}/units/{park['id']}/plans", json={
        "year": 2026, "entries": [{"uscc": unit["uscc"], "name": unit["name"]}]}).json()
    js.post(f"{T}/targets", json={"unit_id": unit["id"], "category": "factory"})
    paths = [f"units/{unit['id']}", f"units/{unit['id']}/history", f"units/{unit['id']}/compliance",
             f"units/{unit['id']}/veto", f"units/{park['id']}/members",
             f"units/{park['id']}/plans", f"units/{park['id']}/suppliers", f"plans/{plan['id']}"]
    for path in paths:
        assert js.get(f"{T}/{path}").status_code == 200, path
        assert zj.get(f"{T}/{path}").status_code == 403, path
        assert zj.get(f"/api/v1/tenants/330000/{path}").status_code == 404, path
    listed = zj.get("/api/v1/tenants/330000/units", params={"uscc": unit["uscc"]}).json()["units"]
    assert listed == []
    targets = zj.get("/api/v1/tenants/330000/targets", params={"include_expired": True}).json()
    assert unit["id"] not in {t["unit_id"] for t in targets.get("targets", [])}
    assert zj.get(f"{T}/views/units").status_code == 403
    assert zj.get(f"{T}/audit/registry").status_code == 403


def test_history_of_renames_relocations_and_mergers(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    a, b = _register(js), _register(js)
    r = js.post(f"{T}/units/{a['id']}/rename", json={"new_name": "南京新名称制造有限公司",
                                                    "effective_on": "2026-05-01", "reason": "更名"})
    assert r.json()["name"] == "南京新名称制造有限公司"
    r = js.post(f"{T}/units/{a['id']}/relocate", json={"new_location": "320505", "reason": "搬迁"})
    assert r.json()["city"] == "320500"
    outside = js.post(f"{T}/units/{a['id']}/relocate", json={"new_location": "330106"})
    assert outside.json()["error"]["code"] == "unit.location_other_tenant"
    merged = js.post(f"{T}/units/{a['id']}/merge", json={"into_id": b["id"], "reason": "吸收合并"})
    assert merged.status_code == 200
    kinds = [c["kind"] for c in js.get(f"{T}/units/{a['id']}/history").json()["changes"]]
    assert kinds == ["registered", "renamed", "relocated", "merged_into"]
    assert js.get(f"{T}/units/{a['id']}").json()["merged_into"] == b["id"]  # the id is kept
    # a city cannot rename a unit outside it; the unit's own city can
    assert as_user("suzhou").post(f"{T}/units/{b['id']}/rename",
                                  json={"new_name": "苏州改名"}).status_code == 403
    assert as_user("nanjing").post(f"{T}/units/{b['id']}/rename",
                                   json={"new_name": "南京改名"}).status_code == 200


def test_compliance_records_and_the_veto_check(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    unit = _register(js)
    path = f"{T}/units/{unit['id']}"
    assert not js.get(f"{path}/veto", params={"on": "2026-06-01"}).json()["vetoed"]
    r = js.post(f"{path}/compliance", json={"kind": "environmental_accident",
                                            "occurred_on": "2025-04-02", "reference": "苏环罚〔2025〕12号"})
    assert r.status_code == 201, r.text
    js.post(f"{path}/compliance", json={"kind": "dishonest_debtor", "occurred_on": "2024-01-10",
                                        "ended_on": "2025-01-10"})
    veto = js.get(f"{path}/veto", params={"on": "2026-06-01"}).json()
    assert veto["vetoed"] and [c["condition"] for c in veto["conditions"]] == [2]
    assert veto["conditions"][0]["records"][0]["reference"] == "苏环罚〔2025〕12号"
    assert veto["window_from"] == "2023-06-01"
    during = js.get(f"{path}/veto", params={"on": "2024-06-01"}).json()
    assert [c["condition"] for c in during["conditions"]] == [6]
    assert not js.get(f"{path}/veto", params={"on": "2028-04-03"}).json()["vetoed"]
    bad = js.post(f"{path}/compliance", json={"kind": "flood", "occurred_on": "2025-01-01"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "compliance.kind_unknown"


def test_park_members_veto_the_park(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    member = _register(js)
    park = js.post(f"{T}/units", json={"kind": "park", "uscc": uscc(), "name": "否决测试园区",
                                       "location": "320115", "park_level": "national",
                                       "industrial_value_added_share": 70}).json()["unit"]
    js.put(f"{T}/units/{park['id']}/members", json={"member_ids": [member["id"]]})
    js.post(f"{T}/units/{member['id']}/compliance", json={"kind": "safety_accident",
                                                          "occurred_on": "2026-01-15"})
    veto = js.get(f"{T}/units/{park['id']}/veto", params={"on": "2026-02-01"}).json()
    assert veto["vetoed"] and veto["conditions"][0]["records"][0]["unit_id"] == member["id"]


def test_supply_chain_suppliers_across_provinces_and_plans(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    chain = _register(js, kind="supply_chain")
    zj_supplier = uscc("330100")
    r = js.put(f"{T}/units/{chain['id']}/suppliers", json={"suppliers": [
        {"uscc": zj_supplier, "name": "浙江供应商", "tenant": "330000"},
        {"uscc": uscc("440300"), "name": "深圳供应商", "tenant": "440300"}]})
    assert r.status_code == 200 and len(r.json()["suppliers"]) == 2
    plan = js.post(f"{T}/units/{chain['id']}/plans", json={
        "year": 2026, "title": "供应商绿色工厂培育计划",
        "entries": [{"uscc": zj_supplier, "name": "浙江供应商"}]})
    assert plan.status_code == 200, plan.text
    assert plan.json()["entries"][0]["tenant"] == "330000" and plan.json()["named"] == 1
    stranger = js.post(f"{T}/units/{chain['id']}/plans", json={
        "year": 2027, "entries": [{"uscc": uscc(), "name": "不在名单"}]})
    assert stranger.json()["error"]["code"] == "plan.not_a_supplier"


def test_cultivation_targets_are_valid_three_years(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    unit = _register(js)
    r = js.post(f"{T}/targets", json={"unit_id": unit["id"], "category": "factory",
                                      "valid_from": "2024-03-01"})
    assert r.status_code == 201 and r.json()["valid_until"] == "2027-02-28"
    ids = lambda day: {t["unit_id"] for t in js.get(f"{T}/targets", params={"active_on": day}).json().get("targets", [])}  # noqa: E731
    assert unit["id"] in ids("2027-02-28") and unit["id"] not in ids("2027-03-01")
    wrong_kind = js.post(f"{T}/targets", json={"unit_id": unit["id"], "category": "park"})
    assert wrong_kind.json()["error"]["code"] == "target.category_mismatch"
    assert as_user("nanjing").post(f"{T}/targets", json={"unit_id": unit["id"],
                                                         "category": "factory"}).status_code == 403


def _csv(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(r) for r in rows).encode("utf-8")


def test_bulk_import_units_csv_and_xlsx_with_per_row_results(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    good, dup = factory(), factory()
    rows = [["kind", "uscc", "name", "location", "industry"],
            ["factory", good["uscc"], good["name"], "320102", "3311"],
            ["factory", "91320100BAD", "坏代码", "320102", "3311"],
            ["factory", uscc(), "采矿企业", "320102", "0610"],
            [],
            ["factory", dup["uscc"], dup["name"], "320102", "3311"],
            ["factory", dup["uscc"], dup["name"], "320102", "3311"],
            ["factory", uscc(), "宁波企业", "330203", "3311"]]
    r = js.post(f"{T}/units/import", files={"file": ("units.csv", _csv(rows), "text/csv")})
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["accepted"], result["refused"]) == (3, 3)
    by_row = {x["row"]: x for x in result["rows"]}
    assert by_row[2]["code"] == "uscc.length" and by_row[3]["code"] == "unit.not_manufacturing"
    assert by_row[6]["existing"] and by_row[7]["code"] == "unit.location_other_tenant"
    assert js.get(f"{T}/units", params={"uscc": good["uscc"]}).json()["units"]
    # XLSX, and nothing of a refused row is written
    book = Workbook()
    sheet = book.active
    refused = uscc()
    sheet.append(["kind", "uscc", "name", "location", "industry"])
    sheet.append(["factory", refused, "电力企业", "320102", 4411])
    ok = uscc()
    sheet.append(["factory", ok, "XLSX工厂", "320102", 3311])
    buf = io.BytesIO()
    book.save(buf)
    r = js.post(f"{T}/units/import", files={"file": ("units.xlsx", buf.getvalue(), "application/octet-stream")})
    assert (r.json()["accepted"], r.json()["refused"]) == (1, 1)
    assert js.get(f"{T}/units", params={"uscc": refused}).json().get("units", []) == []
    assert js.get(f"{T}/units", params={"uscc": ok}).json()["units"][0]["industry"] == "3311"


def test_bulk_import_compliance_records(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    unit = _register(js)
    rows = [["uscc", "kind", "occurred_on", "reference", "source"],
            [unit["uscc"], "tax_violation", "2025-08-01", "税罚-1", "credit_china"],
            [unit["uscc"], "tax_violation", "2025-08-01", "税罚-1", "credit_china"],
            [uscc(), "tax_violation", "2025-08-01", "", ""],
            [unit["uscc"], "tax_violation", "2025/08/01", "", ""]]
    r = js.post(f"{T}/compliance/import", files={"file": ("credit.csv", _csv(rows), "text/csv")})
    result = r.json()
    assert (result["accepted"], result["refused"]) == (2, 2)
    codes = [x.get("code", "") for x in result["rows"]]
    assert codes[2:] == ["compliance.unit_unknown", "date.malformed"]
    records = js.get(f"{T}/units/{unit['id']}/compliance").json()["records"]
    assert len(records) == 1  # the same fact twice is one record


def test_views_follow_the_registry_within_seconds(as_user):  # type: ignore[no-untyped-def]
    ministry = as_user("ministry")

    def tobacco() -> int:  # division 16: no other test registers there, so no lag can blur it
        rows = ministry.get("/api/v1/national/views/units",
                            params={"by": "industry", "tenant": "320000"}).json()
        return sum(r["units"] for r in rows if r["industry"] == "16")

    assert tobacco() == 0
    _register(as_user("jiangsu"), location="320505", industry="1610")
    wait_for(lambda: tobacco() == 1)
    city_rows = as_user("suzhou").get(f"{T}/views/units").json()
    assert city_rows and all(r["city"].startswith("3205") for r in city_rows)
    assert as_user("jiangsu").get("/api/v1/national/views/units").status_code == 403

