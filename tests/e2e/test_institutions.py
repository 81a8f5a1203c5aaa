"""Third-party institutions through the gateway (SPEC §9, §4 institution path): registry and
verification, filings in two provinces, engagements with the independence rules, an
institution's evaluation with its claimed score, the track record, sanctions, work reports, a
machine client, and what each province, city and enterprise may see."""

from __future__ import annotations

import pytest

from tests.helpers import Api, login
from tests.e2e.test_evaluation import _values
from tests.helpers import factory, person_id, publish_listing, uscc, wait_for

pytestmark = pytest.mark.stack
N = "/api/v1/tenants/000000"
JS = "/api/v1/tenants/320000"
ZJ = "/api/v1/tenants/330000"
DEMO = "91110108MA01XYA126"           # the demo institution's USCC
BASIC = {"lawful_operation": True, "no_major_accident": True, "management_body": True,
         "plan_and_targets": True}


def profile(**fields) -> dict:  # type: ignore[no-untyped-def]
    body = {
        "name": "绿评认证中心", "legal_representative": "王某", "legal_rep_id": person_id(1),
        "address": "北京市海淀区", "qualifications": ["CMA"],
        "staff": [{"name": f"评价员{i}", "title": "senior" if i < 5 else "intermediate",
                   "full_time": True} for i in range(10)],
        "experience": [{"year": 2025, "description": "省级绿色工厂评价"}],
        "scope_categories": ["factory", "park"],
    }
    body.update(fields)
    return body


def _operator(stack) -> Api:  # type: ignore[no-untyped-def]
    return login(stack, "operator", (stack.var_dir / "operator-password").read_text().strip())


@pytest.fixture(scope="module")
def demo_institution(stack, as_user):  # type: ignore[no-untyped-def]
    """The demo institution, verified by the ministry and filed in Jiangsu (not Zhejiang)."""
    inst, ministry = as_user("institution"), as_user("ministry")
    too_few = inst.put(f"{N}/institutions/{DEMO}", json=profile(staff=[]))
    assert too_few.status_code == 200, too_few.text
    assert too_few.json()["status"] == "unverified" and too_few.json()["unmet_rules"]
    refused = ministry.post(f"{N}/institutions/{DEMO}/verify")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "institution.rule_staff"
    assert inst.put(f"{N}/institutions/{DEMO}", json=profile()).json()["unmet_rules"] == []
    verified = ministry.post(f"{N}/institutions/{DEMO}/verify")
    assert verified.status_code == 200 and verified.json()["status"] == "verified"
    filed = as_user("jiangsu").post(f"{JS}/institutions/{DEMO}/filing", json={"reason": "备案"})
    assert filed.status_code == 200 and filed.json()["status"] == "active", filed.text
    return DEMO


def own_unit(api: Api, tenant_path: str, code: str, location: str, legal_rep: int = 900,
             **fields) -> dict:  # type: ignore[no-untyped-def]
    r = api.post(f"{tenant_path}/units", json=factory(uscc=code, location=location,
                                                      site=f"厂区{legal_rep}", **fields))
    assert r.status_code in (200, 201), r.text
    unit = r.json()["unit"]
    if legal_rep:
        r = api.put(f"{tenant_path}/units/{unit['id']}/ownership",
                    json={"legal_representative": "李某", "legal_rep_id": person_id(legal_rep)})
        assert r.status_code == 200 and r.json()["ownership_declared"], r.text
        assert "*" in r.json()["legal_rep_masked"]
    return unit


def engage(api: Api, tenant_path: str, unit_id: str, institution: str = DEMO, **more):  # type: ignore[no-untyped-def]
    return api.post(f"{tenant_path}/engagements",
                    json={"unit_id": unit_id, "institution_uscc": institution, **more})


