"""What every registry use case shares: loading a unit the caller may act on, its state for the
rules, writing a decided state back to its row, and the history line a change leaves."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

from sqlmodel import Session

from services.kernel import clock
from services.kernel.errors import bounded, found
from services.kernel.identity import Identity, authorize
from services.registry import domain, store
from services.registry.store import ComplianceRecord, Unit, UnitChange


def unit_for(session: Session, ident: Identity, tenant: str, unit_id: str,
             roles: tuple[str, ...], *, write: bool = False, confined: bool = True) -> Unit:
    """The unit, if it exists in this tenant and the caller may act on it with ``roles``
    (``confined``: a city to its city, an enterprise to its own units); ``write`` locks its row.
    Ids are random: a city learns that a unit exists outside it (403), not what it is."""
    unit = store.get_unit(session=session, unit_id=unit_id, for_update=write)
    if unit is None:
        authorize(ident, tenant, roles, write=write)  # a stranger is refused before "not found"
    unit = found(unit, "unit.not_found", unit_id=unit_id)
    if confined:
        authorize(ident, tenant, roles, location=unit.location, org=unit.uscc, write=write)
    else:
        authorize(ident, tenant, roles, write=write)
    return unit


def state_of(unit: Unit) -> domain.UnitState:
    """The stored unit as the rules see it."""
    return domain.UnitState(**{f.name: getattr(unit, f.name) for f in fields(domain.UnitState)})


def apply(unit: Unit, state: domain.UnitState) -> None:
    """Write a state the rules decided onto the unit's row: its changed fields, nothing else."""
    for f in fields(state):
        value = getattr(state, f.name)
        if getattr(unit, f.name) != value:
            setattr(unit, f.name, value)


def record_of(row: ComplianceRecord) -> domain.Record:
    return domain.Record(row.id, row.kind, row.occurred_on, row.ended_on)


def touch(unit: Unit) -> None:
    """A unit changed: its version counts the changes (optimistic readers compare it)."""
    unit.updated_at = clock.now()
    unit.version += 1


def change(session: Session, ident: Identity, unit_id: str, kind: str, old: str, new: str,
           effective_on: date | None, reason: str) -> None:
    """A line of the unit's history (变更记录): what changed, from what to what, by whom."""
    session.add(UnitChange(unit_id=unit_id, kind=kind, field_from=old, field_to=new,
                           effective_on=effective_on, reason=reason, actor=ident.subject,
                           at=clock.now()))


def reason_text(reason: str) -> str:
    return bounded(reason, "reason", 1000)
