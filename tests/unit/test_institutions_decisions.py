"""Institution decisions (SPEC §9) without I/O: each rule the use cases apply — profiles,
verification, engagements and the cap, cancelling, sanctions, work reports — as a plain value in,
a ``Refusal`` (or None), a new status or a parsed value out."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from services.institutions import domain
from services.institutions.domain import (
    Candidate,
    EngagementParties,
    Finding,
    Party,
    SanctionTerm,
    StaffMember,
    UnitFact,
    rules,
)
from services.kernel.errors import DomainError, Kind, Refusal
from services.kernel.identity import Grant

TODAY = date(2025, 10, 11)
INST = "91110108MA01XYA126"
UNIT = "91320100MA1N2P3Q43"


def raw_profile(**fields: Any) -> dict[str, Any]:
    return {"uscc": INST.lower(), "name": " 绿评 ", "legal_representative": "王某",
            "legal_rep_id": "", "address": "北京", "parent_uscc": "", "contact": "",
            "qualifications": ["CMA"],
            "staff": [{"name": "a", "title": "senior", "full_time": 1, "field": "能源",
                       "also_employed_by": [UNIT]}],
            "experience": [{"year": 2024, "description": "评价"}],
            "scope_categories": ["park", "factory", "park"], "scope_industries": ["39", "26", "39"],
            **fields}


# --- shared refusals ---------------------------------------------------------------------------------


def test_shared_refusals() -> None:
    assert domain.required("reason", "x") is None
    assert domain.required("reason", "") == Refusal("field.required", Kind.INVALID,
                                                    {"field": "reason"})
    assert domain.national_only("000000") is None
    assert domain.national_only("320000") == Refusal("institution.national_only",
                                                     params={"tenant": "320000"})
    assert domain.crossing_refusal("320000", declared=True) is None
    assert domain.crossing_refusal("000000", declared=False) is None
    refusal = domain.crossing_refusal("320000", declared=False)
    assert refusal is not None and (refusal.code, refusal.kind) == ("crossing.undeclared",
                                                                    Kind.FORBIDDEN)
    assert domain.uscc_field(f" {INST.lower()} ", "uscc") == INST
    with pytest.raises(DomainError) as err:
        domain.uscc_field(" ", "institution_uscc")
    assert (err.value.code, err.value.params) == ("field.required", {"field": "institution_uscc"})


# --- profiles ----------------------------------------------------------------------------------------


def test_a_profile_is_parsed_and_stored_without_name_or_id_number() -> None:
    p = domain.Profile.parse(raw_profile(), today=TODAY, r=rules())
    assert (p.uscc, p.name, p.scope_categories, p.scope_industries) == (
        INST, "绿评", ("park", "factory"), ("26", "39"))
    assert p.staff == (StaffMember("a", "senior", True, "能源", (UNIT,)),)
    stored = p.stored()
    assert list(stored) == ["uscc", "address", "contact", "qualifications", "staff",
                            "experience", "scope_categories", "scope_industries"]
    assert domain.staff_of(json.loads(json.dumps(stored))) == p.staff


@pytest.mark.parametrize("fields,code", [
    ({"uscc": ""}, "field.required"),
    ({"parent_uscc": "123"}, "uscc.length"),
    ({"staff": [{"name": "a", "title": "x", "full_time": True, "also_employed_by": []}]},
     "institution.staff_title"),
    ({"experience": [{"year": 2026, "description": ""}]}, "institution.experience_year"),
    ({"scope_categories": ["mine"]}, "institution.scope"),
    ({"scope_industries": ["C39"]}, "institution.scope_industry"),
    ({"staff": [{"name": "a", "title": "senior", "full_time": True, "also_employed_by": []}] * 1001},
     "institution.too_many"),
])
def test_a_profile_is_refused_field_by_field(fields: dict[str, Any], code: str) -> None:
    with pytest.raises(DomainError) as err:
        domain.Profile.parse(raw_profile(**fields), today=TODAY, r=rules())
    assert err.value.code == code


def test_findings_of_a_stored_profile() -> None:
    stored = {"staff": [{"name": f"s{i}", "title": "senior", "full_time": True,
                         "also_employed_by": []} for i in range(10)],
              "experience": [{"year": 2025}]}
    assert domain.findings_of(stored, TODAY, rules()) == []
    assert [f.code for f in domain.findings_of({**stored, "experience": []}, TODAY, rules())] == [
        "institution.rule_experience"]


def test_verification_refusal() -> None:
    assert domain.verification_refusal(INST, "unverified", []) is None
    assert domain.verification_refusal(INST, "removed", []) == Refusal(
        "institution.removed", params={"uscc": INST})
    unmet = [Finding("institution.rule_staff", {"have": 9, "need": 10}),
             Finding("institution.rule_experience", {})]
    assert domain.verification_refusal(INST, "unverified", unmet) == Refusal(
        "institution.rule_staff", Kind.PRECONDITION, {"have": 9, "need": 10})


def test_registration_refusal_and_status_after_update() -> None:
    assert domain.registration_refusal(INST, None, legal_rep_id_given=False) == Refusal(
        "field.required", Kind.INVALID, {"field": "legal_rep_id"})
    assert domain.registration_refusal(INST, None, legal_rep_id_given=True) is None
    assert domain.registration_refusal(INST, "verified", legal_rep_id_given=False) is None
    assert domain.registration_refusal(INST, "removed", legal_rep_id_given=True) == Refusal(
        "institution.removed", params={"uscc": INST})
    after = domain.status_after_update
    assert after("verified", legal_rep_changed=True, parent_changed=False) == "unverified"
    assert after("verified", legal_rep_changed=False, parent_changed=True) == "unverified"
    assert after("verified", legal_rep_changed=False, parent_changed=False) == "verified"
    assert after("unverified", legal_rep_changed=True, parent_changed=True) == "unverified"


def test_visibility_of_an_institution() -> None:
    assert domain.visibility_refusal(INST, None, "ministry") is None
    assert domain.visibility_refusal(INST, [INST], "province") is None
    assert domain.visibility_refusal(INST, [], "province") == Refusal(
        "institution.not_found", Kind.NOT_FOUND, {"uscc": INST})
    assert domain.visibility_refusal(INST, ["other"], "institution") == Refusal(
        "auth.not_your_unit", Kind.FORBIDDEN)
    assert domain.shows_staff("province") and not domain.shows_staff("city")
    assert domain.is_public("removed") and not domain.is_public("unverified")


# --- engagements ----------------------------------------------------------------------------------

CANDIDATE = Candidate(uscc=INST, status="verified", parent_uscc="", legal_rep_key="k-inst",
                      scope_categories=("factory",), scope_industries=("39",), staff=())
FACT = UnitFact(id="u1", uscc=UNIT, kind="factory", location="320102", industry="3971",
                legal_rep_key="k-unit", ownership_declared=True)
NOT_ACCEPTED = SanctionTerm("not_accepted", "320000", date(2025, 1, 1), date(2026, 1, 1))


def refusal_of(inst: Candidate = CANDIDATE, unit: UnitFact = FACT, **kw: Any) -> Refusal | None:
    args: dict[str, Any] = {"province": "320000", "filed": True, "sanctions": [],
                            "assisted_by": [], "already_engaged": False, "today": TODAY, **kw}
    return domain.engagement_refusal(inst, unit, **args)


@pytest.mark.parametrize("inst,unit,kw,code,kind,params", [
    (replace(CANDIDATE, status="unverified"), FACT, {}, "institution.not_verified",
     Kind.PRECONDITION, {"uscc": INST, "status": "unverified"}),
    (CANDIDATE, FACT, {"filed": False}, "engagement.not_filed", Kind.PRECONDITION,
     {"uscc": INST, "province": "320000"}),
    (CANDIDATE, FACT, {"sanctions": [NOT_ACCEPTED]}, "engagement.sanctioned", Kind.PRECONDITION,
     {"uscc": INST}),
    (CANDIDATE, replace(FACT, kind="park"), {}, "engagement.out_of_scope", Kind.PRECONDITION,
     {"uscc": INST, "category": "park"}),
    (CANDIDATE, replace(FACT, industry="2611"), {}, "engagement.out_of_industry",
     Kind.PRECONDITION, {"uscc": INST, "division": "26"}),
    (CANDIDATE, FACT, {"assisted_by": [INST]}, "engagement.wrote_self_evaluation", Kind.CONFLICT,
     {"institution": INST}),
    (CANDIDATE, replace(FACT, legal_rep_key="k-inst"), {}, "engagement.related_legal_rep",
     Kind.CONFLICT, {}),
    (CANDIDATE, FACT, {"already_engaged": True}, "engagement.already_active", Kind.CONFLICT,
     {"uscc": INST, "unit_id": "u1"}),
])
def test_each_engagement_refusal(inst: Candidate, unit: UnitFact, kw: dict[str, Any], code: str,
                                 kind: Kind, params: dict[str, Any]) -> None:
    assert refusal_of(inst, unit, **kw) == Refusal(code, kind, params)


SIBLING, PARENT, OTHER = "91110108MA01XYB12X", "91110000100000000A", "91330100AAAAAAAAAA"


@pytest.mark.parametrize("other,one", [
    (Party(INST), True),                                          # itself
    (Party(SIBLING, legal_rep_key="k-inst"), True),               # the same legal representative
    (Party(SIBLING, parent_uscc=PARENT), True),                   # the same parent company
    (Party(PARENT), True),                                        # its parent
    (Party(SIBLING, parent_uscc=INST), True),                     # its subsidiary
    (Party(SIBLING, legal_rep_key="k-other", parent_uscc=OTHER), False),
    (Party(SIBLING), False),                                      # empty keys never match
])
def test_institutions_sharing_a_legal_rep_or_parent_are_one_party(other: Party, one: bool) -> None:
    inst = Party(INST, parent_uscc=PARENT, legal_rep_key="k-inst")
    assert domain.same_party(inst, other) is one
    assert domain.same_party(other, inst) is one                  # both ways
    assert domain.same_party(Party(INST), Party(SIBLING)) is False


def test_the_party_of_an_institution() -> None:
    inst = Party(INST, parent_uscc=PARENT, legal_rep_key="k-inst")
    others = [Party(SIBLING, legal_rep_key="k-inst"), Party(OTHER, legal_rep_key="k-other")]
    assert domain.one_party(inst, others) == tuple(sorted((INST, PARENT, SIBLING)))
    assert domain.one_party(Party(INST), []) == (INST,)


def test_one_party_that_helped_write_the_self_evaluation_is_not_independent() -> None:
    inst, unit = Party(INST, legal_rep_key="k-inst"), Party(UNIT)
    assert domain.independence(inst, [], unit, [SIBLING], party=(INST, SIBLING)) == Finding(
        "engagement.party_wrote_self_evaluation", {"institution": INST, "helper": SIBLING})
    assert domain.independence(inst, [], unit, [INST, SIBLING], party=(INST, SIBLING)) == Finding(
        "engagement.wrote_self_evaluation", {"institution": INST})   # itself first
    assert domain.independence(inst, [], unit, [OTHER], party=(INST, SIBLING)) is None
    assert domain.independence(inst, [], unit, [SIBLING]) is None    # no party known: itself only
    assert refusal_of(replace(CANDIDATE, party=(INST, SIBLING)), assisted_by=[SIBLING]) == Refusal(
        "engagement.party_wrote_self_evaluation", Kind.CONFLICT,
        {"institution": INST, "helper": SIBLING})


def test_engagement_refusals_come_in_order() -> None:
    everything_wrong = replace(CANDIDATE, status="removed")
    assert refusal_of(everything_wrong, replace(FACT, kind="park"), filed=False,
                      sanctions=[NOT_ACCEPTED], already_engaged=True).code == (
        "institution.not_verified")
    assert refusal_of(unit=replace(FACT, kind="park"), sanctions=[NOT_ACCEPTED]).code == (
        "engagement.sanctioned")
    assert refusal_of(unit=replace(FACT, legal_rep_key="k-inst"), already_engaged=True).code == (
        "engagement.related_legal_rep")
    assert refusal_of() is None
    assert refusal_of(unit=replace(FACT, industry="")) is None       # no industry: no check
    assert refusal_of(replace(CANDIDATE, scope_industries=()), replace(FACT, industry="2611")) is None
    assert refusal_of(sanctions=[NOT_ACCEPTED], province="330000") is None


def test_request_checks_before_engaging() -> None:
    assert domain.level_refusal("national", rules()) is None
    assert domain.level_refusal("county", rules()) == Refusal(
        "engagement.level", Kind.INVALID, {"value": "county",
                                           "allowed": "national/provincial/municipal"})
    assert domain.ownership_refusal(FACT) is None
    assert domain.ownership_refusal(replace(FACT, ownership_declared=False)) == Refusal(
        "engagement.ownership_undeclared", params={"unit_id": "u1"})
    assert "legal_rep_key" not in FACT.kept() and FACT.kept()["id"] == "u1"


def test_the_cap_counts_national_projects_up_to_fifteen() -> None:
    r = rules()
    assert domain.counts_toward_cap("national", r)
    assert not domain.counts_toward_cap("provincial", r)
    assert domain.cap_refusal(14, 2025, r) is None
    assert domain.cap_refusal(15, 2025, r) == Refusal("engagement.cap_reached", Kind.CONFLICT,
                                                      {"used": 15, "cap": 15, "year": 2025})
    assert (domain.released(3), domain.released(0)) == (2, 0)


def test_cancel_and_active_refusals() -> None:
    assert domain.cancel_refusal("e1", "accepted", submitted=False) is None
    assert domain.cancel_refusal("e1", "accepted", submitted=True) == Refusal(
        "engagement.not_cancellable", params={"engagement_id": "e1", "status": "submitted"})
    assert domain.cancel_refusal("e1", "completed", submitted=False) == Refusal(
        "engagement.not_cancellable", params={"engagement_id": "e1", "status": "completed"})
    assert domain.active_refusal("e1", "accepted") is None
    assert domain.active_refusal("e1", "cancelled") == Refusal(
        "engagement.not_active", params={"engagement_id": "e1", "status": "cancelled"})


def test_a_score_completes_an_engagement_once_and_retakes_a_cancelled_place() -> None:
    assert domain.score_effect("accepted", True) == domain.ScoreEffect(True, False)
    assert domain.score_effect("cancelled", True) == domain.ScoreEffect(True, True)
    assert domain.score_effect("cancelled", False) == domain.ScoreEffect(True, False)
    assert domain.score_effect("completed", True) == domain.ScoreEffect(False, False)


@pytest.mark.parametrize("grant,tenant,write,seen", [
    (Grant("ministry", "000000"), "000000", True, True),
    (Grant("institution", "000000", org=INST), "320000", True, True),
    (Grant("institution", "000000", org=UNIT), "320000", False, False),
    (Grant("province", "320000"), "320000", True, True),
    (Grant("province", "320000"), "330000", False, False),
    (Grant("city", "320000", city="320100"), "320000", False, True),
    (Grant("city", "320000", city="320100"), "320000", True, False),
    (Grant("city", "320000", city="320500"), "320000", False, False),
    (Grant("enterprise", "320000", org=UNIT), "320000", True, True),
    (Grant("enterprise", "320000", org=INST), "320000", False, False),
])
def test_who_sees_an_engagement(grant: Grant, tenant: str, write: bool, seen: bool) -> None:
    parties = EngagementParties(institution_uscc=INST, unit_tenant="320000",
                                unit_location="320102", unit_uscc=UNIT)
    refusal = domain.engagement_access_refusal([grant], tenant, parties, write=write)
    assert (refusal is None) == seen
    if not seen:
        assert refusal == Refusal("auth.not_your_unit", Kind.FORBIDDEN)


# --- filings and sanctions ---------------------------------------------------------------------


def test_filing_and_reports_accepted() -> None:
    assert domain.filing_refusal(INST, "verified") is None
    assert domain.filing_refusal(INST, "removed") == Refusal(
        "institution.not_verified", params={"uscc": INST, "status": "removed"})
    assert domain.accepts_reports("verified", [], "320000", TODAY)
    assert not domain.accepts_reports("unverified", [], "320000", TODAY)
    assert not domain.accepts_reports("verified", [NOT_ACCEPTED], "320000", TODAY)


def test_who_may_decide_which_sanction() -> None:
    r = rules()
    assert domain.sanction_kind_refusal("removal", ministry_nationally=True, r=r) is None
    assert domain.sanction_kind_refusal("not_accepted", ministry_nationally=False, r=r) is None
    assert domain.sanction_kind_refusal("removal", ministry_nationally=False, r=r) == Refusal(
        "sanction.not_yours", Kind.FORBIDDEN, {"value": "removal",
                                               "allowed": "warning/not_accepted"})
    assert domain.sanction_kind_refusal("fine", ministry_nationally=True, r=r) == Refusal(
        "sanction.kind", Kind.INVALID, {"value": "fine",
                                        "allowed": "warning/not_accepted/removal"})
    assert domain.sanction_scope_refusal(INST, "000000", filed_here=False) is None
    assert domain.sanction_scope_refusal(INST, "320000", filed_here=True) is None
    assert domain.sanction_scope_refusal(INST, "330000", filed_here=False) == Refusal(
        "institution.not_found", Kind.NOT_FOUND, {"uscc": INST})
    assert domain.status_after_sanction("verified", "removal") == "removed"
    assert domain.status_after_sanction("verified", "not_accepted") == "verified"


def test_a_sanction_period_is_refused_to_the_caller() -> None:
    r = rules()
    assert domain.checked_period("warning", TODAY, None, r) is None
    assert domain.checked_period("not_accepted", TODAY, date(2026, 1, 1), r) == date(2026, 1, 1)
    with pytest.raises(DomainError) as err:
        domain.checked_period("not_accepted", TODAY, date(2030, 1, 1), r)
    assert (err.value.code, err.value.params) == ("sanction.period",
                                                  {"problem": "too_long", "max_days": 1095})


# --- work reports --------------------------------------------------------------------------------


def test_a_work_report_draft_is_parsed() -> None:
    draft = domain.WorkReportDraft.parse(year=2024, summary=" 开展评价 ", projects=2,
                                         content_json='{"a": "中"}', today=TODAY)
    assert (draft.summary, draft.content_json) == ("开展评价", '{"a": "中"}')
    assert domain.WorkReportDraft.parse(year=2025, summary="s", projects=0, content_json="",
                                        today=TODAY).content_json == "{}"
    for kw, code in (({"year": 2016}, "work_report.year"), ({"summary": ""}, "field.required"),
                     ({"projects": -1}, "work_report.projects"),
                     ({"content_json": "null"}, "work_report.content_json"),
                     ({"content_json": "{" + " " * 100_000 + "}"}, "work_report.content_json")):
        args: dict[str, Any] = {"year": 2024, "summary": "s", "projects": 0, "content_json": "",
                                **kw}
        with pytest.raises(DomainError) as err:
            domain.WorkReportDraft.parse(**args, today=TODAY)
        assert err.value.code == code


def test_a_work_report_is_closed_after_its_due_day_once_sent() -> None:
    due = domain.work_report_due(2024, rules())
    assert domain.work_report_refusal(exists=False, year=2024, due=due, today=TODAY) is None
    assert domain.work_report_refusal(exists=True, year=2024, due=due, today=due) is None
    assert domain.work_report_refusal(exists=True, year=2024, due=due, today=TODAY) == Refusal(
        "work_report.closed", Kind.CONFLICT, {"year": 2024, "due": "2025-08-15"})
    assert domain.is_late(TODAY, due) and not domain.is_late(due, due)
    assert not domain.is_late(TODAY, None)
    assert domain.overdue(["a", "b", "c"], ["b"]) == ["a", "c"]


def test_a_unit_counts_from_its_earliest_removal() -> None:
    assert domain.removal_day(None, TODAY) == TODAY
    assert domain.removal_day(date(2025, 1, 1), TODAY) == date(2025, 1, 1)
    assert domain.removal_day(date(2026, 1, 1), TODAY) == TODAY
