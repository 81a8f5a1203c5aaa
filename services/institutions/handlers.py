"""Institutions use cases: authorise, validate, store in the national tenant, record the event.

Every record lives in tenant 000000 (ARCHITECTURE §2). A call names the tenant where the caller
acts: the ministry and institutions in 000000; a province, a city or an enterprise in its own
tenant, where they see only what concerns it (institutions filed with it, engagements of its
units). Keeping a province's records nationally is the declared crossing
``institutions_registry_is_national``. Facts from other services (the unit, who helped write its
self-evaluation) arrive as arguments: the gRPC layer asks for them on the caller's behalf.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from greenladder.events.v1 import events_pb2 as ev
from services.institutions import domain, store
from services.institutions.domain import NATIONAL, Finding, Party, StaffMember, rules
from services.institutions.store import Engagement, Filing, Institution, Sanction, WorkReport
from services.kernel import clock
from services.kernel.crossings import crossing_for_store
from services.kernel.errors import (
    DomainError,
    Kind,
    bounded,
    conflict,
    forbidden,
    invalid,
    not_found,
    precondition,
)
from services.kernel.identity import Grant, Identity, authorize
from services.kernel.personid import parse_person_id, person_secret
from services.kernel.service import Runtime
from services.kernel.uscc import validate_uscc

SERVICE = "institutions"


def _store_tenant(tenant: str) -> str:
    """The tenant records are kept in: always the national one, by a declared crossing."""
    if tenant != NATIONAL and crossing_for_store(SERVICE, tenant, NATIONAL) is None:
        raise DomainError("crossing.undeclared", Kind.FORBIDDEN, event=SERVICE, source=tenant,
                          target=NATIONAL)
    return NATIONAL


def _record(rt: Runtime, s: Session, event_type: str, body, reason: str = "") -> None:  # type: ignore[no-untyped-def]
    """Every event of this service goes into the national chain, where its records are."""
    rt.record(s, event_type, body, reason, tenant=NATIONAL)


def _refuse(finding: Finding, kind: Kind = Kind.PRECONDITION) -> DomainError:
    return DomainError(finding.code, kind, **finding.params)


def _uscc(raw: str, field: str) -> str:
    if not raw.strip():
        raise invalid("field.required", field=field)
    return validate_uscc(raw).code


# --- profiles ------------------------------------------------------------------------------------


def staff_of(profile: dict) -> list[StaffMember]:
    return [StaffMember(name=s["name"], title=s["title"], full_time=s["full_time"],
                        field=s.get("field", ""), also_employed_by=tuple(s["also_employed_by"]))
            for s in profile["staff"]]


def findings_of(inst: Institution) -> list[Finding]:
    profile = json.loads(inst.profile_json)
    return domain.findings(staff_of(profile), [e["year"] for e in profile["experience"]],
                           clock.today(), rules())


def parse_profile(raw: dict) -> dict:
    """A caller's profile, checked field by field; the legal representative's ID number is
    returned apart (as key and masked form), never kept."""
    r = rules()
    out = {
        "uscc": _uscc(raw["uscc"], "uscc"),
        "name": bounded(raw["name"], "name", 200),
        "legal_representative": bounded(raw["legal_representative"], "legal_representative", 100),
        "address": bounded(raw["address"], "address", 300),
        "parent_uscc": _uscc(raw["parent_uscc"], "parent_uscc") if raw["parent_uscc"].strip() else "",
        "contact": bounded(raw["contact"], "contact", 200),
        "qualifications": [bounded(q, "qualifications", 200) for q in raw["qualifications"]],
    }
    for key in ("name", "legal_representative"):
        if not out[key]:
            raise invalid("field.required", field=key)
    if len(raw["staff"]) > 1000 or len(raw["qualifications"]) > 100 or len(raw["experience"]) > 500:
        raise invalid("institution.too_many", limit=1000)
    staff = []
    for i, s in enumerate(raw["staff"], start=1):
        if s["title"] not in r.titles:
            raise invalid("institution.staff_title", row=i, value=s["title"],
                          allowed="/".join(r.titles))
        name = bounded(s["name"], "staff.name", 100)
        if not name:
            raise invalid("field.required", field=f"staff[{i}].name")
        staff.append({"name": name, "title": s["title"], "full_time": bool(s["full_time"]),
                      "field": bounded(s.get("field", ""), "staff.field", 100),
                      "also_employed_by": [_uscc(u, f"staff[{i}].also_employed_by")
                                           for u in s["also_employed_by"]]})
    out["staff"] = staff
    this_year = clock.today().year
    experience = []
    for e in raw["experience"]:
        if not 1949 <= int(e["year"]) <= this_year:
            raise invalid("institution.experience_year", value=e["year"], max=this_year)
        experience.append({"year": int(e["year"]),
                           "description": bounded(e["description"], "experience.description", 500)})
    out["experience"] = experience
    categories = list(dict.fromkeys(raw["scope_categories"]))
    if not categories or not set(categories) <= set(r.categories):
        raise invalid("institution.scope", value="/".join(categories) or "-",
                      allowed="/".join(r.categories))
    out["scope_categories"] = categories
    for division in raw["scope_industries"]:
        if not (len(division) == 2 and division.isdigit()):
            raise invalid("institution.scope_industry", value=division)
    out["scope_industries"] = sorted(set(raw["scope_industries"]))
    return out


def register(rt: Runtime, *, ident: Identity, tenant: str, raw: dict) -> tuple[Institution, bool]:
    """An institution enters or updates its own profile (the ministry may do it for one). A new
    profile is unverified until the ministry verifies it."""
    profile = parse_profile(raw)
    uscc = profile["uscc"]
    if tenant != NATIONAL:
        raise precondition("institution.national_only", tenant=tenant)
    authorize(ident, tenant, ("institution", "ministry"), org=uscc, write=True)
    person = (parse_person_id(raw["legal_rep_id"], secret=person_secret(rt.settings))
              if raw["legal_rep_id"].strip() else None)
    now = clock.now()
    with rt.db.session(NATIONAL, write=True) as s:
        inst = store.institution(session=s, uscc=uscc, for_update=True)
        created = inst is None
        if inst is None:
            if person is None:
                raise invalid("field.required", field="legal_rep_id")
            inst = Institution(uscc=uscc, name="", legal_representative="", legal_rep_key="",
                               legal_rep_masked="", profile_json="{}", created_by=ident.subject,
                               created_at=now, updated_at=now)
        elif inst.status == "removed":
            raise precondition("institution.removed", uscc=uscc)
        elif inst.status == "verified" and (
                (person is not None and person.key != inst.legal_rep_key)
                or profile["parent_uscc"] != inst.parent_uscc):
            # The cap and the related parties hang on these: the ministry verifies them again.
            inst.status, inst.verified_at = "unverified", None
        inst.name = profile.pop("name")
        inst.legal_representative = profile.pop("legal_representative")
        inst.parent_uscc = profile.pop("parent_uscc")
        if person is not None:
            inst.legal_rep_key, inst.legal_rep_masked = person.key, person.masked
        inst.profile_json = json.dumps(profile, ensure_ascii=False)
        inst.updated_at = now
        s.add(inst)
        _record(rt, s, "institution.registered", ev.InstitutionRegistered(
            uscc=uscc, name=inst.name, created=created))
        return inst, created


def verify(rt: Runtime, *, ident: Identity, tenant: str, uscc: str) -> Institution:
    """The ministry verifies an institution that meets the SPEC §9 rules."""
    authorize(ident, tenant, ("ministry",), write=True)
    if tenant != NATIONAL:
        raise precondition("institution.national_only", tenant=tenant)
    with rt.db.session(NATIONAL, write=True) as s:
        inst = _institution(s, uscc, for_update=True)
        if inst.status == "verified":
            return inst
        if inst.status == "removed":
            raise precondition("institution.removed", uscc=inst.uscc)
        unmet = findings_of(inst)
        if unmet:
            raise _refuse(unmet[0])
        inst.status, inst.verified_at = "verified", clock.now()
        s.add(inst)
        _record(rt, s, "institution.verified", ev.InstitutionVerified(uscc=inst.uscc))
        return inst


def _institution(s: Session, uscc: str, *, for_update: bool = False) -> Institution:
    code = uscc.strip().upper()
    inst = store.institution(session=s, uscc=code, for_update=for_update)
    if inst is None:
        raise not_found("institution.not_found", uscc=code)
    return inst


def _scope(s: Session, ident: Identity, tenant: str,
           roles: tuple[str, ...]) -> tuple[list[str] | None, Grant]:
    """The institutions the caller may see here (None: all) and the grant it sees them with: the
    ministry all (in a province, those filed there); a province and its cities those filed with
    it; an institution only itself, wherever it calls from."""
    grant = authorize(ident, tenant, roles)
    _store_tenant(tenant)
    if grant.role == "institution":
        return sorted({g.org for g in ident.in_tenant(tenant) if g.role == "institution"}), grant
    if tenant == NATIONAL:
        return None, grant
    return [f.uscc for f in store.filings(session=s, province=tenant)], grant


def _visible(s: Session, ident: Identity, tenant: str,
             uscc: str) -> tuple[Institution, bool, list[str] | None]:
    """The institution, if the caller may see it; whether its staff list may be shown (to the
    ministry, the filing province and the institution itself; not to cities); and what else the
    caller may see (``_scope``)."""
    scope, grant = _scope(s, ident, tenant, ("ministry", "institution", "province", "city"))
    inst = _institution(s, uscc)
    if scope is not None and inst.uscc not in scope:
        if grant.role == "institution":
            raise forbidden("auth.not_your_unit")
        raise not_found("institution.not_found", uscc=inst.uscc)
    return inst, grant.role != "city", scope


def _own(ident: Identity, tenant: str, uscc: str) -> bool:
    return any(g.role == "institution" and g.org == uscc for g in ident.in_tenant(tenant))


def get(rt: Runtime, *, ident: Identity, tenant: str, uscc: str) -> dict:
    with rt.db.session(NATIONAL) as s:
        inst, full, _ = _visible(s, ident, tenant, uscc)
        return _views(s, [inst], full=full)[0]


def list_institutions(rt: Runtime, *, ident: Identity, tenant: str) -> list[dict]:
    with rt.db.session(NATIONAL) as s:
        scope, grant = _scope(s, ident, tenant, ("ministry", "institution", "province", "city"))
        return _views(s, store.institutions(session=s, usccs=scope), full=grant.role != "city")


def _views(s: Session, insts: Sequence[Institution], *, full: bool) -> list[dict]:
    """Institutions with their filings and sanctions (two queries for all of them)."""
    usccs = [i.uscc for i in insts]
    filings = store.filings_by_institution(session=s, usccs=usccs)
    sanctions = store.sanctions_by_institution(session=s, usccs=usccs)
    out = []
    for inst in insts:
        profile = json.loads(inst.profile_json)
        qualified, senior = domain.staff_counts(staff_of(profile), rules())
        unmet = findings_of(inst)
        if not full:
            profile["staff"] = []
        out.append({"institution": inst, "profile": profile, "unmet": unmet,
                    "filings": filings[inst.uscc], "sanctions": sanctions[inst.uscc],
                    "qualified": qualified, "senior": senior})
    return out


# --- filings (备案) -----------------------------------------------------------------------------------


def file(rt: Runtime, *, ident: Identity, tenant: str, uscc: str, reason: str) -> Filing:
    """A province records that a verified institution works in it."""
    authorize(ident, tenant, ("province",), write=True)  # a province grant is never national
    reason = bounded(reason, "reason", 500)
    with rt.db.session(_store_tenant(tenant), write=True) as s:
        inst = _institution(s, uscc)
        if inst.status != "verified":
            raise precondition("institution.not_verified", uscc=inst.uscc, status=inst.status)
        filing = s.get(Filing, (inst.uscc, tenant), with_for_update=True)
        if filing is not None and filing.status == "active":
            return filing
        filing = filing or Filing(uscc=inst.uscc, province=tenant, filed_by=ident.subject,
                                  filed_at=clock.now())
        filing.status, filing.filed_at, filing.revoked_at = "active", clock.now(), None
        filing.filed_by, filing.reason = ident.subject, reason
        s.add(filing)
        _record(rt, s, "filing.changed", ev.FilingChanged(uscc=inst.uscc, province=tenant,
                                                        status="active"), reason)
        return filing


def revoke_filing(rt: Runtime, *, ident: Identity, tenant: str, uscc: str, reason: str) -> Filing:
    """A province ends a filing: no new engagements in it; those accepted go on."""
    authorize(ident, tenant, ("province",), write=True)
    reason = bounded(reason, "reason", 500)
    if not reason:
        raise invalid("field.required", field="reason")
    with rt.db.session(_store_tenant(tenant), write=True) as s:
        filing = s.get(Filing, (uscc.strip().upper(), tenant), with_for_update=True)
        if filing is None:
            raise not_found("filing.not_found", uscc=uscc, province=tenant)
        if filing.status == "revoked":
            return filing
        filing.status, filing.revoked_at, filing.reason = "revoked", clock.now(), reason
        s.add(filing)
        _record(rt, s, "filing.changed", ev.FilingChanged(uscc=filing.uscc, province=tenant,
                                                        status="revoked"), reason)
        return filing


# --- engagements ----------------------------------------------------------------------------------


def _terms(rows: Iterable[Sanction]) -> list[domain.SanctionTerm]:
    return [domain.SanctionTerm(x.kind, x.scope, x.starts_on, x.ends_on) for x in rows]


def engage(rt: Runtime, *, ident: Identity, tenant: str, unit: dict, institution_uscc: str,
           level: str, request_id: str, assisted_by: Iterable[str]) -> Engagement:
    """An enterprise engages an institution to evaluate one of its units (``unit`` as the
    registry gave it; ``assisted_by``: who helped write the unit's self-evaluations). Refused,
    with the reason, when the institution is not filed in the unit's province, is sanctioned,
    is out of scope, is not independent of the unit, or when the national cap of its legal
    representative is reached. The cap is one locked counter per (legal representative, year)."""
    authorize(ident, tenant, ("enterprise",), location=unit["location"], org=unit["uscc"],
              write=True)
    r = rules()
    if level not in r.levels:
        raise invalid("engagement.level", value=level, allowed="/".join(r.levels))
    request_id = bounded(request_id, "request_id", 80)
    if not request_id:
        raise invalid("field.required", field="request_id")
    code = _uscc(institution_uscc, "institution_uscc")
    if not unit.get("ownership_declared"):
        raise precondition("engagement.ownership_undeclared", unit_id=unit["id"])
    try:
        with rt.db.session(_store_tenant(tenant), write=True) as s:
            existing = store.engagement_by_request(session=s, created_by=ident.subject,
                                                   request_id=request_id)
            if existing is not None:
                return existing
            return _engage(rt, s, ident, tenant, unit, code, level, request_id, assisted_by)
    except IntegrityError:
        with rt.db.session(NATIONAL) as s:
            existing = store.engagement_by_request(session=s, created_by=ident.subject,
                                                   request_id=request_id)
        if existing is None:
            raise
        return existing


def _engage(rt: Runtime, s: Session, ident: Identity, tenant: str, unit: dict, code: str,
            level: str, request_id: str, assisted_by: Iterable[str]) -> Engagement:
    r, today = rules(), clock.today()
    # Locking the institution serialises its engagements: the checks below hold until commit.
    inst = _institution(s, code, for_update=True)
    if inst.status != "verified":
        raise precondition("institution.not_verified", uscc=code, status=inst.status)
    filing = s.get(Filing, (code, tenant))
    if filing is None or filing.status != "active":
        raise precondition("engagement.not_filed", uscc=code, province=tenant)
    if not domain.reports_accepted(_terms(store.sanctions(session=s, uscc=code)), tenant, today):
        raise precondition("engagement.sanctioned", uscc=code)
    profile = json.loads(inst.profile_json)
    if unit["kind"] not in profile["scope_categories"]:
        raise precondition("engagement.out_of_scope", uscc=code, category=unit["kind"])
    division = (unit.get("industry") or "")[:2]
    if division and profile["scope_industries"] and division not in profile["scope_industries"]:
        raise precondition("engagement.out_of_industry", uscc=code, division=division)
    finding = domain.independence(
        Party(inst.uscc, inst.parent_uscc, inst.legal_rep_key), staff_of(profile),
        Party(unit["uscc"], unit.get("parent_uscc", ""), unit.get("legal_rep_key", "")),
        assisted_by)
    if finding is not None:
        raise _refuse(finding, Kind.CONFLICT)
    if store.engagements(session=s, institution_uscc=code, unit_tenant=tenant,
                         unit_id=unit["id"], status=("accepted",)):
        raise conflict("engagement.already_active", uscc=code, unit_id=unit["id"])
    counted = level == r.counted_level
    used = 0
    if counted:
        row = store.lock_counter(session=s, legal_rep_key=inst.legal_rep_key, year=today.year)
        if row.used >= r.cap:
            raise conflict("engagement.cap_reached", used=row.used, cap=r.cap, year=today.year)
        row.used += 1
        used = row.used
        s.add(row)
    e = Engagement(
        id=store.new_id(), institution_uscc=code, legal_rep_key=inst.legal_rep_key,
        unit_id=unit["id"], unit_tenant=tenant, unit_uscc=unit["uscc"],
        unit_location=unit["location"], unit_name=unit["name"],
        # The legal representative's key served its comparison; it is not kept with the engagement.
        unit_json=json.dumps({k: v for k, v in unit.items() if k != "legal_rep_key"},
                             ensure_ascii=False),
        category=unit["kind"], level=level,
        year=today.year, engaged_on=today, counted=counted, request_id=request_id,
        created_by=ident.subject,
        created_at=clock.now())
    s.add(e)
    _record(rt, s, "engagement.accepted", ev.EngagementAccepted(
        engagement_id=e.id, institution_uscc=code, unit_id=e.unit_id, unit_tenant=tenant,
        level=level, year=e.year, cap_used=used))
    return e


def _engagement_grant(ident: Identity, tenant: str, e: Engagement, *, write: bool = False) -> Grant:
    """Who may see an engagement: the ministry; the institution; and in the unit's tenant its
    province, its city and its enterprise. All of them but the city may also cancel it."""
    for g in ident.in_tenant(tenant, write=write):
        if g.role == "ministry" or (g.role == "institution" and g.org == e.institution_uscc):
            return g
        if tenant == e.unit_tenant and (
                g.role == "province"
                or (g.role == "city" and not write and g.covers_location(e.unit_location))
                or (g.role == "enterprise" and g.org == e.unit_uscc)):
            return g
    raise forbidden("auth.not_your_unit")


def _engagement(s: Session, ident: Identity, tenant: str, engagement_id: str, *,
                write: bool = False) -> Engagement:
    authorize(ident, tenant, ("ministry", "institution", "province", "city", "enterprise"),
              write=write)
    e = store.engagement(session=s, engagement_id=engagement_id.strip(), for_update=write)
    if e is None or (tenant != NATIONAL and e.unit_tenant != tenant):
        raise not_found("engagement.not_found", engagement_id=engagement_id)
    _engagement_grant(ident, tenant, e, write=write)
    return e


def get_engagement(rt: Runtime, *, ident: Identity, tenant: str, engagement_id: str) -> Engagement:
    with rt.db.session(_store_tenant(tenant)) as s:
        return _engagement(s, ident, tenant, engagement_id)


def cancel(rt: Runtime, *, ident: Identity, tenant: str, engagement_id: str, reason: str,
           submitted: bool) -> Engagement:
    """Either party, the unit's province or the ministry cancels an engagement before its
    evaluation is submitted (``submitted``: the evaluation service says one is); its place under
    the cap is released."""
    reason = bounded(reason, "reason", 500)
    if not reason:
        raise invalid("field.required", field="reason")
    with rt.db.session(_store_tenant(tenant), write=True) as s:
        e = _engagement(s, ident, tenant, engagement_id, write=True)
        if e.status == "cancelled":
            return e
        if e.status != "accepted" or submitted:
            raise precondition("engagement.not_cancellable", engagement_id=e.id,
                               status="submitted" if submitted else e.status)
        if e.counted:
            row = store.lock_counter(session=s, legal_rep_key=e.legal_rep_key, year=e.year)
            row.used = max(0, row.used - 1)
            s.add(row)
        e.status, e.cancelled_at, e.cancel_reason = "cancelled", clock.now(), reason
        s.add(e)
        _record(rt, s, "engagement.cancelled", ev.EngagementCancelled(
            engagement_id=e.id, institution_uscc=e.institution_uscc, unit_id=e.unit_id,
            unit_tenant=e.unit_tenant, reason=reason), reason)
        return e


def list_engagements(rt: Runtime, *, ident: Identity, tenant: str, institution_uscc: str,
                     unit_id: str, year: int) -> list[Engagement]:
    """The engagements the caller may see, filtered."""
    authorize(ident, tenant, ("ministry", "institution", "province", "city", "enterprise"))
    with rt.db.session(_store_tenant(tenant)) as s:
        rows = store.engagements(session=s, institution_uscc=institution_uscc.strip().upper(),
                                 unit_tenant="" if tenant == NATIONAL else tenant,
                                 unit_id=unit_id, year=year)
    out = []
    for e in rows:
        try:
            _engagement_grant(ident, tenant, e)
        except DomainError:
            continue
        out.append(e)
    return out


def check_engagement(rt: Runtime, *, ident: Identity, tenant: str, engagement_id: str,
                     unit_id: str) -> tuple[Engagement, bool, Institution]:
    """For a service acting for an institution in a province: the institution's accepted
    engagement (by id, or its engagement on ``unit_id``), and whether its reports are accepted
    there today."""
    grant = authorize(ident, tenant, ("institution",))
    with rt.db.session(_store_tenant(tenant)) as s:
        if engagement_id:
            e = store.engagement(session=s, engagement_id=engagement_id.strip())
        else:
            found = store.engagements(session=s, institution_uscc=grant.org, unit_tenant=tenant,
                                      unit_id=unit_id, status=("accepted",))
            e = found[0] if found else None
        if e is None or e.unit_tenant != tenant or not _own(ident, tenant, e.institution_uscc):
            raise not_found("engagement.not_found", engagement_id=engagement_id or unit_id)
        if e.status != "accepted":
            raise precondition("engagement.not_active", engagement_id=e.id, status=e.status)
        inst = _institution(s, e.institution_uscc)
        accepted = inst.status == "verified" and domain.reports_accepted(
            _terms(store.sanctions(session=s, uscc=inst.uscc)), tenant, clock.today())
        return e, accepted, inst


def cap_usage(rt: Runtime, *, ident: Identity, tenant: str, uscc: str, year: int) -> dict:
    """How many national projects the institution's legal representative has taken this year."""
    year = year or clock.today().year
    with rt.db.session(NATIONAL) as s:
        inst, _, scope = _visible(s, ident, tenant, uscc)
        siblings = store.sharing_legal_rep(session=s, legal_rep_key=inst.legal_rep_key)
        return {"legal_representative": inst.legal_representative, "year": year,
                "used": store.counter(session=s, legal_rep_key=inst.legal_rep_key, year=year),
                "cap": rules().cap,
                # the count covers every sibling; the names only those the caller may see
                "institutions": [u for u in siblings if scope is None or u in scope]}


# --- work reports and sanctions ---------------------------------------------------------------------


def submit_work_report(rt: Runtime, *, ident: Identity, tenant: str, uscc: str, year: int,
                       summary: str, projects: int, content_json: str) -> WorkReport:
    """An institution's annual work report (年度工作情况). It may be corrected until its due day;
    one first sent after it is kept and marked late."""
    code = _uscc(uscc, "uscc")
    authorize(ident, tenant, ("institution",), org=code, write=True)
    if tenant != NATIONAL:
        raise precondition("institution.national_only", tenant=tenant)
    today = clock.today()
    if not 2017 <= year <= today.year:
        raise invalid("work_report.year", value=year, max=today.year)
    summary = bounded(summary, "summary", 5000)
    if not summary:
        raise invalid("field.required", field="summary")
    if projects < 0:
        raise invalid("work_report.projects", value=projects)
    try:
        content = json.loads(content_json or "{}")
    except json.JSONDecodeError:
        raise invalid("work_report.content_json") from None
    if not isinstance(content, dict) or len(content_json) > 100_000:
        raise invalid("work_report.content_json")
    due = domain.work_report_due(year, rules())
    with rt.db.session(NATIONAL, write=True) as s:
        _institution(s, code)
        report = s.get(WorkReport, (code, year), with_for_update=True)
        if report is not None and today > due:
            raise conflict("work_report.closed", year=year, due=due.isoformat())
        report = report or WorkReport(uscc=code, year=year, summary="", projects=0, due_on=due,
                                      submitted_by=ident.subject, submitted_at=clock.now())
        report.summary, report.projects = summary, projects
        report.content_json = json.dumps(content, ensure_ascii=False)
        report.late, report.submitted_at, report.submitted_by = today > due, clock.now(), ident.subject
        s.add(report)
        _record(rt, s, "work_report.submitted", ev.WorkReportSubmitted(
            uscc=code, year=year, late=report.late))
        return report


def list_work_reports(rt: Runtime, *, ident: Identity, tenant: str, uscc: str,
                      year: int) -> tuple[list[tuple[WorkReport, int]], list[str], date | None]:
    """Work reports the caller may see, each with the platform's own count of projects, and
    for a year past its due day the verified institutions that have not reported."""
    with rt.db.session(NATIONAL) as s:
        scope, _ = _scope(s, ident, tenant, ("ministry", "institution", "province"))
        if uscc:
            scope = [u for u in (scope if scope is not None else [uscc.strip().upper()])
                     if u == uscc.strip().upper()]
        reports = [(w, store.projects_in(session=s, uscc=w.uscc, year=w.year))
                   for w in store.work_reports(session=s, usccs=scope, year=year)]
        overdue: list[str] = []
        due = domain.work_report_due(year, rules()) if year else None
        if due is not None and clock.today() > due:
            sent = {w.uscc for w, _ in reports}
            overdue = [i.uscc for i in store.institutions(session=s, usccs=scope,
                                                          status=("verified",))
                       if i.uscc not in sent]
        return reports, overdue, due


def sanction(rt: Runtime, *, ident: Identity, tenant: str, uscc: str, kind: str, reason: str,
             decision: str, starts_on: str, ends_on: str) -> Sanction:
    """A warning, a period of 不采信 or a removal, with reason, decision and period. A province
    sanctions within its own province and only institutions filed with it; a removal from the
    directory is the ministry's."""
    grant = authorize(ident, tenant, ("ministry", "province"), write=True)
    r = rules()
    if kind not in r.sanction_kinds:
        raise invalid("sanction.kind", value=kind, allowed="/".join(r.sanction_kinds))
    allowed = r.sanction_kinds if grant.role == "ministry" and tenant == NATIONAL else r.province_may
    if kind not in allowed:
        raise forbidden("sanction.not_yours", value=kind, allowed="/".join(allowed))
    reason, decision = bounded(reason, "reason", 2000), bounded(decision, "decision", 200)
    for key, value in (("reason", reason), ("decision", decision)):
        if not value:
            raise invalid("field.required", field=key)
    start = clock.optional_day(starts_on, "starts_on") or clock.today()
    end = clock.optional_day(ends_on, "ends_on")
    try:
        end = domain.sanction_period(kind, start, end, r)
    except ValueError as exc:
        raise invalid("sanction.period", problem=str(exc), max_days=r.max_not_accepted_days) from None
    with rt.db.session(_store_tenant(tenant), write=True) as s:
        inst = _institution(s, uscc, for_update=True)
        if tenant != NATIONAL and not store.filings(session=s, uscc=inst.uscc, province=tenant):
            raise not_found("institution.not_found", uscc=inst.uscc)
        for earlier in store.sanctions(session=s, uscc=inst.uscc):
            if (earlier.kind, earlier.scope, earlier.decision) == (kind, tenant, decision):
                return earlier  # the same decision sent again: one sanction
        row = Sanction(id=store.new_id(), uscc=inst.uscc, kind=kind, scope=tenant, reason=reason,
                       decision=decision, starts_on=start, ends_on=end, decided_by=ident.subject,
                       decided_at=clock.now())
        s.add(row)
        if kind == "removal":
            inst.status = "removed"
            s.add(inst)
        _record(rt, s, "institution.sanctioned", ev.InstitutionSanctioned(
            sanction_id=row.id, uscc=inst.uscc, kind=kind, scope=tenant,
            starts_on=start.isoformat(), ends_on=end.isoformat() if end else ""),
            reason)
        return row


# --- public: directory and track record ------------------------------------------------------------


def _entries(s: Session, insts: Sequence[Institution]) -> list[dict]:
    """Public directory entries (two queries for all of them)."""
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
            "reports_accepted": inst.status == "verified" and domain.reports_accepted(
                _terms(sanctions[inst.uscc]), NATIONAL, clock.today())})
    return out


