"""Parks, supply chains, cultivation targets and plans in-process (SPEC §3): members kept by
officials who may act on every one, suppliers in any province, targets valid three years, plans
that name members or suppliers only, and their progress from listing's entry.added."""

from __future__ import annotations

from typing import Any

import pytest

from generated.events.v1 import events_pb2 as ev
from services.kernel.errors import DomainError, Kind
from services.kernel.identity import Grant, Identity
from services.registry import handlers
from services.registry.store import Unit
from tests.helpers import uscc
from tests.service.conftest import UseCases

JIANGSU = Identity(subject="js", grants=(Grant("province", "320000"),))
NANJING = Identity(subject="nj", grants=(Grant("city", "320000", city="320100"),))


def _register(registry: UseCases, **fields: Any) -> Unit:
    unit, _ = registry(handlers.register_unit, as_=JIANGSU, tenant="320000",
                       **{"kind": "factory", "uscc": uscc("320100"), "site": "",
                          "name": "南京示例厂", "location": "320115", "industry": "3971", **fields})
    return unit


def _new_park(registry: UseCases) -> Unit:
    return _register(registry, kind="park", industry="", park_level="provincial", name="示例园区")


def _refused(registry: UseCases, fn: Any, as_: Identity = JIANGSU, **kwargs: Any) -> DomainError:
    with pytest.raises(DomainError) as err:
        registry(fn, as_=as_, tenant="320000", **kwargs)
    return err.value


def _members(registry: UseCases, park: Unit, *members: Unit,
             as_: Identity = JIANGSU) -> list[Unit]:
    _, now = registry(handlers.set_park_members, as_=as_, tenant="320000", park_id=park.id,
                      member_ids=[m.id for m in members])
    return now


# --- park members ---------------------------------------------------------------------------------


def test_park_members_are_kept_by_officials_who_may_act_on_every_one(registry: UseCases) -> None:
    park, suzhou_unit = _new_park(registry), _register(registry, location="320505")
    assert _refused(registry, handlers.set_park_members, as_=NANJING, park_id=park.id,
                    member_ids=[suzhou_unit.id]).code == "auth.outside_city"
    assert [m.id for m in _members(registry, park, suzhou_unit)] == [suzhou_unit.id]
    # Nanjing may not drop a member it cannot act on either.
    assert _refused(registry, handlers.set_park_members, as_=NANJING, park_id=park.id,
                    member_ids=[]).code == "auth.outside_city"


def test_joining_and_leaving_are_recorded_in_order(registry: UseCases) -> None:
    park = _new_park(registry)
    a, b, c = (_register(registry, name=f"成员{n}") for n in "甲乙丙")
    _members(registry, park, a, b)
    registry.recorded("320000")
    now = _members(registry, park, c, b, c)
    assert [m.id for m in now] == [c.id, b.id]           # by name: 丙 (U+4E19) before 乙
    events = registry.recorded("320000")
    assert [(type(e.body), e.body.member_id) for e in events] == [
        (ev.ParkMemberJoined, c.id), (ev.ParkMemberLeft, a.id)]
    _, seen = registry(handlers.park_members, as_=JIANGSU, tenant="320000", park_id=park.id)
    assert {m.id for m in seen} == {b.id, c.id}


def test_only_a_park_has_members_and_none_of_them_a_park(registry: UseCases) -> None:
    park, other_park, factory = _new_park(registry), _new_park(registry), _register(registry)
    assert _refused(registry, handlers.set_park_members, park_id=factory.id,
                    member_ids=[]).code == "unit.not_a_park"
    err = _refused(registry, handlers.set_park_members, park_id=park.id,
                   member_ids=[factory.id, other_park.id])
    assert err.code == "park.member_kind" and err.params == {"unit_id": other_park.id}


# --- suppliers ------------------------------------------------------------------------------------


def test_suppliers_may_be_in_any_province(registry: UseCases) -> None:
    chain = _register(registry, kind="supply_chain")
    zj, sz = uscc("330100"), uscc("440300")
    registry.recorded("320000")
    links = registry(handlers.set_suppliers, as_=JIANGSU, tenant="320000", unit_id=chain.id,
                     suppliers=[(zj, "浙江供应商", "330000"), (sz, "深圳供应商", "440300")])
    assert {(x.uscc, x.tenant) for x in links} == {(zj, "330000"), (sz, "440300")}
    (event,) = registry.recorded("320000")
    assert event.body == ev.SuppliersChanged(unit_id=chain.id, count=2)
    seen = registry(handlers.suppliers, as_=JIANGSU, tenant="320000", unit_id=chain.id)
    assert [x.uscc for x in seen] == sorted([zj, sz])


def test_supplier_refusals(registry: UseCases) -> None:
    chain, factory = _register(registry, kind="supply_chain"), _register(registry)
    assert _refused(registry, handlers.set_suppliers, unit_id=chain.id,
                    suppliers=[(uscc(), "无名", "999999")]).code == "tenant.unknown"
    assert _refused(registry, handlers.set_suppliers, unit_id=factory.id,
                    suppliers=[]).code == "unit.not_supply_chain"


# --- cultivation targets --------------------------------------------------------------------------


