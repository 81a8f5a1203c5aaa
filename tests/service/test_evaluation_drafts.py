"""Evaluation use cases in-process: drafts (self path and institution path), values, preview,
and who may see or change an evaluation. Facts of other services are given as frozen values."""

from __future__ import annotations

import json

import pytest

from services.evaluation import handlers
from services.evaluation.facts import EngagementStanding
from services.kernel.errors import DomainError
from services.kernel.identity import Identity
from tests.helpers import uscc
from tests.service.conftest import UseCases
from tests.service.evaluation_world import (
    CLEAR,
    T,
    UNIT,
    INSTITUTION,
    OWNER,
    OTHER_ENTERPRISE,
    JIANGSU,
    ZHEJIANG,
    NANJING,
    SUZHOU,
    AUDITOR,
    OTHER_INSTITUTION,
    ENGAGED,
    NOT_ACCEPTED,
    MET,
    code_of,
    start,
    fill,
)


# --- creating a draft -----------------------------------------------------------------------------


def test_a_retried_create_returns_the_first_draft(evaluation: UseCases) -> None:
    first = start(evaluation)
    assert start(evaluation).id == first.id
    assert start(evaluation, request_id="r2").id != first.id
    assert (first.status, first.path, first.scheme_version) == ("draft", "self", 1)
    assert first.unit_json == UNIT.as_json() and json.loads(first.unit_json)["name"] == "南京示例厂"
    assert evaluation.recorded(T) == []  # a draft announces nothing


def test_an_engagement_has_one_evaluation(evaluation: UseCases) -> None:
    first = start(evaluation, as_=AUDITOR, engagement=ENGAGED)
    assert start(evaluation, as_=AUDITOR, engagement=ENGAGED, request_id="r2").id == first.id
    assert (first.path, first.institution_uscc, first.engagement_id) == (
        "institution", INSTITUTION.uscc, "en-1")


def test_only_the_units_enterprise_starts_a_self_evaluation(evaluation: UseCases) -> None:
    assert code_of(evaluation, handlers.create, as_=OTHER_ENTERPRISE, tenant=T, unit=UNIT,
                   scheme_id="gbt36132-2025", scheme_version=1, request_id="r",
                   assisted_by="") == "auth.not_your_unit"
    with pytest.raises(DomainError) as caught:
        start(evaluation, as_=JIANGSU)
    assert caught.value.code == "auth.forbidden_role"


@pytest.mark.parametrize("who, engagement, assisted_by, expected", [
    (OTHER_INSTITUTION, ENGAGED, "", "auth.not_your_unit"),
    (AUDITOR, NOT_ACCEPTED, "", "evaluation.reports_not_accepted"),
    (AUDITOR, ENGAGED, "91320100MA1N2P3Q43", "evaluation.assisted_by_self_only"),
])
def test_an_institution_starts_only_its_own_engagement_while_accepted(
        evaluation: UseCases, who: Identity, engagement: EngagementStanding, assisted_by: str,
        expected: str) -> None:
    with pytest.raises(DomainError) as caught:
        start(evaluation, as_=who, engagement=engagement, assisted_by=assisted_by)
    assert caught.value.code == expected


def test_an_institution_is_refused_its_evaluation_when_it_helped_write_the_self_evaluation(
        evaluation: UseCases) -> None:
    """The enterprise engaged the institution, then wrote its self-evaluation "assisted by" it:
    the institution may no longer start its evaluation (nor may one of its party)."""
    start(evaluation, request_id="self-1", assisted_by=INSTITUTION.uscc)
    with pytest.raises(DomainError) as caught:
        start(evaluation, as_=AUDITOR, engagement=ENGAGED, request_id="inst-1")
    assert (caught.value.code, caught.value.kind.http_status, caught.value.params) == (
        "evaluation.wrote_self_evaluation", 409,
        {"institution": INSTITUTION.uscc, "helper": INSTITUTION.uscc})
    assert [e.path for e in evaluation(handlers.of_unit, as_=OWNER, tenant=T, unit=UNIT)] == [
        "self"]                                                 # nothing of it was kept


