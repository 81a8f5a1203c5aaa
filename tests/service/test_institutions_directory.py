"""Institutions use cases in-process: the public directory and track record, and the events
heard from other services — an evaluation scored (evaluation) completes its engagement, a unit
removed from a list (listing) counts in the track record. Every record is national (000000)."""

from __future__ import annotations

import pytest

from generated.events.v1 import events_pb2 as ev
from services.institutions import handlers
from services.institutions.store import CapCounter, Engagement
from services.kernel.errors import DomainError
from tests.helpers import uscc
from tests.service.conftest import UseCases
from tests.service.test_institutions_engagements import engage, owner, unit, used
from tests.service.institutions_world import JS, N, ZJ, refused, register, verified


def scored(e: Engagement, *, total: str = "70.00", claimed: str = "72.50",
           deviation: str = "2.50", institution_uscc: str = "") -> ev.EvaluationScored:
    return ev.EvaluationScored(evaluation_id=f"ev-{e.id}", engagement_id=e.id,
                               institution_uscc=institution_uscc or e.institution_uscc,
                               total=total, claimed_total=claimed, deviation=deviation)


def hear_scored(uc: UseCases, body: ev.EvaluationScored, tenant: str = JS) -> bool:
    return uc.hear(body, tenant=tenant, service="evaluation", event_type="evaluation.scored")


def test_the_directory_lists_verified_institutions_by_province_and_category(
        institutions: UseCases) -> None:
    js = verified(institutions, provinces=(JS,), scope_categories=["supply_chain"]).uscc
    both = verified(institutions, provinces=(JS, ZJ)).uscc
    unverified = register(institutions, uscc("110108")).uscc

    def listed(province: str = "", category: str = "") -> list[str]:
        return [e["uscc"] for e in handlers.directory(institutions.rt, province=province,
                                                      category=category)]

    assert set(listed()) == {js, both} and unverified not in listed()
    assert listed(province=ZJ) == [both]
    assert listed(category="supply_chain") == [js]
    entry = next(e for e in handlers.directory(institutions.rt, province="", category="")
                 if e["uscc"] == both)
    assert entry["provinces"] == [JS, ZJ] and entry["reports_accepted"]
    assert "staff" not in entry and entry["address"] == "北京市海淀区"
    err = refused(handlers.track_record, institutions.rt, uscc=unverified)
    assert err.code == "institution.not_found"                # no public record before verified


def test_a_score_completes_the_engagement_and_feeds_the_track_record(
        institutions: UseCases) -> None:
    code = verified(institutions).uscc
    u = unit()
    e = engage(institutions, u, code)
    institutions.recorded(N)
    assert hear_scored(institutions, scored(e))
    record = handlers.track_record(institutions.rt, uscc=code)
    assert record["projects"] == [{"year": 2025, "level": "national", "projects": 1}]
    assert (record["scored"], record["mean_abs_deviation"], record["max_abs_deviation"]) == (
        1, "2.50", "2.50")
    assert institutions.recorded(N) == [] and institutions.recorded(JS) == []  # heard, not told
    with institutions.rt.db.session(N) as s:
        row = s.get(Engagement, e.id)
        assert (row.status, row.evaluation_id, row.claimed_total, row.platform_total) == (
            "completed", f"ev-{e.id}", "72.50", "70.00")
    # A completed engagement may no longer be cancelled; a second score changes nothing.
    err = refused(institutions, handlers.cancel, as_=owner(u), tenant=JS, engagement_id=e.id,
                  reason="x", submitted=False)
    assert (err.code, err.params) == ("engagement.not_cancellable",
                                      {"engagement_id": e.id, "status": "completed"})
    assert hear_scored(institutions, scored(e, deviation="-9"))
    assert handlers.track_record(institutions.rt, uscc=code)["max_abs_deviation"] == "2.50"


def test_a_self_evaluation_score_concerns_no_institution(institutions: UseCases) -> None:
    assert hear_scored(institutions, ev.EvaluationScored(evaluation_id="v", engagement_id="",
                                                         total="60"))


def test_a_score_from_another_province_or_institution_touches_nothing(
        institutions: UseCases) -> None:
    code = verified(institutions).uscc
    e = engage(institutions, unit(), code)
    for body, tenant in ((scored(e), ZJ), (scored(e, institution_uscc=uscc("110108")), JS),
                         (ev.EvaluationScored(engagement_id="missing", institution_uscc=code),
                          JS)):
        with pytest.raises(DomainError) as err:
            hear_scored(institutions, body, tenant)
        assert err.value.code == "engagement.not_found"
    assert handlers.track_record(institutions.rt, uscc=code)["scored"] == 0


def test_a_score_for_an_engagement_cancelled_meanwhile_takes_its_place_back_once(
        institutions: UseCases) -> None:
    """The evaluation was submitted while the engagement was still accepted, and the cancel got
    in before the score arrived: the project was carried out, so it counts again, once."""
    code = verified(institutions).uscc
    u = unit()
    e = engage(institutions, u, code)
    institutions(handlers.cancel, as_=owner(u), tenant=JS, engagement_id=e.id, reason="改期",
                 submitted=False)
    assert used(institutions, code) == 0
    for _ in range(2):  # heard twice (the inbox normally prevents it): counted once
        hear_scored(institutions, scored(e, deviation="2"))
    with institutions.rt.db.session(N) as s:
        row = s.get(Engagement, e.id)
        assert (row.status, row.deviation, row.evaluation_id) == ("completed", "2", f"ev-{e.id}")
        assert s.get(CapCounter, (row.legal_rep_key, 2025)).used == 1
    assert used(institutions, code) == 1


def test_a_unit_removed_after_its_evaluation_counts_in_the_track_record(
        institutions: UseCases) -> None:
    code = verified(institutions).uscc
    kept, removed = unit(), unit()
    engage(institutions, kept, code, level="municipal")
    engage(institutions, removed, code, level="municipal")
    for day in ("2025-10-11", "2025-10-11", "2026-01-01"):   # duplicates and a later removal
        assert institutions.hear(ev.EntryRemoved(entry_id="E-9", unit_id=removed.id,
                                                 uscc=removed.uscc, decided_on=day,
                                                 reason="抽查不合格"),
                                 tenant=JS, service="listing", event_type="entry.removed")
    record = handlers.track_record(institutions.rt, uscc=code)
    assert (record["units_removed_later"], record["removed_share"]) == (1, "50.0")
    # A removal before the institution's first engagement does not count against it.
    earlier = unit()
    institutions.hear(ev.EntryRemoved(entry_id="E-1", unit_id=earlier.id, uscc=earlier.uscc,
                                      decided_on="2025-01-01"),
                      tenant=JS, service="listing", event_type="entry.removed")
    engage(institutions, earlier, code, level="municipal")
    record = handlers.track_record(institutions.rt, uscc=code)
    assert (record["units_removed_later"], record["removed_share"]) == (1, "33.3")


def test_a_removal_heard_keeps_the_earliest_day(institutions: UseCases) -> None:
    from services.institutions.store import UnitRemoval

    for day in ("2026-01-01", "2025-09-01", "2025-12-01"):
        institutions.hear(ev.EntryRemoved(entry_id="E", unit_id="u-x", decided_on=day),
                          tenant=JS, service="listing", event_type="entry.removed")
    with institutions.rt.db.session(N) as s:
        assert s.get(UnitRemoval, (JS, "u-x")).removed_on.isoformat() == "2025-09-01"
