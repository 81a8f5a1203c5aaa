"""Evaluation rules without I/O (services/evaluation/domain.py) and the facts other services
state (services/evaluation/facts.py): one test per rule."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest

from services.evaluation import domain, scoring
from services.evaluation.facts import (
    UNIT_KEYS,
    EngagementStanding,
    InstitutionFact,
    UnitFact,
    VetoCondition,
    VetoFact,
    VetoRecord,
)
from services.evaluation.schemes import get_scheme
from services.kernel.errors import DomainError, Kind, Refusal
from services.kernel.identity import Grant
from tests.helpers import uscc
from tests.unit.test_scoring import GBT2025_VALUES

SCHEME = get_scheme("gbt36132-2025", 1)
MET = {r.id: True for r in SCHEME.basic_requirements}
UNIT = UnitFact(id="u-1", uscc="91320100MA1N2P3Q43", site="", name="南京示例厂", kind="factory",
                location="320115", city="320100", industry="3971")
INSTITUTION = InstitutionFact(uscc="91110000MA0YYYYY0Y", name="某认证中心")
PDF = b"%PDF-1.4\n% evidence\n%%EOF\n"


def standing(accepted: bool = True) -> EngagementStanding:
    return EngagementStanding(id="en-1", institution_uscc=INSTITUTION.uscc, unit_id=UNIT.id,
                              unit=UNIT, reports_accepted=accepted, institution=INSTITUTION)


def code(refusal: Refusal | None) -> str | None:
    return None if refusal is None else refusal.code


def raised(fn, /, **kwargs) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as caught:
        fn(**kwargs)
    return caught.value


# --- facts ----------------------------------------------------------------------------------------


def test_unit_fact_is_stored_as_the_unit_json_always_was() -> None:
    data = {"id": "u-1", "uscc": "91320100MA1N2P3Q43", "site": "", "name": "南京示例厂",
            "kind": "factory", "location": "320115", "city": "320100", "industry": "3971",
            "status": "active"}
    fact = UnitFact.of(data)
    assert fact == UNIT and UNIT_KEYS == ("id", "uscc", "site", "name", "kind", "location",
                                          "city", "industry")
    assert fact.as_json() == json.dumps({k: data[k] for k in UNIT_KEYS}, ensure_ascii=False)
    assert set(UnitFact.REPORTED) < set(UNIT_KEYS)


def test_veto_and_institution_facts_are_what_the_report_takes() -> None:
    later = VetoRecord(kind="dishonest_debtor", kind_zh="失信被执行人", kind_en="debtor",
                       condition=6, occurred_on="2025-03-02")
    earlier = VetoRecord(kind="safety_accident", kind_zh="安全事故", kind_en="safety accident",
                         condition=2, occurred_on="2024-05-06", reference="文号")
    veto = VetoFact(vetoed=True, on="2025-10-11", conditions=(
        VetoCondition(condition=2, code="accident_or_violation", title="事故", records=(earlier,)),
        VetoCondition(condition=6, code="dishonest_debtor", title="失信被执行人",
                      records=(later,))))
    assert veto.records() == (earlier, later)
    assert "id" not in {f.name for f in dataclasses.fields(VetoRecord)}
    assert not {"unit_id", "recorded_by", "recorded_at"} & {
        f.name for f in dataclasses.fields(VetoRecord)}
    assert INSTITUTION.as_report() == {"uscc": INSTITUTION.uscc, "name": "某认证中心",
                                       "address": "", "legal_representative": ""}


# --- who may act ----------------------------------------------------------------------------------


def test_only_the_engaged_institution_acts_on_its_evaluation() -> None:
    own = (Grant("institution", "320000", org=INSTITUTION.uscc),)
    other = (Grant("institution", "320000", org=uscc("110000")),)
    assert domain.institution_may_act(own, path="institution", institution_uscc=INSTITUTION.uscc)
    assert not domain.institution_may_act(other, path="institution",
                                          institution_uscc=INSTITUTION.uscc)
    assert not domain.institution_may_act(own, path="self", institution_uscc=INSTITUTION.uscc)


def test_nobody_else_writes_an_institutions_evaluation() -> None:
    refusal = domain.institution_writes(path="institution", institution_uscc="X", write=True)
    assert code(refusal) == "evaluation.institution_writes" and refusal.kind is Kind.FORBIDDEN
    assert domain.institution_writes(path="institution", institution_uscc="X", write=False) is None
    assert domain.institution_writes(path="self", institution_uscc="", write=True) is None


def test_a_submitted_evaluation_is_frozen() -> None:
    assert domain.frozen(status="draft", evaluation_id="e") is None
    assert code(domain.frozen(status="submitted", evaluation_id="e")) == "evaluation.frozen"


# --- a new draft ----------------------------------------------------------------------------------


def test_an_institution_not_accepted_may_not_start_and_names_no_helper() -> None:
    assert domain.engagement_refusal(None, assisted_by=uscc()) is None
    assert domain.engagement_refusal(standing(), assisted_by="") is None
    refused = domain.engagement_refusal(standing(accepted=False), assisted_by="")
    assert code(refused) == "evaluation.reports_not_accepted"
    assert refused.params == {"institution": INSTITUTION.uscc}
    helper = domain.engagement_refusal(standing(), assisted_by=uscc())
    assert code(helper) == "evaluation.assisted_by_self_only" and helper.kind is Kind.INVALID


def test_an_institution_that_or_whose_party_helped_write_the_self_evaluation_is_refused() -> None:
    sibling, stranger = uscc("110108"), uscc("330100")
    engaged = EngagementStanding(**{**standing().__dict__, "party": (INSTITUTION.uscc, sibling)})
    assert domain.independence_refusal(None, [INSTITUTION.uscc]) is None     # the self path
    assert domain.independence_refusal(engaged, []) is None
    assert domain.independence_refusal(engaged, [stranger]) is None
    itself = domain.independence_refusal(standing(), [stranger, INSTITUTION.uscc])
    assert itself == Refusal("evaluation.wrote_self_evaluation", Kind.CONFLICT,
                             {"institution": INSTITUTION.uscc, "helper": INSTITUTION.uscc})
    assert domain.independence_refusal(engaged, [sibling]) == Refusal(
        "evaluation.wrote_self_evaluation", Kind.CONFLICT,
        {"institution": INSTITUTION.uscc, "helper": sibling})
    both = domain.independence_refusal(engaged, [sibling, INSTITUTION.uscc])
    assert both is not None and both.params["helper"] == INSTITUTION.uscc   # itself first


def test_the_scheme_category_must_be_the_units_kind() -> None:
    assert domain.scheme_refusal(SCHEME, UNIT) is None
    refusal = domain.scheme_refusal(get_scheme("park-requirements"), UNIT)
    assert code(refusal) == "evaluation.scheme_category"
    assert refusal.params == {"scheme": "park-requirements", "category": "park", "kind": "factory"}


def test_a_new_draft_is_pinned_and_takes_its_path_from_the_engagement() -> None:
    helper = uscc()
    own = domain.new_draft(unit=UNIT, scheme=SCHEME, engagement=None, request_id=" r1 ",
                           assisted_by=helper)
    assert (own.path, own.scheme_version, own.request_id, own.assisted_by) == (
        "self", 1, "r1", helper)
    theirs = domain.new_draft(unit=UNIT, scheme=SCHEME, engagement=standing(), request_id="r2",
                              assisted_by="")
    assert (theirs.path, theirs.institution_uscc, theirs.engagement_id) == (
        "institution", INSTITUTION.uscc, "en-1")


@pytest.mark.parametrize("request_id, assisted_by, expected", [
    ("  ", "", "evaluation.request_id_required"),
    ("x" * 81, "", "text.too_long"),
    ("r1", "not-a-uscc", "uscc.length"),
])
def test_a_new_draft_needs_a_request_id_and_a_real_helper(request_id: str, assisted_by: str,
                                                           expected: str) -> None:
    error = raised(domain.new_draft, unit=UNIT, scheme=SCHEME, engagement=None,
                   request_id=request_id, assisted_by=assisted_by)
    assert (error.code, error.kind) == (expected, Kind.INVALID)


# --- values ---------------------------------------------------------------------------------------


def test_a_value_is_parsed_into_its_stored_form() -> None:
    def parse(**kw):  # type: ignore[no-untyped-def]
        return domain.parse_value("i", **{"amount": "", "unit": "", "option": "", "met": None,
                                          "yearly": [], **kw})
    assert parse(amount="0.12", unit="tce/万元") == {"amount": "0.12", "unit": "tce/万元"}
    assert parse(yearly=["1", "2"], unit="%") == {"yearly": ["1", "2"], "unit": "%"}
    assert parse(option="one_case") == {"option": "one_case"}
    assert parse(met=False) == {"met": False}
    assert parse() == {}
    error = raised(domain.parse_value, indicator_id="i", amount="1,5", unit="", option="",
                   met=None, yearly=[])
    assert (error.code, error.params) == ("value.not_a_number", {"id": "i", "value": "1,5"})


def test_a_stored_value_is_what_the_scorer_takes() -> None:
    assert domain.stored_value({"amount": "1", "unit": "%"}) == scoring.Quantity("1", "%")
    assert domain.stored_value({"yearly": ["1"], "unit": "%"}) == scoring.Yearly(["1"], "%")
    assert domain.stored_value({"option": "a"}) == "a"
    assert domain.stored_value({"met": True}) is True and domain.stored_value({}) is None


def test_new_values_replace_old_ones_and_an_empty_one_clears() -> None:
    values, basic = domain.merge_values(
        {"a": {"option": "x"}, "b": {"met": True}}, {"lawful": True},
        values={"a": {}, "c": {"option": "y"}}, basic={"lawful": False})
    assert values == {"b": {"met": True}, "c": {"option": "y"}} and basic == {"lawful": False}


def test_a_value_the_pinned_scheme_cannot_take_is_refused() -> None:
    assert domain.score(SCHEME, {"water_reuse": {"amount": "92", "unit": "%"}}, MET).total > 0
    assert raised(domain.score, scheme=SCHEME, values={"nope": {"amount": "1"}},
                  basic=MET).code == "value.unknown_indicator"
    assert raised(domain.score, scheme=SCHEME,
                  values={"water_reuse": {"amount": "92", "unit": "‰"}},
                  basic=MET).code == "value.unit_mismatch"


# --- evidence -------------------------------------------------------------------------------------


def test_an_allowed_file_is_accepted_by_its_hash() -> None:
    accepted = domain.evidence_file(filename=" 能耗.PDF ", content_type="application/pdf",
                                    content=PDF, limits=domain.evidence_rules())
    assert (accepted.filename, accepted.size, len(accepted.sha256)) == ("能耗.PDF", len(PDF), 64)


@pytest.mark.parametrize("filename, content_type, content, expected, kind", [
    ("a.pdf", "application/pdf", b"", "evidence.empty", Kind.INVALID),
    ("a.pdf", "application/pdf", b"%PDF-" + b"0" * 30, "evidence.too_large", Kind.TOO_LARGE),
    ("a" * 201 + ".pdf", "application/pdf", PDF, "text.too_long", Kind.INVALID),
    ("a.exe", "application/octet-stream", b"MZ", "evidence.type", Kind.INVALID),
    ("a.png", "application/pdf", PDF, "evidence.type", Kind.INVALID),
    ("a.pdf", "application/pdf", b"MZ\x90\x00 not a pdf", "evidence.content_mismatch",
     Kind.INVALID),
])
def test_a_file_that_is_not_what_it_says_is_refused(filename: str, content_type: str,
                                                      content: bytes, expected: str,
                                                      kind: Kind) -> None:
    limits = domain.EvidenceRules(max_bytes=30, types=domain.evidence_rules().types)
    error = raised(domain.evidence_file, filename=filename, content_type=content_type,
                   content=content, limits=limits)
    assert (error.code, error.kind) == (expected, kind)


def test_evidence_rules_come_from_the_rules_file() -> None:
    rules = domain.evidence_rules()
    assert rules.max_bytes == 10 * 2**20
    assert rules.types["image/png"].magic == (b"\x89PNG\r\n\x1a\n",)


def test_evidence_backs_an_indicator_of_the_pinned_scheme() -> None:
    assert domain.unknown_indicator(SCHEME, "water_reuse") is None
    refusal = domain.unknown_indicator(SCHEME, "nope")
    assert code(refusal) == "value.unknown_indicator"
    assert refusal.params == {"scheme": "gbt36132-2025 v1", "id": "nope"}


# --- submission -----------------------------------------------------------------------------------


def test_an_institutions_report_names_its_people_and_its_score() -> None:
    full = {"preparer": "张三", "reviewer": "李四", "claimed_total": "75.5"}
    assert domain.institution_submit_refusal(None, preparer="", reviewer="",
                                             claimed_total="") is None
    assert domain.institution_submit_refusal(standing(), **full) is None
    assert code(domain.institution_submit_refusal(standing(accepted=False), **full)) == (
        "evaluation.reports_not_accepted")
    for field in full:
        refusal = domain.institution_submit_refusal(standing(), **{**full, field: " "})
        assert code(refusal) == "evaluation.institution_requires"
        assert refusal.params == {"field": field} and refusal.kind is Kind.INVALID


def test_a_claimed_total_is_a_number_or_nothing() -> None:
    assert domain.parse_claimed(" ") is None
    assert domain.parse_claimed("75.5") == Decimal("75.5")
    assert raised(domain.parse_claimed, claimed_total="七十").code == "value.not_a_number"


def test_the_path_must_match_the_engagement() -> None:
    assert domain.path_refusal(path="self", engaged=False, evaluation_id="e") is None
    assert domain.path_refusal(path="institution", engaged=True, evaluation_id="e") is None
    for path, engaged in (("self", True), ("institution", False)):
        assert code(domain.path_refusal(path=path, engaged=engaged, evaluation_id="e")) == (
            "evaluation.engagement_required")


def test_highlights_are_at_most_100_characters() -> None:
    assert domain.highlights_refusal(" " + "绿" * 100 + " ") is None
    refusal = domain.highlights_refusal("绿" * 101)
    assert code(refusal) == "report.highlights_too_long"
    assert refusal.params == {"max": 100, "length": 101}


def test_no_report_without_the_pledge() -> None:
    assert domain.pledge_refusal(True) is None
    assert code(domain.pledge_refusal(False)) == "report.pledge_required"


def test_a_veto_fails_whatever_the_score_and_the_claim_deviates_from_the_platform() -> None:
    result = scoring.score(SCHEME, GBT2025_VALUES, basic=MET)
    clean = domain.verdict(result, veto_applies=False, claimed=Decimal("75.5"))
    assert (clean.total, clean.passed, clean.vetoed) == (Decimal("71.22"), True, False)
    assert (clean.claimed_total, clean.deviation) == ("75.5", "4.28")
    vetoed = domain.verdict(result, veto_applies=True, claimed=None)
    assert (vetoed.passed, vetoed.vetoed, vetoed.claimed_total, vetoed.deviation) == (
        False, True, "", "")
    basic = domain.verdict(scoring.score(SCHEME, GBT2025_VALUES, basic={}), veto_applies=False,
                           claimed=None)
    assert (basic.passed, basic.vetoed) == (False, True)


def test_a_report_exists_once_submitted_in_three_formats() -> None:
    for fmt in ("json", "html", "pdf"):
        assert domain.report_refusal(status="submitted", evaluation_id="e", fmt=fmt) is None
    assert code(domain.report_refusal(status="draft", evaluation_id="e", fmt="json")) == (
        "evaluation.not_submitted")
    assert code(domain.report_refusal(status="submitted", evaluation_id="e", fmt="docx")) == (
        "report.format")


def test_only_a_draft_is_scored_again_a_submitted_evaluation_keeps_its_score() -> None:
    assert domain.scored_live(status="draft") is True
    assert domain.scored_live(status="submitted") is False


# --- re-scoring -----------------------------------------------------------------------------------


def test_values_another_version_cannot_take_are_named_not_carried() -> None:
    carried, dropped = domain.carry(SCHEME, {"water_reuse": {"amount": "92", "unit": "%"},
                                             "gone": {"option": "x"},
                                             "plot_ratio": {"amount": "1", "unit": "%"}})
    assert list(carried) == ["water_reuse"] and dropped == ["gone", "plot_ratio"]


def test_rescoring_says_who_falls_below_the_mark_and_by_which_indicator() -> None:
    stored = {k: ({"amount": str(v.amount), "unit": v.unit} if isinstance(v, scoring.Quantity)
                  else {"option": v}) for k, v in GBT2025_VALUES.items()}
    old = scoring.result_dict(scoring.score(SCHEME, GBT2025_VALUES, basic=MET))
    old["indicators"][0]["points"] = "9.00"           # as if v1 had given more for energy
    held = domain.Held(evaluation_id="e", unit_id="u", scheme_version=1, values=stored,
                       basic={**MET, "retired_requirement": True}, result=old, vetoed=False)
    row = domain.rescore(SCHEME, held)
    assert (row.old_total, row.new_total, row.old_passed, row.new_passed) == (
        "71.22", "71.22", True, True)
    assert [(c.indicator_id, c.old_points, c.new_points, c.fell) for c in row.changes] == [
        ("energy_per_output", "9.00", "6.88", True)]
    vetoed = domain.rescore(SCHEME, domain.Held(**{**held.__dict__, "vetoed": True}))
    assert (vetoed.old_passed, vetoed.new_passed, vetoed.now_below_mark) == (False, False, False)