def test_one_party_with_the_helper_is_refused_its_evaluation(evaluation: UseCases) -> None:
    sibling = uscc("110108")                  # shares the institution's legal representative
    start(evaluation, request_id="self-1", assisted_by=sibling)
    unrelated = start(evaluation, as_=AUDITOR, engagement=ENGAGED, request_id="inst-1")
    assert unrelated.path == "institution"   # the sibling is not known as its party: started
    of_one_party = EngagementStanding(**{**ENGAGED.__dict__, "id": "en-2",
                                         "party": (INSTITUTION.uscc, sibling)})
    with pytest.raises(DomainError) as caught:
        start(evaluation, as_=AUDITOR, engagement=of_one_party, request_id="inst-2")
    assert (caught.value.code, caught.value.params["helper"]) == (
        "evaluation.wrote_self_evaluation", sibling)


@pytest.mark.parametrize("changes, expected", [
    ({"scheme_id": "park-requirements"}, "evaluation.scheme_category"),
    ({"scheme_id": "no-such-scheme"}, "scheme.unknown"),
    ({"request_id": " "}, "evaluation.request_id_required"),
    ({"assisted_by": "not-a-uscc"}, "uscc.length"),
])
def test_a_draft_needs_a_fitting_scheme_a_request_id_and_a_real_helper(
        evaluation: UseCases, changes: dict[str, str], expected: str) -> None:
    with pytest.raises(DomainError) as caught:
        start(evaluation, **changes)
    assert caught.value.code == expected


def test_a_helper_is_kept_with_a_self_evaluation(evaluation: UseCases) -> None:
    helper = uscc("110000")
    assert start(evaluation, assisted_by=f" {helper} ").assisted_by == helper


# --- values and the preview -----------------------------------------------------------------------


def test_values_are_merged_and_an_empty_value_clears(evaluation: UseCases) -> None:
    draft = start(evaluation)
    fill(evaluation, draft.id)
    changed = evaluation(handlers.set_values, as_=OWNER, tenant=T, evaluation_id=draft.id,
                         values={"water_reuse": {}, "plot_ratio": {"amount": "1.5", "unit": "-"}},
                         basic={"lawful_operation": False})
    values = json.loads(changed.values_json)
    assert "water_reuse" not in values and values["plot_ratio"] == {"amount": "1.5", "unit": "-"}
    assert json.loads(changed.basic_json) == {**MET, "lawful_operation": False}


@pytest.mark.parametrize("values, basic, expected", [
    ({"nope": {"amount": "1"}}, {}, "value.unknown_indicator"),
    ({"energy_per_output": {"amount": "0.1", "unit": "kgce/万元"}}, {}, "value.unit_mismatch"),
    ({"energy_per_output": {"option": "one_case"}}, {}, "value.expects_quantity"),
    ({"material_saving": {"option": "no_such"}}, {}, "value.unknown_option"),
    ({}, {"no_such_requirement": True}, "value.unknown_requirement"),
])
def test_a_value_the_pinned_scheme_cannot_take_is_refused_and_nothing_is_kept(
        evaluation: UseCases, values: dict, basic: dict, expected: str) -> None:
    draft = start(evaluation)
    assert code_of(evaluation, handlers.set_values, as_=OWNER, tenant=T, evaluation_id=draft.id,
                   values=values, basic=basic) == expected
    held = evaluation(handlers.get, as_=OWNER, tenant=T, evaluation_id=draft.id)
    assert (held.values_json, held.basic_json) == ("{}", "{}")


def test_the_preview_explains_the_score_and_stores_nothing(evaluation: UseCases) -> None:
    draft = start(evaluation)
    fill(evaluation, draft.id)
    held, result = evaluation(handlers.preview, as_=JIANGSU, tenant=T, evaluation_id=draft.id,
                              veto=CLEAR)
    assert (result["total"], result["passed"], result["contradictions"]) == ("71.22", True, [])
    (line,) = [i for i in result["indicators"] if i["id"] == "energy_per_output"]
    assert (line["points"], line["baseline"], line["leading"]) == ("6.88", "0.25", "0.08")
    assert (held.status, held.result_json, held.total) == ("draft", "", "")
    _, vetoed = evaluation(handlers.preview, as_=OWNER, tenant=T, evaluation_id=fill(
        evaluation, draft.id, basic={**MET, "no_major_accident": False}).id, veto=CLEAR)
    assert vetoed["vetoed_by"] == ["no_major_accident"] and not vetoed["passed"]


