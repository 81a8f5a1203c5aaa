"""The public directory of verified institutions and an institution's public track record
(SPEC §9). No caller: these are public reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from services.institutions import domain, store
from services.institutions.domain import NATIONAL
from services.institutions.handlers.common import load_institution, terms
from services.institutions.store import Institution
from services.kernel import clock
from services.kernel.errors import found
from services.kernel.runtime import Runtime


def _entries(s: Session, insts: Sequence[Institution]) -> list[dict[str, Any]]:
    """Public directory entries (two queries for all of them); no staff, no ID number."""
    usccs = [i.uscc for i in insts]
    filings = store.filings_by_institution(session=s, usccs=usccs)
    sanctions = store.sanctions_by_institution(session=s, usccs=usccs)
    out = []
    for inst in insts:
        profile = json.loads(inst.profile_json)
        out.append({
            "uscc": inst.uscc, "name": inst.name, "address": profile["address"],
            "provinces": [f.province for f in filings[inst.uscc] if f.status == "active"],
            "scope_categories": profile["scope_categories"],
            "scope_industries": profile["scope_industries"],
            "reports_accepted": domain.accepts_reports(
                inst.status, terms(sanctions[inst.uscc]), NATIONAL, clock.today())})
    return out


def directory(rt: Runtime, *, province: str, category: str) -> list[dict[str, Any]]:
    """Verified institutions, with the provinces they are filed in (public)."""
    with rt.db.session(NATIONAL) as s:
        entries = _entries(s, store.institutions(session=s, status=("verified",)))
    return [e for e in entries if (not province or province in e["provinces"])
            and (not category or category in e["scope_categories"])]


def track_record(rt: Runtime, *, uscc: str) -> dict[str, Any]:
    """An institution's public record: projects per year and level, the deviation of its claimed
    scores, units later removed from a list, and its sanctions."""
    with rt.db.session(NATIONAL) as s:
        inst = load_institution(s, uscc)
        inst = found(inst if domain.is_public(inst.status) else None,
                     "institution.not_found", uscc=inst.uscc)
        done = store.engagements(session=s, institution_uscc=inst.uscc,
                                 status=("accepted", "completed"))
        projects = [domain.Project(
            year=e.year, level=e.level, unit_key=f"{e.unit_tenant}/{e.unit_id}",
            started_on=e.engaged_on,
            deviation=Decimal(e.deviation) if e.deviation else None) for e in done]
        removals = store.removals(session=s, unit_keys=[(e.unit_tenant, e.unit_id) for e in done])
        return {"institution": _entries(s, [inst])[0],
                **domain.track_record(projects, removals),
                "sanctions": list(store.sanctions(session=s, uscc=inst.uscc))}
