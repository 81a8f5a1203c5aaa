"""Parks and supply chains (SPEC §3): a park's member enterprises, a supply chain's suppliers."""

from __future__ import annotations

from generated.events.v1 import events_pb2 as ev
from services.kernel.errors import refuse
from services.kernel.identity import Identity, authorize
from services.kernel.runtime import Runtime
from services.registry import domain, store
from services.registry.domain import OFFICIAL, READ, WRITE
from services.registry.handlers.common import state_of, unit_for
from services.registry.store import SupplierLink, Unit


def set_park_members(rt: Runtime, *, ident: Identity, tenant: str, park_id: str,
                     member_ids: list[str]) -> tuple[Unit, list[Unit]]:
    """The park's member units, kept by the officials who may act on every one of them: a
    park's managing body must not pull in (and so read) units outside its reach, nor drop
    members to escape their records at the veto check."""
    with rt.db.session(tenant, write=True) as s:
        park = unit_for(s, ident, tenant, park_id, OFFICIAL, write=True)
        refuse(domain.not_a_park(state_of(park)))
        for member_id in member_ids:
            member = unit_for(s, ident, tenant, member_id, OFFICIAL, write=True)
            refuse(domain.not_a_member(state_of(member)))
        current = list(store.park_members(session=s, park_id=park.id))
        for member in current:
            authorize(ident, tenant, OFFICIAL, location=member.location, write=True)
        moved = domain.membership_change((u.id for u in current), member_ids)
        store.set_park_members(session=s, park_id=park.id, member_ids=member_ids)
        for member_id in moved.joined:
            rt.record(s, ev.ParkMemberJoined(park_id=park.id, member_id=member_id))
        for member_id in moved.left:
            rt.record(s, ev.ParkMemberLeft(park_id=park.id, member_id=member_id))
        s.flush()
        return park, list(store.park_members(session=s, park_id=park.id))


def park_members(rt: Runtime, *, ident: Identity, tenant: str,
                 park_id: str) -> tuple[Unit, list[Unit]]:
    with rt.db.session(tenant) as s:
        park = unit_for(s, ident, tenant, park_id, READ)
        return park, list(store.park_members(session=s, park_id=park.id))


def set_suppliers(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str,
                  suppliers: list[tuple[str, str, str]]) -> list[SupplierLink]:
    """The supply-chain enterprise's supplier list; suppliers may be in any province."""
    listed = domain.supplier_list(suppliers)
    with rt.db.session(tenant, write=True) as s:
        unit = unit_for(s, ident, tenant, unit_id, WRITE, write=True)
        refuse(domain.not_a_supply_chain(state_of(unit)))
        store.set_suppliers(session=s, unit_id=unit.id, links=[
            SupplierLink(unit_id=unit.id, uscc=x.uscc, name=x.name, tenant=x.tenant)
            for x in listed])
        rt.record(s, ev.SuppliersChanged(unit_id=unit.id, count=len(listed)))
        s.flush()
        return list(store.suppliers(session=s, unit_id=unit.id))


def suppliers(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str) -> list[SupplierLink]:
    with rt.db.session(tenant) as s:
        unit_for(s, ident, tenant, unit_id, READ)
        return list(store.suppliers(session=s, unit_id=unit_id))
