"""Annual work reports (年度工作情况): an institution reports on a year by the due day of the
next; officials see who has and who is overdue."""

from __future__ import annotations

from datetime import date

from generated.events.v1 import events_pb2 as ev
from services.institutions import domain, store
from services.institutions.domain import NATIONAL, rules
from services.institutions.handlers.common import load_institution, record, scope_of
from services.institutions.store import WorkReport
from services.kernel import clock
from services.kernel.errors import refuse, year_refusal
from services.kernel.identity import Identity, authorize
from services.kernel.runtime import Runtime


def submit_work_report(rt: Runtime, *, ident: Identity, tenant: str, uscc: str, year: int,
                       summary: str, projects: int, content_json: str) -> WorkReport:
    """An institution's annual work report. It may be corrected until its due day; one first
    sent after it is kept and marked late."""
    code = domain.uscc_field(uscc, "uscc")
    authorize(ident, tenant, ("institution",), org=code, write=True)
    refuse(domain.national_only(tenant))
    today = clock.today()
    draft = domain.WorkReportDraft.parse(year=year, summary=summary, projects=projects,
                                         content_json=content_json, today=today)
    due = domain.work_report_due(year, rules())
    with rt.db.session(NATIONAL, write=True) as s:
        load_institution(s, code)
        report = store.work_report(session=s, uscc=code, year=year, for_update=True)
        refuse(domain.work_report_refusal(exists=report is not None, year=year, due=due,
                                          today=today))
        report = report or WorkReport(uscc=code, year=year, summary="", projects=0, due_on=due,
                                      submitted_by=ident.subject, submitted_at=clock.now())
        report.summary, report.projects = draft.summary, draft.projects
        report.content_json = draft.content_json
        report.late = domain.is_late(today, due)
        report.submitted_at, report.submitted_by = clock.now(), ident.subject
        s.add(report)
        record(rt, s, ev.WorkReportSubmitted(uscc=code, year=year, late=report.late))
        return report


def list_work_reports(rt: Runtime, *, ident: Identity, tenant: str, uscc: str,
                      year: int) -> tuple[list[tuple[WorkReport, int]], list[str], date | None]:
    """Work reports the caller may see, each with the platform's own count of projects, and
    for a year past its due day the verified institutions that have not reported."""
    refuse(year_refusal(year, zero_means_default=True))
    with rt.db.session(NATIONAL) as s:
        scope, _ = scope_of(s, ident, tenant, ("ministry", "institution", "province"))
        if uscc:
            wanted = uscc.strip().upper()
            scope = [u for u in (scope if scope is not None else [wanted]) if u == wanted]
        reports = [(w, store.projects_in(session=s, uscc=w.uscc, year=w.year))
                   for w in store.work_reports(session=s, usccs=scope, year=year)]
        overdue: list[str] = []
        due = domain.work_report_due(year, rules()) if year else None
        if domain.is_late(clock.today(), due):
            verified = store.institutions(session=s, usccs=scope, status=("verified",))
            overdue = domain.overdue([i.uscc for i in verified], [w.uscc for w, _ in reports])
        return reports, overdue, due
