"""What the registry publishes and what it hears (ARCHITECTURE §5), and what hearing it does."""

from __future__ import annotations

from sqlmodel import Session

from generated.events.v1 import events_pb2 as ev
from services.kernel import clock
from services.kernel.bus import Event, Subscription, contract
from services.kernel.errors import bounded, found
from services.kernel.identity import Identity
from services.kernel.runtime import Runtime
from services.registry import domain, store
from services.registry.handlers.compliance import record_fact
from services.registry.store import Unit

# Its part of the event contract, kept in the kernel beside the messages (decision 0006).
PUBLISHES = contract.REGISTRY


# --- events heard ---------------------------------------------------------------------------------


def _listed_units(session: Session, unit_id: str, uscc: str) -> list[Unit]:
    """The unit a listing event names, locked; or, for a unit listed by USCC, every site of it."""
    unit = store.get_unit(session=session, unit_id=unit_id, for_update=True)
    units = [unit] if unit is not None else list(store.units_by_uscc(session=session, uscc=uscc))
    # Refused, not ignored: after bounded redelivery the event lands in the dead-letter stream.
    return found(units or None, "unit.not_found", unit_id=unit_id or uscc)


def on_entry_added(rt: Runtime, session: Session, event: Event[ev.EntryAdded]) -> None:
    """listing's entry.added, applied in the unit's tenant: the unit's highest list level."""
    added = event.body
    domain.check_level(added.level)
    for unit in _listed_units(session, added.unit_id, added.uscc):
        unit.green_level = domain.highest_level((unit.green_level, added.level))
        session.add(unit)


def on_entry_removed(rt: Runtime, session: Session, event: Event[ev.EntryRemoved]) -> None:
    """listing's entry.removed becomes a list_removal compliance record: the 3-year bar (SPEC §5.3).
    It reaches every list the unit is on, so the unit holds no level any more."""
    removed = event.body
    fact = domain.Fact(kind="list_removal",
                       occurred_on=clock.parse_day(removed.decided_on, "decided_on"), ended_on=None,
                       description=bounded(removed.reason, "reason", 2000), source="listing",
                       reference=removed.entry_id)
    system = Identity(subject=f"listing:{event.envelope.actor.subject}")
    for unit in _listed_units(session, removed.unit_id, removed.uscc):
        record_fact(rt, session, system, unit, fact)
        unit.green_level = ""
        session.add(unit)


def listing_unit_tenant(event: Event[ev.EntryAdded] | Event[ev.EntryRemoved]) -> str:
    """The tenant a listing event acts in: the unit's, which differs for national lists."""
    return event.body.unit_tenant or event.tenant


SUBSCRIPTIONS = [
    # One consumer for entry.added and entry.removed, so they apply in stream order: a removal
    # bars re-application for 3 years (SPEC §5 condition 3); additions drive cultivation-plan
    # progress. National lists' events act in the unit's own tenant.
    Subscription(name="registry-listing-entries", service="listing", event_type="entry.*",
                 handlers={ev.EntryAdded: on_entry_added,
                           ev.EntryRemoved: on_entry_removed},
                 route=listing_unit_tenant),
]
