"""Sanctions (处罚): a warning, a period of 不采信 or a removal from the directory (除名)."""

from __future__ import annotations

from generated.events.v1 import events_pb2 as ev
from services.institutions import domain, store
from services.institutions.domain import NATIONAL, rules
from services.institutions.handlers.common import load_institution, national_store, record
from services.institutions.store import Sanction
from services.kernel import clock
from services.kernel.errors import bounded, refuse
from services.kernel.identity import Identity, authorize
from services.kernel.runtime import Runtime


def sanction(rt: Runtime, *, ident: Identity, tenant: str, uscc: str, kind: str, reason: str,
             decision: str, starts_on: str, ends_on: str) -> Sanction:
    """A warning, a period of 不采信 or a removal, with reason, decision and period. A province
    sanctions within its own province and only institutions filed with it; a removal from the
    directory is the ministry's. The same decision sent again is one sanction."""
    grant = authorize(ident, tenant, ("ministry", "province"), write=True)
    r = rules()
    refuse(domain.sanction_kind_refusal(
        kind, ministry_nationally=grant.role == "ministry" and tenant == NATIONAL, r=r))
    reason, decision = bounded(reason, "reason", 2000), bounded(decision, "decision", 200)
    refuse(domain.required("reason", reason))
    refuse(domain.required("decision", decision))
    start = clock.optional_day(starts_on, "starts_on") or clock.today()
    end = domain.checked_period(kind, start, clock.optional_day(ends_on, "ends_on"), r)
    with rt.db.session(national_store(tenant), write=True) as s:
        inst = load_institution(s, uscc, for_update=True)
        refuse(domain.sanction_scope_refusal(
            inst.uscc, tenant,
            filed_here=bool(store.filings(session=s, uscc=inst.uscc, province=tenant))))
        for earlier in store.sanctions(session=s, uscc=inst.uscc):
            if (earlier.kind, earlier.scope, earlier.decision) == (kind, tenant, decision):
                return earlier  # the same decision sent again: one sanction
        row = Sanction(id=store.new_id(), uscc=inst.uscc, kind=kind, scope=tenant, reason=reason,
                       decision=decision, starts_on=start, ends_on=end, decided_by=ident.subject,
                       decided_at=clock.now())
        s.add(row)
        status = domain.status_after_sanction(inst.status, kind)
        if status != inst.status:
            inst.status = status
            s.add(inst)
        record(rt, s, ev.InstitutionSanctioned(
            sanction_id=row.id, uscc=inst.uscc, kind=kind, scope=tenant,
            starts_on=start.isoformat(), ends_on=end.isoformat() if end else ""), reason)
        return row
