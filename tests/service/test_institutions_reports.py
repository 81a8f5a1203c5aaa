"""Institutions use cases in-process: annual work reports (年度工作情况) — due the next year's
August 15, corrected until then, kept and marked late when first sent after it, and who is
overdue. The clock is frozen on 2025-10-11."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from generated.events.v1 import events_pb2 as ev
from services.institutions import handlers
from services.kernel import clock
from services.kernel.clock import CST
from services.kernel.errors import Kind
from tests.helpers import uscc
from tests.service.conftest import UseCases
from tests.service.institutions_world import (
    JIANGSU,
    JS,
    MINISTRY,
    N,
    ZHEJIANG,
    ZJ,
    institution,
    refused,
    verified,
)


def submit(uc: UseCases, code: str, year: int, **fields: Any) -> Any:
    return uc(handlers.submit_work_report, as_=institution(code), tenant=N, uscc=code, year=year,
              **{"summary": "开展评价 2 项", "projects": 2, "content_json": "", **fields})


def test_a_report_is_corrected_until_its_due_day(institutions: UseCases) -> None:
    code = verified(institutions).uscc
    institutions.recorded(N)
    first = submit(institutions, code, 2025)
    assert (first.due_on, first.late, first.content_json) == (date(2026, 8, 15), False, "{}")
    corrected = submit(institutions, code, 2025, summary="开展评价 3 项", projects=3,
                       content_json='{"备注": "更正"}')
    assert (corrected.projects, corrected.summary) == (3, "开展评价 3 项")
    assert corrected.content_json == '{"备注": "更正"}'
    events = institutions.recorded(N)
    assert [type(e.body) for e in events] == [ev.WorkReportSubmitted] * 2
    assert not events[-1].body.late


def test_a_report_first_sent_after_its_due_day_is_late_and_then_closed(
        institutions: UseCases) -> None:
    code = verified(institutions).uscc
    institutions.recorded(N)
    late = submit(institutions, code, 2024, summary="补报", projects=0)   # due 2025-08-15
    assert (late.due_on, late.late) == (date(2025, 8, 15), True)
    (event,) = institutions.recorded(N)
    assert event.body.late
    err = refused(submit, institutions, code, 2024, summary="再改")
    assert (err.code, err.kind, err.params) == ("work_report.closed", Kind.CONFLICT,
                                                {"year": 2024, "due": "2025-08-15"})


def test_the_due_day_itself_still_accepts_corrections(institutions: UseCases,
                                                      frozen_clock: Path) -> None:
    code = verified(institutions).uscc
    submit(institutions, code, 2025)
    clock.set_clock(frozen_clock, at=datetime(2026, 8, 15, 23, 0, tzinfo=CST))
    assert submit(institutions, code, 2025, projects=5).projects == 5
    clock.set_clock(frozen_clock, at=datetime(2026, 8, 16, 9, 0, tzinfo=CST))
    assert refused(submit, institutions, code, 2025).code == "work_report.closed"


@pytest.mark.parametrize("year,fields,code,params", [
    (2016, {}, "work_report.year", {"value": 2016, "max": 2025}),
    (2026, {}, "work_report.year", {"value": 2026, "max": 2025}),
    (2025, {"summary": " "}, "field.required", {"field": "summary"}),
    (2025, {"projects": -1}, "work_report.projects", {"value": -1}),
    (2025, {"content_json": "{"}, "work_report.content_json", {}),
    (2025, {"content_json": "[1]"}, "work_report.content_json", {}),
])
def test_a_malformed_report_is_refused(institutions: UseCases, year: int, fields: dict[str, Any],
                                       code: str, params: dict[str, Any]) -> None:
    inst = verified(institutions).uscc
    err = refused(submit, institutions, inst, year, **fields)
    assert (err.code, err.kind, err.params) == (code, Kind.INVALID, params)


def test_an_institution_reports_only_for_itself_and_nationally(institutions: UseCases) -> None:
    code = verified(institutions).uscc
    other = uscc("110108")
    err = refused(institutions, handlers.submit_work_report, as_=institution(code), tenant=N,
                  uscc=other, year=2025, summary="x", projects=0, content_json="")
    assert (err.code, err.kind) == ("auth.not_your_unit", Kind.FORBIDDEN)
    err = refused(institutions, handlers.submit_work_report, as_=institution(code), tenant=JS,
                  uscc=code, year=2025, summary="x", projects=0, content_json="")
    assert (err.code, err.params) == ("institution.national_only", {"tenant": JS})
    err = refused(institutions, handlers.submit_work_report, as_=institution(other), tenant=N,
                  uscc=other, year=2025, summary="x", projects=0, content_json="")
    assert (err.code, err.kind) == ("institution.not_found", Kind.NOT_FOUND)


def test_who_is_overdue_and_who_sees_which_reports(institutions: UseCases) -> None:
    sent = verified(institutions, provinces=(JS,)).uscc
    silent = verified(institutions, provinces=(JS,)).uscc
    submit(institutions, sent, 2024)
    reports, overdue, due = institutions(handlers.list_work_reports, as_=MINISTRY, tenant=N,
                                         uscc="", year=2024)
    assert due == date(2025, 8, 15)
    assert [w.uscc for w, _ in reports] == [sent] and overdue == [silent]
    _, not_yet, due = institutions(handlers.list_work_reports, as_=MINISTRY, tenant=N, uscc="",
                                   year=2025)
    assert (not_yet, due) == ([], date(2026, 8, 15))           # not due yet: nobody overdue
    reports, overdue, _ = institutions(handlers.list_work_reports, as_=JIANGSU, tenant=JS,
                                       uscc="", year=2024)
    assert [w.uscc for w, _ in reports] == [sent] and overdue == [silent]
    reports, overdue, _ = institutions(handlers.list_work_reports, as_=ZHEJIANG, tenant=ZJ,
                                       uscc="", year=2024)
    assert (reports, overdue) == ([], [])                      # filed elsewhere: not its concern
    reports, overdue, _ = institutions(handlers.list_work_reports, as_=institution(silent),
                                       tenant=N, uscc="", year=2024)
    assert (reports, overdue) == ([], [silent])                # itself only
    reports, _, _ = institutions(handlers.list_work_reports, as_=MINISTRY, tenant=N,
                                 uscc=silent, year=0)
    assert reports == []


def test_the_platform_counts_the_projects_beside_the_reported_ones(
        institutions: UseCases) -> None:
    from tests.service.test_institutions_engagements import engage, unit

    code = verified(institutions).uscc
    engage(institutions, unit(), code)
    engage(institutions, unit(), code, level="municipal")
    submit(institutions, code, 2025, projects=5)
    ((report, on_platform),), _, _ = institutions(handlers.list_work_reports, as_=MINISTRY,
                                                  tenant=N, uscc=code, year=2025)
    assert (report.projects, on_platform) == (5, 2)
