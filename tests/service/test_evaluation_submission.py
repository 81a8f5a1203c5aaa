"""Submission use cases in-process: the self path and the institution path, the registry's veto,
the claimed score's deviation in ``evaluation.scored``, the events recorded, and the reports."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generated.events.v1 import events_pb2 as ev
from services.evaluation import handlers
from services.evaluation.facts import EngagementStanding
from services.evaluation.report import verify_hash
from services.kernel.errors import DomainError
from tests.helpers import uscc
from tests.service.conftest import UseCases
from tests.service.evaluation_world import (
    AUDITOR,
    CLEAR,
    ENGAGED,
    INSTITUTION,
    JIANGSU,
    MET,
    NOT_ACCEPTED,
    OWNER,
    T,
    UNIT,
    VETOED,
    code_of,
    fill,
    start,
    submit,
)
from tests.service.test_evaluation_evidence import add

BY_INSTITUTION = {"preparer": "张三", "reviewer": "李四", "claimed_total": "75.5",
                  "standing": ENGAGED}


def report(uc: UseCases, evaluation_id: str, fmt: str = "json") -> tuple[bytes, str, str]:
    """The report's bytes, content type and content hash (its signature block left out)."""
    body, kind, digest, _ = uc(handlers.report_of, as_=JIANGSU, tenant=T,
                               evaluation_id=evaluation_id, fmt=fmt)
    return body, kind, digest


def test_a_self_evaluation_is_frozen_scored_reported_and_announced(evaluation: UseCases) -> None:
    draft = start(evaluation)
    fill(evaluation, draft.id)
    link = add(evaluation, draft.id)
    done = submit(evaluation, draft.id)
    assert (done.status, done.total, done.passed, done.vetoed, done.claimed_total) == (
        "submitted", "71.22", True, False, "")
    assert json.loads(done.result_json)["total"] == "71.22"
    submitted, scored = evaluation.recorded(T)
    assert isinstance(submitted.body, ev.EvaluationSubmitted)
    assert (submitted.body.evaluation_id, submitted.body.unit_id, submitted.body.path,
            submitted.body.report_hash) == (draft.id, UNIT.id, "self", done.report_hash)
    assert isinstance(scored.body, ev.EvaluationScored)
    assert (scored.body.total, scored.body.passed, scored.body.vetoed, scored.body.scheme_version,
            scored.body.claimed_total, scored.body.deviation) == ("71.22", True, False, 1, "", "")
    content = json.loads(done.report_json)
    assert content["unit"] == {**{k: getattr(UNIT, k) for k in UNIT.REPORTED},
                               "location_name": "江苏省南京市江宁区",
                               "industry_name": "计算机、通信和其他电子设备制造业"}
    assert content["path"] == "self" and content["institution"] is None
    line = next(i for i in content["indicators"] if i["id"] == "energy_per_output")
    assert line["evidence"] == [{"sha256": link.sha256, "filename": "能耗统计.pdf"}]


def test_a_retried_submit_changes_nothing_and_a_submitted_evaluation_is_frozen(
        evaluation: UseCases) -> None:
    draft = start(evaluation)
    fill(evaluation, draft.id)
    done = submit(evaluation, draft.id)
    evaluation.recorded(T)
    again = submit(evaluation, draft.id, pledge=False, veto=VETOED)
    assert (again.report_hash, again.vetoed) == (done.report_hash, False)
    assert evaluation.recorded(T) == []
    assert code_of(evaluation, handlers.set_values, as_=OWNER, tenant=T, evaluation_id=draft.id,
                   values={}, basic={}) == "evaluation.frozen"


