"""Reports that read right and can be verified, in-process: the level an evaluation is for and
its pass mark, a declaration the registry contradicts (in the preview, the score kept and the
report), the signed report verified against the published keys, and a report stored under
format 1 read today."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from services.evaluation import handlers
from services.evaluation.api import view
from services.evaluation.handlers import drafts
from services.evaluation.report import content_hash, report_json
from services.evaluation.schemes import get_scheme
from services.evaluation.store import Evaluation
from tests.service.conftest import UseCases
from tests.service.evaluation_world import (
    ACCIDENT,
    ACCIDENT_VETO,
    AUDITOR,
    CLEAR,
    ENGAGED,
    JIANGSU,
    MET,
    OWNER,
    T,
    code_of,
    fill,
    start,
    submit,
)
from tests.unit.test_evaluation_declarations import levelled
from tests.unit.test_report import format_1
from tests.unit.test_report_signature import forged_pdf

SCHEME = get_scheme("gbt36132-2025", 1)
BY_INSTITUTION = {"preparer": "张三", "reviewer": "李四", "claimed_total": "75.5"}


def report(uc: UseCases, evaluation_id: str, fmt: str = "json") -> tuple[bytes, dict[str, Any]]:
    """The report's bytes and its signature block."""
    body, _, _, signature = uc(handlers.report_of, as_=JIANGSU, tenant=T,
                               evaluation_id=evaluation_id, fmt=fmt)
    return body, signature


# --- the level ----------------------------------------------------------------------------------


@pytest.mark.parametrize("level, mark, passed", [
    ("municipal", "55.00", True), ("provincial", "60.00", True), ("national", "75.00", False),
    ("", "60.00", True)])
def test_the_level_is_kept_sets_the_pass_mark_and_is_stated(
        evaluation: UseCases, monkeypatch: pytest.MonkeyPatch, level: str, mark: str,
        passed: bool) -> None:
    monkeypatch.setattr(drafts, "get_scheme", lambda scheme_id, version: levelled())
    draft = start(evaluation, level=level)
    assert draft.level == level and view(draft, []).level == level
    fill(evaluation, draft.id)
    _, preview = evaluation(handlers.preview, as_=OWNER, tenant=T, evaluation_id=draft.id,
                            veto=CLEAR)
    assert Decimal(preview["pass_mark"]) == Decimal(mark) and preview["total"] == "71.22"
    done = submit(evaluation, draft.id)
    content = json.loads(done.report_json)
    assert (content["level"], content["pass_mark"], content["total"]) == (
        level or None, mark, "71.22")
    assert (done.passed, content["conclusion"]) == (passed, "passed" if passed else "failed")


def test_a_level_that_is_none_of_the_three_is_refused(evaluation: UseCases) -> None:
    assert code_of(evaluation, handlers.create, as_=OWNER, tenant=T, request_id="r",
                   unit=ENGAGED.unit, scheme_id="gbt36132-2025", scheme_version=1,
                   assisted_by="", level="county") == "evaluation.level_unknown"


def test_an_institutions_evaluation_is_for_its_engagements_level(evaluation: UseCases) -> None:
    engaged = replace(ENGAGED, level="national")
    draft = start(evaluation, as_=AUDITOR, engagement=engaged)
    assert draft.level == "national"
    assert code_of(evaluation, handlers.create, as_=AUDITOR, tenant=T, request_id="r2",
                   unit=engaged.unit, scheme_id="gbt36132-2025", scheme_version=1,
                   assisted_by="", engagement=replace(engaged, id="en-2"),
                   level="municipal") == "evaluation.level_engagement"


# --- a declaration the registry contradicts -----------------------------------------------------


def test_a_contradicted_declaration_is_flagged_in_preview_score_and_report(
        evaluation: UseCases) -> None:
    draft = start(evaluation)
    fill(evaluation, draft.id)
    _, preview = evaluation(handlers.preview, as_=OWNER, tenant=T, evaluation_id=draft.id,
                            veto=ACCIDENT_VETO)
    flagged = [{"requirement": "no_major_accident", "records": [
        {"kind": "safety_accident", "kind_zh": "安全事故", "kind_en": "safety accident",
         "condition": 2, "occurred_on": "2024-05-06", "ended_on": "",
         "reference": "宁应急罚〔2024〕12号", "source": "南京市应急管理局"}]}]
    assert preview["contradictions"] == flagged and preview["total"] == "71.22"
    done = submit(evaluation, draft.id, veto=ACCIDENT_VETO)
    assert json.loads(done.result_json)["contradictions"] == flagged
    assert (done.total, done.vetoed, done.passed) == ("71.22", True, False)
    content = json.loads(done.report_json)
    assert [c["requirement"] for c in content["contradictions"]] == ["no_major_accident"]
    page = report(evaluation, draft.id, "html")[0].decode()
    assert "与登记记录不符的声明" in page and ACCIDENT.reference in page


def test_a_requirement_declared_not_met_is_not_flagged(evaluation: UseCases) -> None:
    draft = start(evaluation)
    fill(evaluation, draft.id, basic={**MET, "no_major_accident": False})
    done = submit(evaluation, draft.id, veto=ACCIDENT_VETO)
    assert json.loads(done.result_json)["contradictions"] == []


# --- signed and verifiable ----------------------------------------------------------------------


