"""Engagements (委托): an enterprise engages a filed, independent institution for one of its
units, within the national cap of the institution's legal representative; either party cancels
before the evaluation is submitted. Facts from other services (the unit, who helped write its
self-evaluations, whether an evaluation was submitted) arrive as arguments."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session

from generated.events.v1 import events_pb2 as ev
from services.institutions import domain, store
from services.institutions.domain import NATIONAL, UnitFact, rules
from services.institutions.handlers.common import (
    load_institution,
    national_store,
    own,
    record,
    terms,
    visible,
)
from services.institutions.store import Engagement, Institution
from services.kernel import clock
from services.kernel.errors import bounded, found, refuse, year_refusal
from services.kernel.identity import Identity, authorize
from services.kernel.runtime import Runtime, create_once

ROLES = ("ministry", "institution", "province", "city", "enterprise")


def engage(rt: Runtime, *, ident: Identity, tenant: str, unit: UnitFact, institution_uscc: str,
           level: str, request_id: str, assisted_by: Iterable[str]) -> Engagement:
    """An enterprise engages an institution to evaluate one of its units (``unit`` as the
    registry gave it; ``assisted_by``: who helped write the unit's self-evaluations). Refused,
    with the reason, when the institution is not filed in the unit's province, is sanctioned,
    is out of scope, is not independent of the unit, or when the national cap of its legal
    representative is reached. A retry with the same ``request_id`` returns the first engagement."""
    authorize(ident, tenant, ("enterprise",), location=unit.location, org=unit.uscc, write=True)
    refuse(domain.level_refusal(level, rules()))
    request_id = bounded(request_id, "request_id", 80)
    refuse(domain.required("request_id", request_id))
    code = domain.uscc_field(institution_uscc, "institution_uscc")
    refuse(domain.ownership_refusal(unit))

    def existing(s: Session) -> Engagement | None:
        return store.engagement_by_request(session=s, created_by=ident.subject,
                                           request_id=request_id)

    def create(s: Session) -> Engagement:
        return _engage(rt, s, ident=ident, tenant=tenant, unit=unit, code=code, level=level,
                       request_id=request_id, assisted_by=assisted_by)

    return create_once(rt.db, national_store(tenant), find=existing, create=create)[0]


def _engage(rt: Runtime, s: Session, *, ident: Identity, tenant: str, unit: UnitFact, code: str,
            level: str, request_id: str, assisted_by: Iterable[str]) -> Engagement:
    """Load, decide, take a place under the cap, store, record: one transaction. Locking the
    institution serialises its engagements; the cap is one locked counter per (legal
    representative, year), shared by all the institutions of that legal representative."""
    r, today = rules(), clock.today()
    inst = load_institution(s, code, for_update=True)
    filing = store.filing(session=s, uscc=code, province=tenant)
    profile = json.loads(inst.profile_json)
    refuse(domain.engagement_refusal(
        domain.Candidate(uscc=inst.uscc, status=inst.status, parent_uscc=inst.parent_uscc,
                         legal_rep_key=inst.legal_rep_key,
                         scope_categories=tuple(profile["scope_categories"]),
                         scope_industries=tuple(profile["scope_industries"]),
                         staff=domain.staff_of(profile), party=_party(s, inst)),
        unit, province=tenant, filed=filing is not None and filing.status == "active",
        sanctions=terms(store.sanctions(session=s, uscc=code)), assisted_by=assisted_by,
        already_engaged=bool(store.engagements(session=s, institution_uscc=code,
                                               unit_tenant=tenant, unit_id=unit.id,
                                               status=("accepted",))),
        today=today))
    counted = domain.counts_toward_cap(level, r)
    used = 0
    if counted:
        row = store.lock_counter(session=s, legal_rep_key=inst.legal_rep_key, year=today.year)
        refuse(domain.cap_refusal(row.used, today.year, r))
        row.used += 1
        used = row.used
        s.add(row)
    e = Engagement(
        id=store.new_id(), institution_uscc=code, legal_rep_key=inst.legal_rep_key,
        unit_id=unit.id, unit_tenant=tenant, unit_uscc=unit.uscc,
        unit_location=unit.location, unit_name=unit.name,
        # The legal representative's key served its comparison; it is not kept with the engagement.
        unit_json=json.dumps(unit.kept(), ensure_ascii=False),
        category=unit.kind, level=level, year=today.year, engaged_on=today, counted=counted,
        request_id=request_id, created_by=ident.subject, created_at=clock.now())
    s.add(e)
    record(rt, s, ev.EngagementAccepted(
        engagement_id=e.id, institution_uscc=code, unit_id=e.unit_id, unit_tenant=tenant,
        level=level, year=e.year, cap_used=used))
    return e


def _party(s: Session, inst: Institution) -> tuple[str, ...]:
    """The USCCs that are one party with the institution (itself, its parent company, the
    institutions sharing its legal representative or parent): for the self-evaluation rule."""
    return domain.one_party(
        domain.Party(inst.uscc, inst.parent_uscc, inst.legal_rep_key),
        [domain.Party(x.uscc, x.parent_uscc, x.legal_rep_key)
         for x in store.maybe_one_party(session=s, uscc=inst.uscc,
                                        legal_rep_key=inst.legal_rep_key,
                                        parent_uscc=inst.parent_uscc)])


def _parties(e: Engagement) -> domain.EngagementParties:
    return domain.EngagementParties(institution_uscc=e.institution_uscc,
                                    unit_tenant=e.unit_tenant, unit_location=e.unit_location,
                                    unit_uscc=e.unit_uscc)


def _engagement(s: Session, ident: Identity, tenant: str, engagement_id: str, *,
                write: bool = False) -> Engagement:
    """The engagement, if the caller may see it (or act on it, ``write``). Outside the national
    tenant only the engagements of units of that tenant exist."""
    authorize(ident, tenant, ROLES, write=write)
    e = store.engagement(session=s, engagement_id=engagement_id.strip(), for_update=write)
    here = e is not None and (tenant == NATIONAL or e.unit_tenant == tenant)
    e = found(e if here else None, "engagement.not_found", engagement_id=engagement_id)
    refuse(domain.engagement_access_refusal(ident.in_tenant(tenant, write=write), tenant,
                                            _parties(e), write=write))
    return e


def get_engagement(rt: Runtime, *, ident: Identity, tenant: str, engagement_id: str) -> Engagement:
    with rt.db.session(national_store(tenant)) as s:
        return _engagement(s, ident, tenant, engagement_id)


def cancel(rt: Runtime, *, ident: Identity, tenant: str, engagement_id: str, reason: str,
           submitted: bool) -> Engagement:
    """Either party, the unit's province or the ministry cancels an engagement before its
    evaluation is submitted (``submitted``: the evaluation service says one is); its place under
    the cap is released, once."""
    reason = bounded(reason, "reason", 500)
    refuse(domain.required("reason", reason))
    with rt.db.session(national_store(tenant), write=True) as s:
        e = _engagement(s, ident, tenant, engagement_id, write=True)
        if e.status == "cancelled":
            return e
        refuse(domain.cancel_refusal(e.id, e.status, submitted=submitted))
        if e.counted:
            row = store.lock_counter(session=s, legal_rep_key=e.legal_rep_key, year=e.year)
            row.used = domain.released(row.used)
            s.add(row)
        e.status, e.cancelled_at, e.cancel_reason = "cancelled", clock.now(), reason
        s.add(e)
        record(rt, s, ev.EngagementCancelled(
            engagement_id=e.id, institution_uscc=e.institution_uscc, unit_id=e.unit_id,
            unit_tenant=e.unit_tenant, reason=reason), reason)
        return e


def list_engagements(rt: Runtime, *, ident: Identity, tenant: str, institution_uscc: str,
                     unit_id: str, year: int) -> list[Engagement]:
    """The engagements the caller may see, filtered."""
    refuse(year_refusal(year, zero_means_default=True))
    authorize(ident, tenant, ROLES)
    with rt.db.session(national_store(tenant)) as s:
        rows = store.engagements(session=s, institution_uscc=institution_uscc.strip().upper(),
                                 unit_tenant="" if tenant == NATIONAL else tenant,
                                 unit_id=unit_id, year=year)
    grants = ident.in_tenant(tenant)
    return [e for e in rows
            if domain.engagement_access_refusal(grants, tenant, _parties(e)) is None]


def check_engagement(rt: Runtime, *, ident: Identity, tenant: str, engagement_id: str,
                     unit_id: str) -> tuple[Engagement, bool, Institution, tuple[str, ...]]:
    """For a service acting for an institution in a province: the institution's accepted
    engagement (by id, or its engagement on ``unit_id``), whether its reports are accepted
    there today, and who is one party with it (the evaluation service checks that none of them
    helped write the unit's self-evaluation, when the evaluation is created and submitted)."""
    grant = authorize(ident, tenant, ("institution",))
    with rt.db.session(national_store(tenant)) as s:
        if engagement_id:
            e = store.engagement(session=s, engagement_id=engagement_id.strip())
        else:
            active = store.engagements(session=s, institution_uscc=grant.org, unit_tenant=tenant,
                                       unit_id=unit_id, status=("accepted",))
            e = active[0] if active else None
        mine = e is not None and e.unit_tenant == tenant and own(ident, tenant, e.institution_uscc)
        e = found(e if mine else None, "engagement.not_found",
                  engagement_id=engagement_id or unit_id)
        refuse(domain.active_refusal(e.id, e.status))
        inst = load_institution(s, e.institution_uscc)
        accepted = domain.accepts_reports(
            inst.status, terms(store.sanctions(session=s, uscc=inst.uscc)), tenant, clock.today())
        return e, accepted, inst, _party(s, inst)


def cap_usage(rt: Runtime, *, ident: Identity, tenant: str, uscc: str, year: int) -> dict[str, Any]:
    """How many national projects the institution's legal representative has taken this year."""
    refuse(year_refusal(year, zero_means_default=True))
    year = year or clock.today().year
    with rt.db.session(NATIONAL) as s:
        inst, _, scope = visible(s, ident, tenant, uscc)
        siblings = store.sharing_legal_rep(session=s, legal_rep_key=inst.legal_rep_key)
        return {"legal_representative": inst.legal_representative, "year": year,
                "used": store.counter(session=s, legal_rep_key=inst.legal_rep_key, year=year),
                "cap": rules().cap,
                # the count covers every sibling; the names only those the caller may see
                "institutions": [u for u in siblings if scope is None or u in scope]}