def test_a_target_is_valid_three_years(registry: UseCases) -> None:
    unit = _register(registry)
    registry.recorded("320000")
    for _ in range(2):    # designating again is the same target
        target = registry(handlers.designate_target, as_=JIANGSU, tenant="320000",
                          unit_id=unit.id, category="factory", valid_from="2024-03-01", note="")
    assert str(target.valid_until) == "2027-02-28"
    (event,) = registry.recorded("320000")
    assert event.body == ev.TargetDesignated(target_id=target.id, unit_id=unit.id,
                                             category="factory", valid_from="2024-03-01",
                                             valid_until="2027-02-28")

    def active(day: str) -> set[str]:
        _, targets = registry(handlers.list_targets, as_=JIANGSU, tenant="320000",
                              active_on=day, include_expired=False)
        return {t.unit_id for t in targets}

    assert unit.id in active("2027-02-28") and unit.id not in active("2027-03-01")
    day, _ = registry(handlers.list_targets, as_=JIANGSU, tenant="320000", active_on="",
                      include_expired=True)
    assert str(day) == "2025-10-11"


def test_target_refusals(registry: UseCases) -> None:
    unit = _register(registry)
    mismatch = _refused(registry, handlers.designate_target, unit_id=unit.id, category="park",
                        valid_from="", note="")
    assert mismatch.code == "target.category_mismatch"
    assert mismatch.params == {"category": "park", "kind": "factory"}
    assert _refused(registry, handlers.designate_target, unit_id=unit.id, category="shop",
                    valid_from="", note="").code == "unit.kind_unknown"
    assert _refused(registry, handlers.designate_target, as_=NANJING, unit_id=unit.id,
                    category="factory", valid_from="", note="").kind is Kind.FORBIDDEN


# --- plans ----------------------------------------------------------------------------------------


def _publish(registry: UseCases, owner: Unit, entries: list[tuple[str, str, str]],
             year: int = 2026, title: str = "培育计划") -> Any:
    return registry(handlers.publish_plan, as_=JIANGSU, tenant="320000", owner_id=owner.id,
                    year=year, title=title, entries=entries)


def test_a_parks_plan_names_members_only_and_replaces_itself(registry: UseCases) -> None:
    park, member, stranger = _new_park(registry), _register(registry), _register(registry)
    _members(registry, park, member)
    registry.recorded("320000")
    plan = _publish(registry, park, [(member.uscc, "成员", "")])
    again = _publish(registry, park, [(member.uscc, "成员新名", "")], title="新标题")
    assert again.id == plan.id and again.title == "新标题"
    events = registry.recorded("320000")
    assert [e.body for e in events] == [ev.PlanPublished(plan_id=plan.id, owner_id=park.id,
                                                         kind="park", year=2026, named=1)] * 2
    ((_, entries, ids, levels),) = registry(handlers.plan_view, as_=JIANGSU, tenant="320000",
                                            plan_id=plan.id)
    assert [(e.name, e.tenant) for e in entries] == [("成员新名", "320000")]
    assert ids == {member.uscc: member.id} and levels == {}
    err = _refused(registry, handlers.publish_plan, owner_id=park.id, year=2027, title="",
                   entries=[(stranger.uscc, "非成员", "")])
    assert err.code == "plan.not_a_member" and err.params == {"uscc": stranger.uscc}


def test_a_supply_chains_plan_names_its_suppliers(registry: UseCases) -> None:
    chain = _register(registry, kind="supply_chain")
    zj = uscc("330100")
    registry(handlers.set_suppliers, as_=JIANGSU, tenant="320000", unit_id=chain.id,
             suppliers=[(zj, "浙江供应商", "330000")])
    plan = _publish(registry, chain, [(zj, "浙江供应商", "")])
    ((_, entries, _, _),) = registry(handlers.plan_view, as_=JIANGSU, tenant="320000",
                                     plan_id=plan.id)
    assert [(e.uscc, e.tenant) for e in entries] == [(zj, "330000")]
    assert _refused(registry, handlers.publish_plan, owner_id=chain.id, year=2027, title="",
                    entries=[(uscc(), "不在名单", "")]).code == "plan.not_a_supplier"


def test_plan_refusals(registry: UseCases) -> None:
    park, factory = _new_park(registry), _register(registry)
    assert _refused(registry, handlers.publish_plan, owner_id=factory.id, year=2026, title="",
                    entries=[]).code == "plan.owner_kind"
    assert _refused(registry, handlers.publish_plan, owner_id=park.id, year=2026, title="",
                    entries=[]).code == "plan.empty"
    assert _refused(registry, handlers.publish_plan, owner_id=park.id, year=1999, title="",
                    entries=[]).code == "plan.year"
    assert _refused(registry, handlers.plan_view, plan_id="nope").code == "plan.not_found"


def test_a_plans_progress_follows_listings_additions(registry: UseCases) -> None:
    park, a, b = _new_park(registry), _register(registry), _register(registry)
    _members(registry, park, a, b)
    plan = _publish(registry, park, [(a.uscc, "甲", ""), (b.uscc, "乙", "")])
    for level in ("national", "municipal"):   # a lower list later does not lower the level
        assert registry.hear(ev.EntryAdded(entry_id=f"e-{level}", unit_id=a.id, uscc=a.uscc,
                                           level=level, unit_tenant="320000"),
                             tenant="000000", service="listing", event_type="entry.added")
    views = registry(handlers.plan_view, as_=JIANGSU, tenant="320000", owner_id=park.id)
    assert [(p.id, levels) for p, _, _, levels in views] == [(plan.id, {a.uscc: "national"})]
    with pytest.raises(DomainError) as err:
        registry.hear(ev.EntryAdded(entry_id="e3", unit_id=b.id, uscc=b.uscc, level="county"),
                      tenant="320000", service="listing", event_type="entry.added")
    assert err.value.code == "unit.level_unknown"