def test_a_submitted_report_is_signed_and_verifies(evaluation: UseCases) -> None:
    draft = start(evaluation)
    fill(evaluation, draft.id)
    done = submit(evaluation, draft.id)
    active, keys = evaluation(handlers.report_keys, as_=OWNER, tenant=T)
    body, signature = report(evaluation, draft.id)
    content = json.loads(body)
    assert signature == content["signature"] and signature["key_id"] == active
    assert active in keys and keys[active].startswith("-----BEGIN PUBLIC KEY-----")
    assert content["content_hash"] == done.report_hash == content_hash(content)
    pdf = report(evaluation, draft.id, "pdf")[0]
    for data in (body, pdf):
        found = evaluation(handlers.verify_report, as_=OWNER, tenant=T, content=data)
        assert found.valid and (found.key_id, found.evaluation_id, found.content_hash) == (
            active, draft.id, done.report_hash)
    content["indicators"][0]["points"] = "9.00"
    content["content_hash"] = content_hash(content)
    found = evaluation(handlers.verify_report, as_=OWNER, tenant=T,
                       content=report_json(content))
    assert (found.valid, found.reason) == (False, "report.bad_signature")


def test_a_downloaded_pdf_verifies_only_with_its_own_pages(evaluation: UseCases) -> None:
    """Review H1: a PDF whose pages are another report's, with this report's signed JSON
    attached, is refused with the true facts; the PDF as downloaded is valid."""
    draft = start(evaluation)
    fill(evaluation, draft.id)
    done = submit(evaluation, draft.id)
    pdf, _ = report(evaluation, draft.id, "pdf")
    genuine = evaluation(handlers.verify_report, as_=OWNER, tenant=T, content=pdf)
    assert (genuine.valid, genuine.pages_checked) == (True, True)
    assert genuine.facts is not None and (genuine.facts.total, genuine.facts.unit_name) == (
        done.total, "南京示例厂")
    forged = forged_pdf(json.loads(done.report_json),
                        {**json.loads(done.report_json), "total": "99.00"})
    found = evaluation(handlers.verify_report, as_=OWNER, tenant=T, content=forged)
    assert (found.valid, found.reason, found.pages_checked) == (
        False, "report.pdf_altered", True)
    assert found.facts is not None and found.facts.total == done.total


def test_a_file_over_the_verify_figure_is_refused_before_it_is_read(
        evaluation: UseCases) -> None:
    assert code_of(evaluation, handlers.verify_report, as_=OWNER, tenant=T,
                   content=b"%PDF-" + b"0" * 2**20) == "report.too_large"


def test_an_institutions_report_is_signed_too(evaluation: UseCases) -> None:
    draft = start(evaluation, as_=AUDITOR, engagement=ENGAGED)
    fill(evaluation, draft.id, as_=AUDITOR)
    submit(evaluation, draft.id, as_=AUDITOR, standing=ENGAGED, **BY_INSTITUTION)
    body, _ = report(evaluation, draft.id, "pdf")
    assert evaluation(handlers.verify_report, as_=AUDITOR, tenant=T, content=body).valid


# --- reports stored before format 2 -------------------------------------------------------------


def test_a_report_stored_under_format_1_reads_as_provisional(evaluation: UseCases) -> None:
    draft = start(evaluation)
    fill(evaluation, draft.id)
    done = submit(evaluation, draft.id)
    old = format_1(json.loads(done.report_json))
    with evaluation.rt.db.session(T, write=True) as s:
        row = s.get(Evaluation, draft.id)
        assert row is not None
        row.report_json, row.report_hash = json.dumps(old, ensure_ascii=False), old["content_hash"]
        s.add(row)
    body, signature = report(evaluation, draft.id)
    assert json.loads(body) == old and signature == {}
    page = report(evaluation, draft.id, "html")[0].decode()
    assert SCHEME.provisional and "含暂定值" in page
    assert report(evaluation, draft.id, "pdf")[0].startswith(b"%PDF-")
    assert "暂定：本行全部数值" in page   # every line, as every figure was provisional
    found = evaluation(handlers.verify_report, as_=OWNER, tenant=T, content=body)
    assert (found.valid, found.reason, found.provisional) == (False, "report.unsigned", True)


# --- the score after submission (review H5) ------------------------------------------------------


def test_a_submitted_evaluations_score_is_the_one_kept_not_scored_again(
        evaluation: UseCases) -> None:
    """After submission the institution's engagement is completed and the registry would
    refuse it a veto check: a submitted evaluation answers the score kept at submission, for
    whoever may read it, whatever the registry says today."""
    assert drafts.domain.scored_live(status="draft")
    assert not drafts.domain.scored_live(status="submitted")
    draft = start(evaluation, as_=AUDITOR, engagement=ENGAGED)
    fill(evaluation, draft.id, as_=AUDITOR)
    done = submit(evaluation, draft.id, as_=AUDITOR, standing=ENGAGED, **BY_INSTITUTION)
    kept = json.loads(done.result_json)
    for who in (AUDITOR, OWNER, JIANGSU):
        _, scored = evaluation(handlers.preview, as_=who, tenant=T, evaluation_id=draft.id,
                               veto=ACCIDENT_VETO)   # today's records: not applied any more
        assert scored == kept and scored["contradictions"] == []