def test_a_registry_veto_fails_the_evaluation_whatever_its_score(evaluation: UseCases) -> None:
    draft = start(evaluation)
    fill(evaluation, draft.id)
    done = submit(evaluation, draft.id, veto=VETOED)
    assert (done.total, done.vetoed, done.passed) == ("71.22", True, False)
    _, scored = evaluation.recorded(T)
    assert (scored.body.vetoed, scored.body.passed) == (True, False)
    content = json.loads(report(evaluation, draft.id)[0])
    assert content["conclusion"] == "vetoed" and content["passed"] is True  # the score alone
    assert content["veto"] == {"vetoed": True, "on": "2025-10-11", "conditions": [
        {"condition": 6, "code": "dishonest_debtor", "title_zh": "被列为失信被执行人",
         "title_en": "Listed as a dishonest judgment debtor",
         "records": [{"kind": "dishonest_debtor", "kind_zh": "失信被执行人",
                      "kind_en": "dishonest judgment debtor", "condition": 6,
                      "occurred_on": "2025-03-02", "ended_on": "", "reference": "（2025）苏01执123号",
                      "source": "信用中国"}]}]}
    assert content["contradictions"] == []  # no declaration says otherwise


def test_a_basic_requirement_not_met_vetoes_without_the_registry(evaluation: UseCases) -> None:
    draft = start(evaluation)
    fill(evaluation, draft.id, basic={**MET, "no_major_accident": False})
    done = submit(evaluation, draft.id)
    assert (done.vetoed, done.passed) == (True, False)
    assert json.loads(done.report_json)["vetoed_by"] == ["no_major_accident"]


@pytest.mark.parametrize("changes, expected", [
    ({"pledge": False}, "report.pledge_required"),
    ({"highlights": "绿" * 101}, "report.highlights_too_long"),
    ({"claimed_total": "七十"}, "value.not_a_number"),
    ({"standing": ENGAGED, "preparer": "张", "reviewer": "李", "claimed_total": "70"},
     "evaluation.engagement_required"),                      # a self-evaluation has none
])
def test_a_submission_refused_leaves_the_draft_as_it_was(evaluation: UseCases,
                                                          changes: dict[str, Any],
                                                          expected: str) -> None:
    draft = start(evaluation)
    fill(evaluation, draft.id)
    with pytest.raises(DomainError) as caught:
        submit(evaluation, draft.id, **changes)
    assert caught.value.code == expected
    assert evaluation(handlers.get, as_=OWNER, tenant=T, evaluation_id=draft.id).status == "draft"
    assert evaluation.recorded(T) == []


def test_an_institutions_report_carries_its_claim_and_the_deviation(evaluation: UseCases) -> None:
    draft = start(evaluation, as_=AUDITOR, engagement=ENGAGED)
    fill(evaluation, draft.id, as_=AUDITOR)
    done = submit(evaluation, draft.id, as_=AUDITOR, **BY_INSTITUTION)
    assert (done.path, done.total, done.claimed_total, done.passed) == (
        "institution", "71.22", "75.5", True)
    submitted, scored = evaluation.recorded(T)
    assert submitted.body.path == "institution"
    assert (scored.body.claimed_total, scored.body.deviation, scored.body.institution_uscc,
            scored.body.engagement_id) == ("75.5", "4.28", INSTITUTION.uscc, "en-1")
    content = json.loads(done.report_json)
    assert content["institution"] == {"uscc": INSTITUTION.uscc, "name": "某认证中心",
                                      "legal_representative": "王五", "address": "北京市"}
    assert (content["claimed_total"], content["deviation"]) == ("75.50", "4.28")
    assert (content["preparer"], content["reviewer"]) == ("张三", "李四")


@pytest.mark.parametrize("changes, expected", [
    ({"standing": NOT_ACCEPTED}, "evaluation.reports_not_accepted"),
    ({"preparer": " "}, "evaluation.institution_requires"),
    ({"reviewer": ""}, "evaluation.institution_requires"),
    ({"claimed_total": ""}, "evaluation.institution_requires"),
    ({"standing": None}, "evaluation.engagement_required"),
])
def test_an_institutions_submission_needs_acceptance_people_and_its_score(
        evaluation: UseCases, changes: dict[str, Any], expected: str) -> None:
    draft = start(evaluation, as_=AUDITOR, engagement=ENGAGED)
    fill(evaluation, draft.id, as_=AUDITOR)
    with pytest.raises(DomainError) as caught:
        submit(evaluation, draft.id, as_=AUDITOR, **{**BY_INSTITUTION, **changes})
    assert caught.value.code == expected
    assert evaluation.recorded(T) == []


