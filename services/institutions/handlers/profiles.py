"""Profiles (机构信息): an institution enters its profile, the ministry verifies it, officials
read it. Facts from other services arrive as arguments: the gRPC layer asks for them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from generated.events.v1 import events_pb2 as ev
from services.institutions import domain, store
from services.institutions.domain import NATIONAL, rules
from services.institutions.handlers.common import load_institution, record, scope_of, visible
from services.institutions.store import Institution
from services.kernel import clock
from services.kernel.errors import refuse
from services.kernel.identity import Identity, authorize
from services.kernel.personid import parse_person_id, person_secret
from services.kernel.runtime import Runtime


def register(rt: Runtime, *, ident: Identity, tenant: str,
             raw: dict[str, Any]) -> tuple[Institution, bool]:
    """An institution enters or updates its own profile (the ministry may do it for one). A new
    profile is unverified until the ministry verifies it; a verified one whose legal
    representative or parent company changes is verified again."""
    profile = domain.Profile.parse(raw, today=clock.today(), r=rules())
    refuse(domain.national_only(tenant))
    authorize(ident, tenant, ("institution", "ministry"), org=profile.uscc, write=True)
    # The ID number is kept only as a key (the cap and related parties) and a masked form.
    person = (parse_person_id(raw["legal_rep_id"], secret=person_secret(rt.settings))
              if raw["legal_rep_id"].strip() else None)
    now = clock.now()
    with rt.db.session(NATIONAL, write=True) as s:
        inst = store.institution(session=s, uscc=profile.uscc, for_update=True)
        refuse(domain.registration_refusal(profile.uscc, None if inst is None else inst.status,
                                           legal_rep_id_given=person is not None))
        created = inst is None
        if inst is None:
            inst = Institution(uscc=profile.uscc, name="", legal_representative="",
                               legal_rep_key="", legal_rep_masked="", profile_json="{}",
                               created_by=ident.subject, created_at=now, updated_at=now)
        status = domain.status_after_update(
            inst.status,
            legal_rep_changed=person is not None and person.key != inst.legal_rep_key,
            parent_changed=profile.parent_uscc != inst.parent_uscc)
        if status != inst.status:
            inst.status, inst.verified_at = status, None
        inst.name, inst.legal_representative = profile.name, profile.legal_representative
        inst.parent_uscc = profile.parent_uscc
        if person is not None:
            inst.legal_rep_key, inst.legal_rep_masked = person.key, person.masked
        inst.profile_json = json.dumps(profile.stored(), ensure_ascii=False)
        inst.updated_at = now
        s.add(inst)
        record(rt, s, ev.InstitutionRegistered(uscc=profile.uscc, name=inst.name,
                                               created=created))
        return inst, created


def verify(rt: Runtime, *, ident: Identity, tenant: str, uscc: str) -> Institution:
    """The ministry verifies an institution that meets the SPEC §9 rules."""
    authorize(ident, tenant, ("ministry",), write=True)
    refuse(domain.national_only(tenant))
    with rt.db.session(NATIONAL, write=True) as s:
        inst = load_institution(s, uscc, for_update=True)
        if inst.status == "verified":
            return inst
        unmet = domain.findings_of(json.loads(inst.profile_json), clock.today(), rules())
        refuse(domain.verification_refusal(inst.uscc, inst.status, unmet))
        inst.status, inst.verified_at = "verified", clock.now()
        s.add(inst)
        record(rt, s, ev.InstitutionVerified(uscc=inst.uscc))
        return inst


def get(rt: Runtime, *, ident: Identity, tenant: str, uscc: str) -> dict[str, Any]:
    """One institution as the caller may see it (``views``)."""
    with rt.db.session(NATIONAL) as s:
        inst, full, _ = visible(s, ident, tenant, uscc)
        return views(s, [inst], full=full)[0]


def list_institutions(rt: Runtime, *, ident: Identity, tenant: str) -> list[dict[str, Any]]:
    """The institutions the caller may see: all (ministry), those filed with a province (the
    province and its cities), itself (an institution)."""
    with rt.db.session(NATIONAL) as s:
        scope, grant = scope_of(s, ident, tenant, ("ministry", "institution", "province", "city"))
        return views(s, store.institutions(session=s, usccs=scope),
                     full=domain.shows_staff(grant.role))


def views(s: Session, insts: Sequence[Institution], *, full: bool) -> list[dict[str, Any]]:
    """Institutions with their filings and sanctions (two queries for all of them), the rules
    each does not meet, and its staff counts; the staff list itself only when ``full``."""
    usccs = [i.uscc for i in insts]
    filings = store.filings_by_institution(session=s, usccs=usccs)
    sanctions = store.sanctions_by_institution(session=s, usccs=usccs)
    r, today = rules(), clock.today()
    out = []
    for inst in insts:
        profile = json.loads(inst.profile_json)
        qualified, senior = domain.staff_counts(domain.staff_of(profile), r)
        unmet = domain.findings_of(profile, today, r)
        if not full:
            profile["staff"] = []
        out.append({"institution": inst, "profile": profile, "unmet": unmet,
                    "filings": filings[inst.uscc], "sanctions": sanctions[inst.uscc],
                    "qualified": qualified, "senior": senior})
    return out
