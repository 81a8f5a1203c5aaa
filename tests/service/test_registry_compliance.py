"""Compliance records and the veto check in-process (SPEC §5): one record per fact, states
ended, credit data imported row by row, the check over parks' members and merged units, what
enterprises and engaged institutions see, and listing's removals."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from generated.events.v1 import events_pb2 as ev
from services.kernel import clock
from services.kernel.errors import DomainError, Kind
from services.kernel.identity import Grant, Identity
from services.registry import domain, handlers
from services.registry.store import Unit
from tests.helpers import uscc
from tests.service.conftest import UseCases

JIANGSU = Identity(subject="js", grants=(Grant("province", "320000"),))
SUZHOU = Identity(subject="sz", grants=(Grant("city", "320000", city="320500"),))
INSTITUTION = Identity(subject="inst", grants=(Grant("institution", "000000", org=uscc("110108")),))
TODAY = "2026-07-01"


@pytest.fixture(autouse=True)
def mid_2026(frozen_clock: Path) -> None:
    """The records here are of 2024 to early 2026: the platform clock stands at 2026-07-01
    (a record dated after today is refused)."""
    clock.set_clock(frozen_clock, at=datetime(2026, 7, 1, 9, 0, tzinfo=clock.CST))


def _register(registry: UseCases, **fields: Any) -> Unit:
    unit, _ = registry(handlers.register_unit, as_=JIANGSU, tenant="320000",
                       **{"kind": "factory", "uscc": uscc("320100"), "site": "",
                          "name": "南京示例厂", "location": "320115", "industry": "3971", **fields})
    return unit


def _park(registry: UseCases, *members: Unit) -> Unit:
    park = _register(registry, kind="park", industry="", park_level="national", name="示例园区")
    registry(handlers.set_park_members, as_=JIANGSU, tenant="320000", park_id=park.id,
             member_ids=[m.id for m in members])
    return park


def _add(registry: UseCases, unit: Unit | None = None, as_: Identity = JIANGSU,
         **fields: str) -> list[tuple[Any, bool]]:
    args = {"unit_id": unit.id if unit else "", "uscc": "", "kind": "safety_accident",
            "occurred_on": "2026-01-05", "ended_on": "", "description": "", "source": "",
            "reference": "", **fields}
    return registry(handlers.add_compliance_record, as_=as_, tenant="320000", **args)


def _refused(registry: UseCases, fn: Any, as_: Identity = JIANGSU, **kwargs: Any) -> DomainError:
    with pytest.raises(DomainError) as err:
        registry(fn, as_=as_, tenant="320000", **kwargs)
    return err.value


def _veto(registry: UseCases, unit: Unit, on: str, as_: Identity = JIANGSU,
          **kwargs: Any) -> tuple[Unit, domain.VetoOutcome, dict[str, Any]]:
    return registry(handlers.check_veto, as_=as_, tenant="320000", unit_id=unit.id, on=on,
                    **kwargs)


# --- one record per fact --------------------------------------------------------------------------


def test_the_same_fact_twice_is_one_record_two_facts_on_a_day_are_two(registry: UseCases) -> None:
    unit = _register(registry)
    registry.recorded("320000")
    [(a, a_existed)] = _add(registry, unit, description="A车间爆炸")
    [(b, _)] = _add(registry, unit, description="B车间火灾")
    [(again, again_existed)] = _add(registry, unit, description="A车间爆炸", source="import")
    assert a.id != b.id and again.id == a.id and (a_existed, again_existed) == (False, True)
    events = registry.recorded("320000")
    assert [type(e.body) for e in events] == [ev.ComplianceRecorded] * 2
    assert events[0].body.condition == 2 and events[0].body.uscc == unit.uscc


def test_a_fact_restated_with_its_end_ends_the_record(registry: UseCases) -> None:
    unit = _register(registry)
    [(state, _)] = _add(registry, unit, kind="abnormal_operations", occurred_on="2025-05-01")
    registry.recorded("320000")
    [(same, existed)] = _add(registry, unit, kind="abnormal_operations", occurred_on="2025-05-01",
                             ended_on="2025-09-01")
    assert existed and same.id == state.id and str(same.ended_on) == "2025-09-01"
    (event,) = registry.recorded("320000")
    assert event.body == ev.ComplianceEnded(record_id=state.id, unit_id=unit.id,
                                            kind="abnormal_operations", ended_on="2025-09-01")


def test_a_state_ends_once_and_the_veto_follows(registry: UseCases) -> None:
    unit = _register(registry)
    [(state, _)] = _add(registry, unit, kind="abnormal_operations", occurred_on="2025-05-01")
    assert 1 in _veto(registry, unit, "2026-06-01")[1].triggered
    registry.recorded("320000")
    for _ in range(2):
        ended = registry(handlers.end_compliance_record, as_=JIANGSU, tenant="320000",
                         unit_id=unit.id, record_id=state.id, ended_on="2026-03-01",
                         reason="已移出")
    assert str(ended.ended_on) == "2026-03-01"
    (event,) = registry.recorded("320000")
    assert isinstance(event.body, ev.ComplianceEnded) and event.envelope.reason == "已移出"
    assert 1 not in _veto(registry, unit, "2026-06-01")[1].triggered
    assert 1 in _veto(registry, unit, "2026-02-01")[1].triggered


def test_ending_refusals(registry: UseCases) -> None:
    unit, other = _register(registry), _register(registry)
    [(state, _)] = _add(registry, unit, kind="abnormal_operations", occurred_on="2025-05-01")
    early = _refused(registry, handlers.end_compliance_record, unit_id=unit.id,
                     record_id=state.id, ended_on="2025-04-30", reason="")
    assert early.code == "compliance.ended_before_start"
    wrong = _refused(registry, handlers.end_compliance_record, unit_id=other.id,
                     record_id=state.id, ended_on="2026-03-01", reason="")
    assert wrong.code == "compliance.not_found" and wrong.params == {"record_id": state.id}


def test_recording_refusals(registry: UseCases) -> None:
    unit = _register(registry)
    assert _refused(registry, handlers.add_compliance_record, unit_id=unit.id, uscc="",
                    kind="flood", occurred_on="2025-01-01", ended_on="", description="",
                    source="", reference="").code == "compliance.kind_unknown"
    assert _refused(registry, handlers.add_compliance_record, as_=SUZHOU, unit_id=unit.id,
                    uscc="", kind="tax_violation", occurred_on="2026-01-05", ended_on="",
                    description="", source="", reference="").kind is Kind.FORBIDDEN
    unknown = uscc()
    assert _refused(registry, handlers.add_compliance_record, unit_id="", uscc=unknown,
                    kind="tax_violation", occurred_on="2026-01-05", ended_on="", description="",
                    source="", reference="").code == "compliance.unit_unknown"


def test_a_record_dated_after_today_is_refused(registry: UseCases) -> None:
    """A compliance record states what happened, by the platform clock: an occurrence or an end
    after today is refused naming the field, by the API, by an import row and when ending."""
    unit = _register(registry)
    registry.recorded("320000")
    for fields, field in (
            ({"occurred_on": "2099-01-01"}, "occurred_on"),
            ({"occurred_on": "2026-07-02"}, "occurred_on"),
            ({"occurred_on": "2026-01-05", "ended_on": "2026-07-02"}, "ended_on")):
        err = _refused(registry, handlers.add_compliance_record, unit_id=unit.id, uscc="",
                       kind="abnormal_operations", description="", source="", reference="",
                       **{"ended_on": "", **fields})
        assert (err.code, err.kind) == ("compliance.in_the_future", Kind.INVALID)
        assert err.params == {"field": field, "value": fields[field], "today": TODAY}
        assert field in err.message("en") and TODAY in err.message("zh")
    [(today, _)] = _add(registry, unit, kind="abnormal_operations", occurred_on=TODAY)
    ended = _refused(registry, handlers.end_compliance_record, unit_id=unit.id,
                     record_id=today.id, ended_on="2099-01-01", reason="")
    assert ended.code == "compliance.in_the_future" and ended.params["field"] == "ended_on"
    rows = ["uscc,kind,occurred_on,ended_on,description",
            f"{unit.uscc},tax_violation,2099-01-01,,未来",
            f"{unit.uscc},abnormal_operations,2026-01-05,2099-01-01,未来结束",
            f"{unit.uscc},tax_violation,2026-06-30,,昨天之前"]
    result = registry(handlers.import_compliance, as_=JIANGSU, tenant="320000",
                      content="\n".join(rows).encode(), fmt="csv", lang="en")
    assert [(r["accepted"], r.get("code")) for r in result] == [
        (False, "compliance.in_the_future"), (False, "compliance.in_the_future"), (True, None)]
    assert [type(e.body) for e in registry.recorded("320000")] == [ev.ComplianceRecorded] * 2
    records = registry(handlers.list_compliance, as_=JIANGSU, tenant="320000", unit_id=unit.id)
    assert sorted(str(r.occurred_on) for r in records) == ["2026-06-30", TODAY]


def test_a_fact_by_uscc_reaches_every_site(registry: UseCases) -> None:
    code = uscc("320100")
    one = _register(registry, uscc=code, site="一厂区")
    two = _register(registry, uscc=code, site="二厂区")
    records = _add(registry, uscc=code, kind="tax_violation")
    assert {r.unit_id for r, _ in records} == {one.id, two.id}


# --- import ---------------------------------------------------------------------------------------


def test_a_credit_import_answers_row_by_row(registry: UseCases) -> None:
    unit = _register(registry)
    rows = ["统一社会信用代码,类型,发生日期,文号,来源,说明",
            f"{unit.uscc},tax_violation,2025-08-01,税罚-1,credit_china,",
            f"{unit.uscc},tax_violation,2025-08-01,税罚-1,credit_china,",
            f"{uscc()},tax_violation,2025-08-01,,,",
            f"{unit.uscc},tax_violation,2025/08/01,,,",
            f"{unit.uscc},tax_violation,2025-01-02,,,{'x' * 3000}"]
    result = registry(handlers.import_compliance, as_=JIANGSU, tenant="320000",
                      content="\n".join(rows).encode(), fmt="csv", lang="zh")
    assert [r["accepted"] for r in result] == [True, True, False, False, False]
    assert result[1]["existing"] and result[1]["id"] == result[0]["id"]
    assert [r.get("code") for r in result[2:]] == [
        "compliance.unit_unknown", "date.malformed", "text.too_long"]
    records = registry(handlers.list_compliance, as_=JIANGSU, tenant="320000", unit_id=unit.id)
    assert [(r.source, r.reference) for r in records] == [("credit_china", "税罚-1")]


# --- the veto check -------------------------------------------------------------------------------


def test_a_parks_members_veto_the_park(registry: UseCases) -> None:
    member = _register(registry)
    park = _park(registry, member)
    _add(registry, member, kind="safety_accident", occurred_on="2026-01-15")
    _, outcome, rows = _veto(registry, park, "2026-02-01")
    assert outcome.vetoed and [r.id for r in outcome.triggered[2]] == list(rows)
    assert next(iter(rows.values())).unit_id == member.id


def test_merging_does_not_escape_the_veto(registry: UseCases) -> None:
    dirty, clean, cleaner = _register(registry), _register(registry), _register(registry)
    _add(registry, dirty, kind="tax_violation", occurred_on="2026-01-10")
    registry(handlers.merge_units, as_=JIANGSU, tenant="320000", absorbed_id=dirty.id,
             into_id=clean.id, effective_on="", reason="")
    registry(handlers.merge_units, as_=JIANGSU, tenant="320000", absorbed_id=clean.id,
             into_id=cleaner.id, effective_on="", reason="")
    for unit in (clean, cleaner):       # through every merger on the way
        _, outcome, rows = _veto(registry, unit, "2026-06-01")
        assert outcome.vetoed and {r.unit_id for r in rows.values()} == {dirty.id}


def test_the_veto_window_and_the_day_checked(registry: UseCases) -> None:
    unit = _register(registry)
    _add(registry, unit, kind="environmental_accident", occurred_on="2025-04-02")
    _add(registry, unit, kind="dishonest_debtor", occurred_on="2024-01-10", ended_on="2025-01-10")
    _, outcome, _ = _veto(registry, unit, "2026-06-01")
    assert list(outcome.triggered) == [2] and str(outcome.window_from) == "2023-06-01"
    assert list(_veto(registry, unit, "2024-06-01")[1].triggered) == [6]
    assert not _veto(registry, unit, "2028-04-03")[1].vetoed
    assert str(_veto(registry, unit, "")[1].on) == TODAY   # today, on the frozen clock
    assert _refused(registry, handlers.check_veto, unit_id=unit.id,
                    on="0002-01-01").code == "date.out_of_range"


def test_an_enterprise_sees_others_records_redacted(registry: UseCases) -> None:
    dirty, own = _register(registry), _register(registry)
    [(theirs, _)] = _add(registry, dirty, description="他厂事故", reference="苏应急罚1号")
    [(mine, _)] = _add(registry, own, occurred_on="2026-01-06", description="本厂事故",
                       reference="苏应急罚2号")
    registry(handlers.merge_units, as_=JIANGSU, tenant="320000", absorbed_id=dirty.id,
             into_id=own.id, effective_on="", reason="")
    enterprise = Identity(subject="e", grants=(Grant("enterprise", "320000", org=own.uscc),))
    _, outcome, rows = _veto(registry, own, "2026-06-01", as_=enterprise)
    assert outcome.vetoed
    assert (rows[mine.id].description, rows[mine.id].reference) == ("本厂事故", "苏应急罚2号")
    hidden = rows[theirs.id]
    assert (hidden.description, hidden.reference, hidden.recorded_by) == ("", "", "")
    assert hidden.kind == "safety_accident" and hidden.unit_id == dirty.id
    _, _, full = _veto(registry, own, "2026-06-01")
    assert full[theirs.id].description == "他厂事故"


def test_an_institution_reads_the_check_only_on_an_engagements_word(registry: UseCases) -> None:
    member = _register(registry)
    park = _park(registry, member)
    _add(registry, member, description="成员事故")
    assert handlers.must_be_vouched(ident=INSTITUTION, tenant="320000")   # the servicer asks
    assert not handlers.must_be_vouched(ident=JIANGSU, tenant="320000")
    refused = _refused(registry, handlers.check_veto, as_=INSTITUTION, unit_id=park.id,
                       on="0002-01-01",
                       engagement=domain.Engagement(unit_id=park.id,
                                                    refused="engagement.not_found"))
    assert refused.code == "unit.not_engaged" and refused.kind is Kind.FORBIDDEN
    assert refused.params == {"unit_id": park.id}
    assert _refused(registry, handlers.check_veto, as_=INSTITUTION, unit_id=park.id,
                    on="2026-02-01").kind is Kind.FORBIDDEN      # not vouched for: no role here
    unit, outcome, rows = _veto(registry, park, "2026-02-01", as_=INSTITUTION,
                                engagement=domain.Engagement(unit_id=park.id))
    assert unit.id == park.id and outcome.vetoed
    assert [r.description for r in rows.values()] == [""]


# --- listing's removals ---------------------------------------------------------------------------


def test_a_removal_bars_the_unit_three_years_and_takes_its_level(registry: UseCases) -> None:
    unit = _register(registry)
    registry.hear(ev.EntryAdded(entry_id="e1", unit_id=unit.id, uscc=unit.uscc,
                                level="provincial"),
                  tenant="320000", service="listing", event_type="entry.added")
    assert registry(handlers.get_unit, as_=JIANGSU, tenant="320000",
                    unit_id=unit.id).green_level == "provincial"
    removal = ev.EntryRemoved(entry_id="e1", unit_id=unit.id, uscc=unit.uscc,
                              decided_on="2025-09-01", reason="抽查不合格")
    for _ in range(2):   # redelivered: one record
        registry.hear(removal, tenant="320000", service="listing", event_type="entry.removed")
    records = registry(handlers.list_compliance, as_=JIANGSU, tenant="320000", unit_id=unit.id)
    assert [(r.kind, r.source, r.reference, r.description) for r in records] == [
        ("list_removal", "listing", "e1", "抽查不合格")]
    assert records[0].recorded_by == "listing:test"
    assert registry(handlers.get_unit, as_=JIANGSU, tenant="320000",
                    unit_id=unit.id).green_level == ""
    assert _veto(registry, unit, "2028-08-31")[1].vetoed
    assert not _veto(registry, unit, "2028-09-02")[1].vetoed


def test_a_removal_for_a_unit_unknown_here_is_refused_for_redelivery(registry: UseCases) -> None:
    with pytest.raises(DomainError) as err:
        registry.hear(ev.EntryRemoved(entry_id="e9", unit_id="nope", uscc=uscc(),
                                      decided_on="2025-09-01"),
                      tenant="320000", service="listing", event_type="entry.removed")
    assert err.value.code == "unit.not_found"