# --- who may see and change -----------------------------------------------------------------------


@pytest.mark.parametrize("who, tenant, expected", [
    (OWNER, T, None), (JIANGSU, T, None), (NANJING, T, None),
    (OTHER_ENTERPRISE, T, "auth.not_your_unit"),
    (SUZHOU, T, "auth.outside_city"),
    (ZHEJIANG, T, "auth.forbidden_role"),
    (ZHEJIANG, "330000", "evaluation.not_found"),
    (AUDITOR, T, "auth.forbidden_role"),  # an institution not engaged on it
])
def test_who_reads_a_self_evaluation(evaluation: UseCases, who: Identity, tenant: str,
                                     expected: str | None) -> None:
    draft = start(evaluation)
    if expected is None:
        seen = evaluation(handlers.get, as_=who, tenant=tenant, evaluation_id=draft.id)
        assert seen.id == draft.id
    else:
        assert code_of(evaluation, handlers.get, as_=who, tenant=tenant,
                       evaluation_id=draft.id) == expected


def test_officials_read_but_only_the_owner_changes_a_self_evaluation(evaluation: UseCases) -> None:
    draft = start(evaluation)
    for who in (JIANGSU, NANJING):
        assert code_of(evaluation, handlers.writable, as_=who, tenant=T,
                       evaluation_id=draft.id) == "auth.forbidden_role"
        assert code_of(evaluation, handlers.set_values, as_=who, tenant=T,
                       evaluation_id=draft.id, values={}, basic={}) == "auth.forbidden_role"
    assert evaluation(handlers.writable, as_=OWNER, tenant=T, evaluation_id=draft.id).id == draft.id
    assert code_of(evaluation, handlers.get, as_=OWNER, tenant=T,
                   evaluation_id="no-such") == "evaluation.not_found"


def test_only_the_engaged_institution_changes_its_evaluation(evaluation: UseCases) -> None:
    theirs = start(evaluation, as_=AUDITOR, engagement=ENGAGED)
    assert evaluation(handlers.writable, as_=AUDITOR, tenant=T, evaluation_id=theirs.id).id
    # the unit's enterprise and its officials read it, but only the institution writes it
    for who in (OWNER, JIANGSU):
        assert evaluation(handlers.get, as_=who, tenant=T, evaluation_id=theirs.id).id
    assert code_of(evaluation, handlers.set_values, as_=OWNER, tenant=T, evaluation_id=theirs.id,
                   values={}, basic={}) == "evaluation.institution_writes"
    assert code_of(evaluation, handlers.get, as_=OTHER_INSTITUTION, tenant=T,
                   evaluation_id=theirs.id) == "auth.forbidden_role"


def test_a_units_and_an_engagements_evaluations_are_listed_for_their_readers(
        evaluation: UseCases) -> None:
    own = start(evaluation)
    theirs = start(evaluation, as_=AUDITOR, engagement=ENGAGED)
    listed = evaluation(handlers.of_unit, as_=JIANGSU, tenant=T, unit=UNIT)
    assert [e.id for e in listed] == [own.id, theirs.id]
    assert code_of(evaluation, handlers.of_unit, as_=SUZHOU, tenant=T,
                   unit=UNIT) == "auth.outside_city"
    assert [e.id for e in evaluation(handlers.of_engagement, as_=AUDITOR, tenant=T,
                                     engagement_id="en-1")] == [theirs.id]
    assert evaluation(handlers.of_engagement, as_=AUDITOR, tenant=T, engagement_id="en-2") == []
    assert code_of(evaluation, handlers.of_engagement, as_=OTHER_INSTITUTION, tenant=T,
                   engagement_id="en-1") == "auth.forbidden_role"
