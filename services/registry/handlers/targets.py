"""Cultivation targets (培育对象, SPEC §3): units a province marks as having potential."""

from __future__ import annotations

from datetime import date

from generated.events.v1 import events_pb2 as ev
from services.kernel import clock
from services.kernel.errors import bounded, decided
from services.kernel.identity import Identity, visible_scope
from services.kernel.runtime import Runtime
from services.registry import domain, store
from services.registry.domain import READ
from services.registry.handlers.common import state_of, unit_for
from services.registry.store import Target


def designate_target(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str, category: str,
                     valid_from: str, note: str) -> Target:
    """A province marks a unit with potential as a cultivation target (培育对象); designating
    the same unit, category and day again returns the first target."""
    domain.check_kind(category)
    start = clock.optional_day(valid_from, "valid_from") or clock.today()
    note = bounded(note, "note", 1000)
    with rt.db.session(tenant, write=True) as s:
        unit = unit_for(s, ident, tenant, unit_id, ("province",), write=True)
        new = decided(domain.designate(state_of(unit), category, start))
        existing = store.find_target(session=s, unit_id=unit.id, category=category,
                                     valid_from=start)
        if existing is not None:
            return existing
        target = Target(id=store.new_id(), unit_id=new.unit_id, category=new.category,
                        valid_from=new.valid_from, valid_until=new.valid_until, note=note,
                        created_at=clock.now())
        s.add(target)
        rt.record(s, ev.TargetDesignated(
            target_id=target.id, unit_id=unit.id, category=category,
            valid_from=start.isoformat(), valid_until=new.valid_until.isoformat()))
        return target


def list_targets(rt: Runtime, *, ident: Identity, tenant: str, active_on: str,
                 include_expired: bool) -> tuple[date, list[Target]]:
    """The targets the caller may see, active on a day (today unless named) or all of them."""
    scope = visible_scope(ident, tenant, READ)
    day = clock.optional_day(active_on, "active_on") or clock.today()
    with rt.db.session(tenant) as s:
        rows = store.targets(session=s, active_on=None if include_expired else day,
                             org=scope.org, city_prefix=scope.location_prefix)
        return day, [t for t, _ in rows]