@pytest.fixture(scope="module")
def zhejiang_enterprise(stack, as_user):  # type: ignore[no-untyped-def]
    """An enterprise account in Zhejiang, created and confirmed by the province."""
    code = uscc("330100")
    r = as_user("zhejiang").post("/api/v1/accounts", json={
        "username": "zj-factory-1", "password": "zj-factory-pass-1",
        "grants": [{"role": "enterprise", "tenant": "330000", "org": code}]})
    assert r.status_code == 201, r.text
    return code, login(stack, "zj-factory-1", "zj-factory-pass-1")


def test_the_institution_path_in_two_provinces(stack, as_user, demo_institution,  # type: ignore[no-untyped-def]
                                               zhejiang_enterprise):
    ent, inst = as_user("factory"), as_user("institution")
    unit = own_unit(ent, JS, "91320100MA1N2P3Q43", "320102", legal_rep=901)
    e = engage(ent, JS, unit["id"])
    assert e.status_code == 201, e.text
    engagement = e.json()
    assert (engagement["status"], engagement["level"], engagement["unit_tenant"]) == (
        "accepted", "national", "320000")
    assert "legal_rep_key" not in engagement["unit"]
    # The institution evaluates the unit under its engagement; the enterprise may only read.
    r = inst.post(f"{JS}/evaluations", json={"engagement_id": engagement["id"],
                                             "scheme_id": "gbt36132-2025", "scheme_version": 1})
    assert r.status_code == 201, r.text
    evaluation = r.json()
    assert (evaluation["path"], evaluation["institution_uscc"]) == ("institution", DEMO)
    assert evaluation["level"] == "national"   # the engagement's level (its pass mark)
    path = f"{JS}/evaluations/{evaluation['id']}"
    assert inst.patch(f"{path}/values", json={"values": _values(), "basic": BASIC}).status_code == 200
    denied = ent.patch(f"{path}/values", json={"values": [], "basic": {}})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "evaluation.institution_writes"
    assert ent.get(path).status_code == 200
    no_reviewer = inst.post(f"{path}/submit", json={"pledge": True, "preparer": "张工",
                                                     "claimed_total": "75"})
    assert no_reviewer.status_code == 422
    assert no_reviewer.json()["error"]["code"] == "evaluation.institution_requires"
    done = inst.post(f"{path}/submit", json={"pledge": True, "preparer": "张工", "reviewer": "刘工",
                                             "claimed_total": "75.00", "highlights": "光伏"})
    assert done.status_code == 200, done.text
    assert (done.json()["total"], done.json()["claimed_total"]) == ("71.22", "75.00")
    report = inst.get(f"{path}/report").json()
    assert report["institution"]["uscc"] == DEMO and report["institution"]["name"] == "绿评认证中心"
    assert (report["reviewer"], report["deviation"]) == ("刘工", "3.78")
    # Once submitted, the engagement can no longer be cancelled (its place stays taken).
    late = ent.post(f"{JS}/engagements/{engagement['id']}/cancel", json={"reason": "改选"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "engagement.not_cancellable"
    # The deviation reaches the engagement and the public track record.
    wait_for(lambda: ent.get(f"{JS}/engagements/{engagement['id']}").json()["status"] == "completed")
    # The score stays readable once the engagement is completed: the one kept at submission.
    for reader in (inst, ent):
        score = reader.get(f"{path}/score")
        assert score.status_code == 200, score.text
        assert score.json()["result"]["total"] == "71.22"
    again = inst.post(f"{path}/submit", json={"pledge": True, "preparer": "张工", "reviewer": "刘工",
                                              "claimed_total": "75.00"})
    assert again.status_code == 200 and again.json()["report_hash"] == done.json()["report_hash"]
    record = Api(stack.gateway_url).get(f"/api/v1/public/institutions/{DEMO}/track-record").json()
    assert record["scored"] >= 1 and record["max_abs_deviation"] == "3.78"
    assert any(p["year"] == engagement["year"] and p["level"] == "national"
               for p in record["projects"])
    # Zhejiang: refused until the institution files there, then the same path works.
    zj_code, zj_ent = zhejiang_enterprise
    zj_unit = own_unit(zj_ent, ZJ, zj_code, "330106", legal_rep=902)
    own = zj_ent.post(f"{ZJ}/evaluations", json={"unit_id": zj_unit["id"],   # the self path there
                                                 "scheme_id": "gbt36132-2025"})
    assert own.status_code == 201 and own.json()["path"] == "self", own.text
    assert ent.get(f"{ZJ}/evaluations/{own.json()['id']}").status_code == 403
    assert inst.get(f"{ZJ}/evaluations/{own.json()['id']}").status_code == 403
    refused = engage(zj_ent, ZJ, zj_unit["id"])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "engagement.not_filed"
    assert as_user("zhejiang").post(f"{ZJ}/institutions/{DEMO}/filing", json={}).status_code == 200
    zj_engagement = engage(zj_ent, ZJ, zj_unit["id"]).json()
    r = inst.post(f"{ZJ}/evaluations", json={"engagement_id": zj_engagement["id"],
                                             "scheme_id": "gbt36132-2025"})
    assert r.status_code == 201 and r.json()["path"] == "institution", r.text
    # The engagement of one province is not reachable through another's tenant.
    assert inst.post(f"{JS}/evaluations", json={"engagement_id": zj_engagement["id"],
                                                "scheme_id": "gbt36132-2025"}).status_code == 404
    cap = inst.get(f"{N}/institutions/{DEMO}/cap").json()
    assert (cap["used"], cap["cap"]) == (2, 15)


def test_independence_and_ownership_are_checked(as_user, demo_institution):  # type: ignore[no-untyped-def]
    ent = as_user("factory")
    undeclared = own_unit(ent, JS, "91320100MA1N2P3Q43", "320102", legal_rep=0)
    r = engage(ent, JS, undeclared["id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "engagement.ownership_undeclared"
    same_rep = own_unit(ent, JS, "91320100MA1N2P3Q43", "320102", legal_rep=1)  # the institution's
    r = engage(ent, JS, same_rep["id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "engagement.related_legal_rep"
    helped = own_unit(ent, JS, "91320100MA1N2P3Q43", "320102", legal_rep=903)
    self_eval = ent.post(f"{JS}/evaluations", json={"unit_id": helped["id"], "assisted_by": DEMO,
                                                    "scheme_id": "gbt36132-2025"})
    assert self_eval.status_code == 201, self_eval.text
    r = engage(ent, JS, helped["id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "engagement.wrote_self_evaluation"
    english = as_user("factory", "en").post(f"{JS}/engagements", json={
        "unit_id": helped["id"], "institution_uscc": DEMO})
    assert "helped write" in english.json()["error"]["message"]


def test_independence_is_checked_at_every_step(as_user, demo_institution):  # type: ignore[no-untyped-def]
    """Issue 8 item 5, as reported: the enterprise engaged the institution, then wrote its
    self-evaluation "assisted by" it; the institution then evaluated and submitted. Now each step
    checks independence again, and a sibling institution (the same legal representative) is one
    party with the one that helped."""
    ent, inst, ministry = as_user("factory"), as_user("institution"), as_user("ministry")
    scheme = {"scheme_id": "gbt36132-2025", "scheme_version": 1}
    # Engaged first, then the self-evaluation written with the institution's help: it may not
    # start its evaluation.
    unit = own_unit(ent, JS, "91320100MA1N2P3Q43", "320102", legal_rep=910)
    first = engage(ent, JS, unit["id"], level="provincial")
    assert first.status_code == 201, first.text
    helped = ent.post(f"{JS}/evaluations", json={"unit_id": unit["id"], "assisted_by": DEMO,
                                                 **scheme})
    assert helped.status_code == 201 and helped.json()["path"] == "self", helped.text
    r = inst.post(f"{JS}/evaluations", json={"engagement_id": first.json()["id"], **scheme})
    assert r.status_code == 409 and r.json()["error"]["code"] == "evaluation.wrote_self_evaluation"
    english = as_user("institution", "en").post(
        f"{JS}/evaluations", json={"engagement_id": first.json()["id"], **scheme})
    assert "helped write this unit's self-evaluation" in english.json()["error"]["message"]
    # Its draft begun before the self-evaluation was written: it may not submit.
    other = own_unit(ent, JS, "91320100MA1N2P3Q43", "320102", legal_rep=911)
    second = engage(ent, JS, other["id"], level="provincial")
    assert second.status_code == 201, second.text
    draft = inst.post(f"{JS}/evaluations", json={"engagement_id": second.json()["id"], **scheme})
    assert draft.status_code == 201, draft.text
    path = f"{JS}/evaluations/{draft.json()['id']}"
    assert inst.patch(f"{path}/values", json={"values": _values(), "basic": BASIC}).status_code == 200
    assert ent.post(f"{JS}/evaluations", json={"unit_id": other["id"], "assisted_by": DEMO,
                                               **scheme}).status_code == 201
    r = inst.post(f"{path}/submit", json={"pledge": True, "preparer": "张工", "reviewer": "刘工",
                                          "claimed_total": "75.00"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "evaluation.wrote_self_evaluation"
    assert inst.get(path).json()["status"] == "draft"
    # A sibling of the institution (the same legal representative) is one party with it: it may
    # not be engaged for the unit whose self-evaluation the institution helped write.
    sibling = uscc("110108")
    assert ministry.put(f"{N}/institutions/{sibling}", json=profile(
        name="绿评认证中心分所")).status_code == 200              # legal_rep_id: the demo's
    assert ministry.post(f"{N}/institutions/{sibling}/verify").status_code == 200
    assert as_user("jiangsu").post(f"{JS}/institutions/{sibling}/filing",
                                   json={}).status_code == 200
    r = engage(ent, JS, unit["id"], institution=sibling, level="provincial")
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "engagement.party_wrote_self_evaluation"
    assert r.json()["error"]["params"] == {"institution": sibling, "helper": DEMO}


def test_a_machine_client_institution_and_a_provincial_sanction(stack, as_user):  # type: ignore[no-untyped-def]
    ministry, js = as_user("ministry"), as_user("jiangsu")
    code = uscc("110108")
    account = ministry.post("/api/v1/accounts", json={
        "username": "inst-machine-1", "machine": True,
        "grants": [{"role": "institution", "tenant": "000000", "org": code}]})
    assert account.status_code == 201, account.text
    key = ministry.post(f"/api/v1/accounts/{account.json()['id']}/api-keys",
                        json={"label": "system"})
    assert key.status_code == 201, key.text
    machine = Api(stack.gateway_url, api_key=key.json()["api_key"])
    assert machine.put(f"{N}/institutions/{code}", json=profile(
        name="机器评价所", legal_rep_id=person_id(2))).status_code == 200
    assert ministry.post(f"{N}/institutions/{code}/verify").status_code == 200
    assert js.post(f"{JS}/institutions/{code}/filing", json={}).status_code == 200
    ent = as_user("factory")
    unit = own_unit(ent, JS, "91320100MA1N2P3Q43", "320102", legal_rep=904)
    engagement = engage(ent, JS, unit["id"], institution=code, level="provincial").json()
    created = machine.post(f"{JS}/evaluations", json={"engagement_id": engagement["id"],
                                                      "scheme_id": "gbt36132-2025"})
    assert created.status_code == 201, created.text
    # Jiangsu stops accepting its reports for a period: the draft cannot be submitted, new
    # engagements are refused, and the sanction is public.
    sanction = js.post(f"{JS}/institutions/{code}/sanctions", json={
        "kind": "not_accepted", "reason": "报告数据失实", "decision": "苏工信节〔2026〕1号",
        "ends_on": "2027-06-30"})
    assert sanction.status_code == 201 and sanction.json()["active"], sanction.text
    removal = js.post(f"{JS}/institutions/{code}/sanctions", json={
        "kind": "removal", "reason": "x", "decision": "y"})
    assert removal.status_code == 403 and removal.json()["error"]["code"] == "sanction.not_yours"
    resent = js.post(f"{JS}/institutions/{code}/sanctions", json={
        "kind": "not_accepted", "reason": "报告数据失实", "decision": "苏工信节〔2026〕1号",
        "ends_on": "2027-06-30"})
    assert resent.json()["id"] == sanction.json()["id"]     # the same decision is one sanction
    blocked = machine.post(f"/api/v1/tenants/320000/evaluations/{created.json()['id']}/submit",
                           json={"pledge": True, "preparer": "a", "reviewer": "b", "claimed_total": "60"})
    assert blocked.status_code == 409
    assert blocked.json()["error"]["code"] == "evaluation.reports_not_accepted"
    other = own_unit(ent, JS, "91320100MA1N2P3Q43", "320102", legal_rep=905)
    r = engage(ent, JS, other["id"], institution=code)
    assert r.status_code == 409 and r.json()["error"]["code"] == "engagement.sanctioned"
    record = Api(stack.gateway_url).get(f"/api/v1/public/institutions/{code}/track-record").json()
    assert record["sanctions"][0]["decision"] == "苏工信节〔2026〕1号"
    assert set(record["not_yet_fed"]) == {"spot_checks_failed", "objections_upheld"}
    # A city reads engagements but does not cancel them; the enterprise does, and the
    # institution's draft under it can no longer be worked on.
    by_city = as_user("nanjing").post(f"{JS}/engagements/{engagement['id']}/cancel",
                                      json={"reason": "x"})
    assert by_city.status_code == 403
    cancelled = ent.post(f"{JS}/engagements/{engagement['id']}/cancel", json={"reason": "改选机构"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    stopped = machine.patch(f"{JS}/evaluations/{created.json()['id']}/values",
                            json={"values": [], "basic": BASIC})
    assert stopped.status_code == 409 and stopped.json()["error"]["code"] == "engagement.not_active"
    # A new legal representative sends the institution back to the ministry for verification.
    changed = machine.put(f"{N}/institutions/{code}", json=profile(
        name="机器评价所", legal_rep_id=person_id(12)))
    assert changed.status_code == 200 and changed.json()["status"] == "unverified"


def test_work_reports_and_who_is_overdue(as_user, demo_institution):  # type: ignore[no-untyped-def]
    inst, ministry = as_user("institution"), as_user("ministry")
    r = inst.post(f"{N}/institutions/{DEMO}/work-reports",
                  json={"year": 2026, "summary": "开展评价 2 项", "projects": 2})
    assert r.status_code == 201, r.text
    assert (r.json()["due_on"], r.json()["late"]) == ("2027-08-15", False)
    corrected = inst.post(f"{N}/institutions/{DEMO}/work-reports",
                          json={"year": 2026, "summary": "开展评价 3 项", "projects": 3})
    assert corrected.json()["projects"] == 3 and corrected.json()["projects_on_platform"] >= 1
    late = inst.post(f"{N}/institutions/{DEMO}/work-reports",
                     json={"year": 2024, "summary": "补报", "projects": 0})
    assert late.status_code == 201 and late.json()["late"] is True
    closed = inst.post(f"{N}/institutions/{DEMO}/work-reports",
                       json={"year": 2024, "summary": "再改", "projects": 1})
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "work_report.closed"
    listed = ministry.get(f"{N}/work-reports", params={"year": 2025}).json()
    assert DEMO in listed["overdue"] and listed["due_on"] == "2026-08-15"
    other = inst.post(f"{N}/institutions/{uscc('110108')}/work-reports",
                      json={"year": 2026, "summary": "x", "projects": 0})
    assert other.status_code == 403


def test_who_sees_which_institution_and_engagement(stack, as_user, demo_institution):  # type: ignore[no-untyped-def]
    ent = as_user("factory")
    unit = own_unit(ent, JS, "91320100MA1N2P3Q43", "320102", legal_rep=906)
    engagement = engage(ent, JS, unit["id"], level="municipal").json()
    one = f"{JS}/engagements/{engagement['id']}"
    assert as_user("jiangsu").get(one).status_code == 200
    assert as_user("nanjing").get(one).status_code == 200
    assert as_user("suzhou").get(one).status_code == 403                   # another city
    assert as_user("zhejiang").get(f"{ZJ}/engagements/{engagement['id']}").status_code == 404
    assert as_user("zhejiang").get(one).status_code == 403                 # not its tenant
    assert as_user("ministry").get(one).status_code == 200
    assert engagement["id"] not in {e["id"] for e in as_user("suzhou").get(f"{JS}/engagements").json()}
    assert engagement["id"] in {e["id"] for e in as_user("nanjing").get(f"{JS}/engagements").json()}
    # Staff lists go to officials, not to the public; the directory names the filing provinces.
    seen = as_user("jiangsu").get(f"{JS}/institutions/{DEMO}").json()
    assert len(seen["profile"]["staff"]) == 10 and "*" in seen["profile"]["legal_rep_id"]
    public = Api(stack.gateway_url).get("/api/v1/public/institutions",
                                        params={"province": "320000"}).json()
    entry = next(e for e in public if e["uscc"] == DEMO)
    assert "320000" in entry["provinces"] and "staff" not in entry
    # A province that has no filing of an institution sees nothing of it.
    code = uscc("110108")
    ministry = as_user("ministry")
    assert ministry.put(f"{N}/institutions/{code}", json=profile(
        name="只在江苏", legal_rep_id=person_id(3))).status_code == 200
    assert ministry.post(f"{N}/institutions/{code}/verify").status_code == 200
    assert as_user("jiangsu").post(f"{JS}/institutions/{code}/filing", json={}).status_code == 200
    assert as_user("zhejiang").get(f"{ZJ}/institutions/{code}").status_code == 404
    assert code not in {i["profile"]["uscc"] for i in as_user("zhejiang").get(f"{ZJ}/institutions").json()}
    assert code in {i["profile"]["uscc"] for i in as_user("jiangsu").get(f"{JS}/institutions").json()}
    assert as_user("zhejiang").post(f"{ZJ}/institutions/{code}/sanctions", json={
        "kind": "warning", "reason": "x", "decision": "y"}).status_code == 404
    assert as_user("factory").get(f"{N}/institutions").status_code == 403


def test_the_institutions_chain_is_national_and_verifiable(as_user, demo_institution):  # type: ignore[no-untyped-def]
    chain = as_user("ministry").get(f"{N}/audit/institutions")
    assert chain.status_code == 200, chain.text
    assert chain.json()["ok"] and chain.json()["length"] >= 3   # registered, verified, filed …
    evaluation_chain = as_user("jiangsu").get(f"{JS}/audit/evaluation")
    assert evaluation_chain.status_code == 200 and evaluation_chain.json()["ok"]
    assert as_user("jiangsu").get(f"{N}/audit/institutions").status_code == 403


def test_a_unit_removed_after_its_evaluation_counts_in_the_track_record(stack, as_user,  # type: ignore[no-untyped-def]
                                                                     demo_institution):
    from generated.events.v1 import events_pb2 as ev
    from services.kernel import clock

    public = Api(stack.gateway_url)

    def removed() -> int:
        record = public.get(f"/api/v1/public/institutions/{DEMO}/track-record").json()
        return record.get("units_removed_later", 0)

    before = removed()
    ent = as_user("factory")
    unit = own_unit(ent, JS, "91320100MA1N2P3Q43", "320102", legal_rep=907)
    assert engage(ent, JS, unit["id"], level="municipal").status_code == 201
    publish_listing(stack, "entry.removed", ev.EntryRemoved(
        entry_id="E-9", unit_id=unit["id"], uscc=unit["uscc"], list_id="L-2026", level="municipal",
        category="factory", reason="抽查不合格", decided_on=clock.today().isoformat()), copies=2)
    wait_for(lambda: removed() == before + 1)