def directory(rt: Runtime, *, province: str, category: str) -> list[dict]:
    """Verified institutions, with the provinces they are filed in (public)."""
    with rt.db.session(NATIONAL) as s:
        entries = _entries(s, store.institutions(session=s, status=("verified",)))
    return [e for e in entries if (not province or province in e["provinces"])
            and (not category or category in e["scope_categories"])]


def track_record(rt: Runtime, *, uscc: str) -> dict:
    """An institution's public record (SPEC §9)."""
    with rt.db.session(NATIONAL) as s:
        inst = _institution(s, uscc)
        if inst.status == "unverified":
            raise not_found("institution.not_found", uscc=inst.uscc)
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


# --- events heard ---------------------------------------------------------------------------------


def on_evaluation_scored(session: Session, env: ev.Envelope) -> None:
    """An institution's evaluation was scored: its claimed score and the deviation complete the
    engagement. An engagement cancelled meanwhile was in fact carried out: it is completed and
    counted again. Self-evaluations concern no institution."""
    scored = ev.EvaluationScored()
    env.body.Unpack(scored)
    if not scored.engagement_id:
        return
    e = store.engagement(session=session, engagement_id=scored.engagement_id, for_update=True)
    if e is None or e.unit_tenant != env.tenant or e.institution_uscc != scored.institution_uscc:
        raise not_found("engagement.not_found", engagement_id=scored.engagement_id)
    if e.status == "completed":
        return  # one evaluation per engagement; it is recorded already
    if e.status == "cancelled" and e.counted:
        row = store.lock_counter(session=session, legal_rep_key=e.legal_rep_key, year=e.year)
        row.used += 1
        session.add(row)
    e.status, e.evaluation_id = "completed", scored.evaluation_id
    e.claimed_total, e.platform_total, e.deviation = (scored.claimed_total, scored.total,
                                                      scored.deviation)
    session.add(e)


def on_entry_removed(session: Session, env: ev.Envelope) -> None:
    """A unit left a list: it counts against the institutions that evaluated it before."""
    removed = ev.EntryRemoved()
    env.body.Unpack(removed)
    tenant = removed.unit_tenant or env.tenant
    day = clock.optional_day(removed.decided_on, "decided_on") or clock.today()
    row = session.get(store.UnitRemoval, (tenant, removed.unit_id))
    if row is None:
        session.add(store.UnitRemoval(unit_tenant=tenant, unit_id=removed.unit_id, removed_on=day))
    elif day < row.removed_on:
        row.removed_on = day
        session.add(row)


def to_national(_env: ev.Envelope) -> str:
    """Removals act on the national registry of institutions."""
    return NATIONAL


def scored_to_national(env: ev.Envelope) -> str:
    """An institution's evaluation acts on the national registry; a self-evaluation stays home
    (its consumer records it as seen, nothing else)."""
    scored = ev.EvaluationScored()
    env.body.Unpack(scored)
    return NATIONAL if scored.engagement_id else env.tenant
