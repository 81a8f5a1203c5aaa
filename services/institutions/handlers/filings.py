"""Filings (备案): a province records that a verified institution works in it, or ends that."""

from __future__ import annotations

from generated.events.v1 import events_pb2 as ev
from services.institutions import domain, store
from services.institutions.handlers.common import load_institution, national_store, record
from services.institutions.store import Filing
from services.kernel import clock
from services.kernel.errors import bounded, found, refuse
from services.kernel.identity import Identity, authorize
from services.kernel.runtime import Runtime


def file(rt: Runtime, *, ident: Identity, tenant: str, uscc: str, reason: str) -> Filing:
    """A province records that a verified institution works in it (filing again is a no-op)."""
    authorize(ident, tenant, ("province",), write=True)  # a province grant is never national
    reason = bounded(reason, "reason", 500)
    with rt.db.session(national_store(tenant), write=True) as s:
        inst = load_institution(s, uscc)
        refuse(domain.filing_refusal(inst.uscc, inst.status))
        filing = store.filing(session=s, uscc=inst.uscc, province=tenant, for_update=True)
        if filing is not None and filing.status == "active":
            return filing
        filing = filing or Filing(uscc=inst.uscc, province=tenant, filed_by=ident.subject,
                                  filed_at=clock.now())
        filing.status, filing.filed_at, filing.revoked_at = "active", clock.now(), None
        filing.filed_by, filing.reason = ident.subject, reason
        s.add(filing)
        record(rt, s, ev.FilingChanged(uscc=inst.uscc, province=tenant, status="active"), reason)
        return filing


def revoke_filing(rt: Runtime, *, ident: Identity, tenant: str, uscc: str, reason: str) -> Filing:
    """A province ends a filing: no new engagements in it; those accepted go on."""
    authorize(ident, tenant, ("province",), write=True)
    reason = bounded(reason, "reason", 500)
    refuse(domain.required("reason", reason))
    with rt.db.session(national_store(tenant), write=True) as s:
        filing = found(store.filing(session=s, uscc=uscc.strip().upper(), province=tenant,
                                    for_update=True),
                       "filing.not_found", uscc=uscc, province=tenant)
        if filing.status == "revoked":
            return filing
        filing.status, filing.revoked_at, filing.reason = "revoked", clock.now(), reason
        s.add(filing)
        record(rt, s, ev.FilingChanged(uscc=filing.uscc, province=tenant, status="revoked"),
               reason)
        return filing
