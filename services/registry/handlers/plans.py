"""Cultivation plans (培育计划, SPEC §3): a park's names its member enterprises, a supply-chain
enterprise's its suppliers; progress is the list levels the named enterprises reach."""

from __future__ import annotations

from generated.events.v1 import events_pb2 as ev
from services.kernel import clock
from services.kernel.errors import bounded, decided, found
from services.kernel.identity import Identity, authorize
from services.kernel.runtime import Runtime
from services.registry import domain, store
from services.registry.domain import READ, WRITE
from services.registry.handlers.common import state_of, unit_for
from services.registry.store import Plan, PlanEntry

PlanView = tuple[Plan, list[PlanEntry], dict[str, str], dict[str, str]]


def publish_plan(rt: Runtime, *, ident: Identity, tenant: str, owner_id: str, year: int,
                 title: str, entries: list[tuple[str, str, str]]) -> Plan:
    """A park's green factory cultivation plan names member enterprises; a supply-chain
    enterprise's names suppliers (any province). Publishing again for a year replaces it."""
    domain.check_plan_year(year)
    title = bounded(title, "title", 200)
    with rt.db.session(tenant, write=True) as s:
        owner = unit_for(s, ident, tenant, owner_id, WRITE, write=True)
        if owner.kind == "park":
            allowed = {u.uscc: tenant for u in store.park_members(session=s, park_id=owner.id)}
        else:
            allowed = {x.uscc: x.tenant for x in store.suppliers(session=s, unit_id=owner.id)}
        lines = decided(domain.plan_lines(state_of(owner), entries, allowed))
        plan = store.plan_for(session=s, owner_id=owner.id, year=year)
        if plan is None:
            plan = Plan(id=store.new_id(), owner_id=owner.id, kind=owner.kind, year=year,
                        title=title, created_at=clock.now())
            s.add(plan)
        else:
            plan.title = title
            for old in store.plan_entries(session=s, plan_id=plan.id):
                s.delete(old)
            s.flush()
        for line in lines:
            s.add(PlanEntry(plan_id=plan.id, uscc=line.uscc, name=line.name, tenant=line.tenant))
        rt.record(s, ev.PlanPublished(plan_id=plan.id, owner_id=owner.id, kind=owner.kind,
                                      year=year, named=len(lines)))
        return plan


def plan_view(rt: Runtime, *, ident: Identity, tenant: str, plan_id: str = "",
              owner_id: str = "") -> list[PlanView]:
    """Plans with their entries, the registered unit id and the highest list level of each."""
    with rt.db.session(tenant) as s:
        if plan_id:
            plan = store.get_plan(session=s, plan_id=plan_id)
            if plan is None:
                authorize(ident, tenant, READ)  # a stranger is refused before "not found"
            plans = [found(plan, "plan.not_found", plan_id=plan_id)]
            owner_id = plans[0].owner_id
        else:
            plans = list(store.plans_of(session=s, owner_id=owner_id))
        unit_for(s, ident, tenant, owner_id, READ)
        out = []
        for plan in plans:
            entries = list(store.plan_entries(session=s, plan_id=plan.id))
            usccs = [e.uscc for e in entries]
            ids = {u.uscc: u.id for uscc in usccs
                   for u in store.units_by_uscc(session=s, uscc=uscc)}
            levels = {uscc: domain.highest_level(held)
                      for uscc, held in store.green_levels(session=s, usccs=usccs).items()}
            out.append((plan, entries, ids, levels))
        return out