def test_an_institution_cannot_submit_after_the_unit_wrote_a_self_evaluation_it_helped_with(
        evaluation: UseCases) -> None:
    """Independence is checked again at submission: the enterprise wrote its self-evaluation
    "assisted by" the institution after the institution's draft began."""
    draft = start(evaluation, as_=AUDITOR, engagement=ENGAGED)
    fill(evaluation, draft.id, as_=AUDITOR)
    start(evaluation, request_id="self-1", assisted_by=INSTITUTION.uscc)
    with pytest.raises(DomainError) as caught:
        submit(evaluation, draft.id, as_=AUDITOR, **BY_INSTITUTION)
    assert (caught.value.code, caught.value.kind.http_status, caught.value.params) == (
        "evaluation.wrote_self_evaluation", 409,
        {"institution": INSTITUTION.uscc, "helper": INSTITUTION.uscc})
    assert evaluation(handlers.get, as_=AUDITOR, tenant=T, evaluation_id=draft.id).status == (
        "draft")
    assert evaluation.recorded(T) == []


def test_one_party_with_the_helper_cannot_submit(evaluation: UseCases) -> None:
    """A self-evaluation written with the help of an institution that is one party with the
    engaged one (the same legal representative or parent) stops its submission too."""
    sibling = uscc("110108")
    standing = EngagementStanding(**{**ENGAGED.__dict__, "party": (INSTITUTION.uscc, sibling)})
    draft = start(evaluation, as_=AUDITOR, engagement=standing)
    fill(evaluation, draft.id, as_=AUDITOR)
    start(evaluation, request_id="self-1", assisted_by=sibling)
    assert code_of(evaluation, handlers.submit, as_=AUDITOR, tenant=T, evaluation_id=draft.id,
                   veto=CLEAR, highlights="", pledge=True,
                   **{**BY_INSTITUTION, "standing": standing}) == (
        "evaluation.wrote_self_evaluation")
    done = submit(evaluation, draft.id, as_=AUDITOR, **BY_INSTITUTION)   # party unknown: itself
    assert done.status == "submitted"


def test_the_unit_cannot_submit_the_institutions_evaluation(evaluation: UseCases) -> None:
    draft = start(evaluation, as_=AUDITOR, engagement=ENGAGED)
    assert code_of(evaluation, handlers.submit, as_=OWNER, tenant=T, evaluation_id=draft.id,
                   veto=CLEAR, highlights="", preparer="", reviewer="", pledge=True,
                   claimed_total="", standing=None) == "evaluation.institution_writes"


# --- reports --------------------------------------------------------------------------------------


def test_the_report_reads_the_same_in_every_format_and_every_time(evaluation: UseCases) -> None:
    draft = start(evaluation)
    fill(evaluation, draft.id)
    assert code_of(evaluation, handlers.report_of, as_=OWNER, tenant=T, evaluation_id=draft.id,
                   fmt="json") == "evaluation.not_submitted"
    done = submit(evaluation, draft.id)
    body, kind, digest = report(evaluation, draft.id)
    content = json.loads(body)
    assert kind == "application/json" and digest == done.report_hash
    assert verify_hash(content) and content["content_hash"] == digest
    assert report(evaluation, draft.id) == (body, kind, digest)
    page, kind, _ = report(evaluation, draft.id, "html")
    assert kind.startswith("text/html") and digest.encode() in page
    pdf, kind, _ = report(evaluation, draft.id, "pdf")
    assert kind == "application/pdf" and pdf.startswith(b"%PDF")
    assert report(evaluation, draft.id, "pdf")[0] == pdf
    assert code_of(evaluation, handlers.report_of, as_=OWNER, tenant=T, evaluation_id=draft.id,
                   fmt="docx") == "report.format"
