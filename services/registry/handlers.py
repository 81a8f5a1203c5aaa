"""Registry use cases: authorise, validate (domain), store, record the event — one transaction each.

Every function runs in a worker thread, inside the tenant scope set by the gRPC interceptors, and
takes keyword arguments only. Writes lock the rows they change (PostgreSQL) and never ride on a
read crossing (the ministry reads every tenant; it writes none of them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from greenladder.events.v1 import events_pb2 as ev
from services.kernel import bulk, clock
from services.kernel.errors import DomainError, Kind, bounded, invalid, not_found, precondition
from services.kernel.identity import Identity, Scope, authorize, city_prefix, visible_scope
from services.kernel.personid import parse_person_id, person_secret
from services.kernel.service import Runtime
from services.kernel.tenancy import is_tenant, prefecture_of, reporting_tenant, validate_location
from services.kernel.uscc import parse_uscc, validate_uscc
from services.registry import domain, store
from services.registry.store import (
    ComplianceRecord,
    Plan,
    PlanEntry,
    SupplierLink,
    Target,
    Unit,
    UnitChange,
)

READ = ("enterprise", "city", "province", "ministry")
WRITE = ("enterprise", "city", "province")
OFFICIAL = ("city", "province")


# --- helpers ------------------------------------------------------------------------------------


def _unit_for(session: Session, ident: Identity, tenant: str, unit_id: str,
              roles: tuple[str, ...], *, write: bool = False, confined: bool = True) -> Unit:
    """The unit, if it exists in this tenant and the caller may act on it with ``roles``
    (``confined``: a city to its city, an enterprise to its own units).
    Ids are random: a city learns that a unit exists outside it (403), not what it is."""
    unit = store.get_unit(session=session, unit_id=unit_id, for_update=write)
    if unit is None:
        authorize(ident, tenant, roles, write=write)
        raise not_found("unit.not_found", unit_id=unit_id)
    if confined:
        authorize(ident, tenant, roles, location=unit.location, org=unit.uscc, write=write)
    else:
        authorize(ident, tenant, roles, write=write)
    return unit


def _change(session: Session, ident: Identity, unit_id: str, kind: str, old: str, new: str,
            effective_on: date | None, reason: str) -> None:
    session.add(UnitChange(unit_id=unit_id, kind=kind, field_from=old, field_to=new,
                           effective_on=effective_on, reason=reason, actor=ident.subject,
                           at=clock.now()))


def _touch(unit: Unit) -> None:
    unit.updated_at = clock.now()
    unit.version += 1


def _reason(reason: str) -> str:
    return bounded(reason, "reason", 1000)


def _uscc_reference(code: str) -> str:
    """A USCC that names another enterprise (supplier, plan entry, look-up): its form is checked;
    a checksum failure is the registering official's to override, not the referrer's."""
    return parse_uscc(code).code


# --- units ----------------------------------------------------------------------------------------


def register_unit(rt: Runtime, *, ident: Identity, tenant: str, imported: bool = False,
                  **fields) -> tuple[Unit, bool]:  # type: ignore[no-untyped-def]
    """Register a unit; idempotent on (USCC, site): a second call returns the first unit —
    to a caller who may see it."""
    new = domain.new_unit(tenant=tenant, **fields)
    authorize(ident, tenant, WRITE, location=new.location, org=new.uscc, write=True)

    def existing(s: Session) -> Unit | None:
        unit = store.unit_by_uscc_site(session=s, uscc=new.uscc, site=new.site)
        if unit is not None:
            authorize(ident, tenant, WRITE, location=unit.location, org=unit.uscc, write=True)
        return unit

    try:
        with rt.db.session(tenant, write=True) as s:
            found = existing(s)
            if found is not None:
                return found, False
            now = clock.now()
            unit = Unit(id=store.new_id(), created_at=now, updated_at=now, **asdict(new))
            s.add(unit)
            override = new.uscc_override_reason
            _change(s, ident, unit.id, "registered", "", unit.name, None,
                    f"USCC checksum override: {override}" if override else "")
            rt.record(s, "unit.registered", ev.UnitRegistered(
                unit_id=unit.id, kind=unit.kind, uscc=unit.uscc, site=unit.site, name=unit.name,
                location=unit.location, city=unit.city, industry=unit.industry, imported=imported))
            return unit, True
    except IntegrityError:
        # A concurrent registration of the same (USCC, site) won on PostgreSQL: return it.
        with rt.db.session(tenant) as s:
            found = existing(s)
        if found is None:
            raise
        return found, False


def get_unit(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str) -> Unit:
    with rt.db.session(tenant) as s:
        return _unit_for(s, ident, tenant, unit_id, READ)


def find_units(rt: Runtime, *, ident: Identity, tenant: str, uscc: str = "", kind: str = "",
               city: str = "", name_contains: str = "", page_size: int = 50,
               page_token: str = "") -> tuple[list[Unit], str]:
    scope: Scope = visible_scope(ident, tenant, READ)
    if uscc:
        uscc = _uscc_reference(uscc)
    if kind and kind not in domain.KINDS:
        raise invalid("unit.kind_unknown", value=kind, allowed="/".join(domain.KINDS))
    prefix = scope.location_prefix
    if city:
        wanted = city_prefix(city)
        if prefix and not wanted.startswith(prefix):
            raise DomainError("auth.outside_city", Kind.FORBIDDEN, location=city)
        prefix = max(prefix, wanted, key=len)
    limit = max(1, min(page_size or 50, 200))
    with rt.db.session(tenant) as s:
        units = list(store.find_units(session=s, uscc=uscc, kind=kind, city_prefix=prefix,
                                      name_contains=name_contains.strip(), org=scope.org,
                                      after=page_token, limit=limit + 1))
    more = len(units) > limit
    units = units[:limit]
    return units, (units[-1].id if more else "")


def history(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str) -> list[UnitChange]:
    with rt.db.session(tenant) as s:
        _unit_for(s, ident, tenant, unit_id, READ)
        return list(store.history(session=s, unit_id=unit_id))


def rename_unit(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str, new_name: str,
                effective_on: str, reason: str) -> Unit:
    name = domain.check_name(new_name)
    day = clock.optional_day(effective_on, "effective_on") or clock.today()
    reason = _reason(reason)
    with rt.db.session(tenant, write=True) as s:
        unit = _unit_for(s, ident, tenant, unit_id, OFFICIAL, write=True)
        if unit.name == name:
            return unit  # already so: a retried rename changes nothing
        old = unit.name
        unit.name = name
        _touch(unit)
        _change(s, ident, unit.id, "renamed", old, name, day, reason)
        rt.record(s, "unit.renamed", ev.UnitRenamed(unit_id=unit.id, old_name=old, new_name=name,
                                                    effective_on=day.isoformat()), reason)
        return unit


def set_ownership(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str, parent_uscc: str,
                  legal_representative: str, legal_rep_id: str) -> Unit:
    """The unit's parent company or controlling shareholder and its legal representative, which
    the institutions service compares to find related parties (SPEC §9). History is kept."""
    parent = validate_uscc(parent_uscc).code if parent_uscc.strip() else ""
    name = bounded(" ".join(legal_representative.split()), "legal_representative", 100)
    if not name:
        raise invalid("field.required", field="legal_representative")
    person = parse_person_id(legal_rep_id, secret=person_secret(rt.settings))
    with rt.db.session(tenant, write=True) as s:
        unit = _unit_for(s, ident, tenant, unit_id, WRITE, write=True)
        if parent == unit.uscc:
            raise invalid("unit.parent_is_self", uscc=parent)
        if (unit.parent_uscc, unit.legal_representative, unit.legal_rep_key) == (parent, name, person.key):
            return unit  # already so: a retry changes nothing
        old = f"{unit.parent_uscc}/{unit.legal_representative}/{unit.legal_rep_masked}"
        changed = unit.legal_rep_key != person.key
        unit.parent_uscc, unit.legal_representative = parent, name
        unit.legal_rep_key, unit.legal_rep_masked = person.key, person.masked
        _touch(unit)
        _change(s, ident, unit.id, "ownership", old, f"{parent}/{name}/{person.masked}", None, "")
        rt.record(s, "unit.ownership_declared", ev.UnitOwnershipDeclared(
            unit_id=unit.id, parent_uscc=parent, legal_rep_changed=changed))
        return unit


def relocate_unit(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str, new_location: str,
                  new_site: str, effective_on: str, reason: str) -> Unit:
    location = validate_location(new_location)
    if reporting_tenant(location) != tenant:
        # Leaving the tenant is a transfer between provinces, not a relocation inside one.
        raise invalid("unit.location_other_tenant", location=location, tenant=tenant,
                      owner=reporting_tenant(location))
    day = clock.optional_day(effective_on, "effective_on") or clock.today()
    reason = _reason(reason)
    with rt.db.session(tenant, write=True) as s:
        unit = _unit_for(s, ident, tenant, unit_id, OFFICIAL, write=True)
        authorize(ident, tenant, OFFICIAL, location=location, write=True)  # and into its city
        site = bounded(" ".join(new_site.split()), "new_site", 200) if new_site.strip() else unit.site
        if unit.location == location and unit.site == site:
            return unit
        if site != unit.site and store.unit_by_uscc_site(session=s, uscc=unit.uscc, site=site):
            raise DomainError("unit.site_taken", Kind.CONFLICT, uscc=unit.uscc, site=site)
        old = f"{unit.location} {unit.site}".strip()
        old_location, old_city = unit.location, unit.city
        unit.location, unit.city, unit.site = location, prefecture_of(location), site
        _touch(unit)
        _change(s, ident, unit.id, "relocated", old, f"{location} {site}".strip(), day, reason)
        rt.record(s, "unit.relocated", ev.UnitRelocated(
            unit_id=unit.id, old_location=old_location, new_location=location,
            old_city=old_city, new_city=unit.city), reason)
        return unit


def merge_units(rt: Runtime, *, ident: Identity, tenant: str, absorbed_id: str, into_id: str,
                effective_on: str, reason: str) -> Unit:
    if absorbed_id == into_id:
        raise invalid("unit.merge_self")
    day = clock.optional_day(effective_on, "effective_on") or clock.today()
    reason = _reason(reason)
    with rt.db.session(tenant, write=True) as s:
        absorbed = _unit_for(s, ident, tenant, absorbed_id, OFFICIAL, write=True)
        into = _unit_for(s, ident, tenant, into_id, OFFICIAL, write=True)
        if absorbed.status == "merged":
            if absorbed.merged_into == into.id:
                return into
            raise precondition("unit.already_merged", unit_id=absorbed.id, into=absorbed.merged_into)
        if into.status == "merged":
            raise precondition("unit.merge_into_merged", unit_id=into.id)
        absorbed.status, absorbed.merged_into = "merged", into.id
        _touch(absorbed)
        _touch(into)
        _change(s, ident, absorbed.id, "merged_into", absorbed.name, into.id, day, reason)
        _change(s, ident, into.id, "absorbed", absorbed.id, into.name, day, reason)
        rt.record(s, "unit.merged", ev.UnitsMerged(absorbed_id=absorbed.id, into_id=into.id,
                                                   effective_on=day.isoformat()), reason)
        return into


UNIT_COLUMNS = {"kind", "uscc", "name", "location"}
UNIT_OPTIONAL = {"site", "industry", "uscc_override_reason", "park_level",
                 "industrial_value_added_share", "park_boundary"}
UNIT_ALIASES = {"类型": "kind", "单位类型": "kind", "统一社会信用代码": "uscc", "名称": "name",
                "单位名称": "name", "企业名称": "name", "所在地": "location", "行政区划代码": "location",
                "生产场所": "site", "厂区": "site", "行业代码": "industry", "行业": "industry"}


def import_units(rt: Runtime, *, ident: Identity, tenant: str, content: bytes, fmt: str,
                 lang: str) -> list[dict]:
    """Bulk registration, one transaction per row: each row accepted or refused with its reason."""
    authorize(ident, tenant, OFFICIAL, write=True)
    rows = bulk.parse(content, fmt, required=UNIT_COLUMNS, optional=UNIT_OPTIONAL,
                      aliases=UNIT_ALIASES, max_rows=domain.rules()["import_max_rows"])

    def apply(row: dict[str, str]) -> tuple[str, bool]:
        share = row.get("industrial_value_added_share", "")
        try:
            share_value = float(share) if share else None
        except ValueError:
            raise invalid("unit.share_malformed", value=share) from None
        unit, created = register_unit(
            rt, ident=ident, tenant=tenant, imported=True,
            kind=row["kind"], uscc=row["uscc"], site=row.get("site", ""), name=row["name"],
            location=row["location"], industry=row.get("industry", ""),
            uscc_override_reason=row.get("uscc_override_reason", ""),
            park_level=row.get("park_level", ""),
            industrial_value_added_share=share_value,
            park_boundary=row.get("park_boundary", ""),
        )
        return unit.id, not created

    return bulk.each_row(rows, lang, apply)


# --- parks and supply chains ----------------------------------------------------------------------


def set_park_members(rt: Runtime, *, ident: Identity, tenant: str, park_id: str,
                     member_ids: list[str]) -> tuple[Unit, list[Unit]]:
    """The park's member units, kept by the officials who may act on every one of them: a
    park's managing body must not pull in (and so read) units outside its reach, nor drop
    members to escape their records at the veto check."""
    with rt.db.session(tenant, write=True) as s:
        park = _unit_for(s, ident, tenant, park_id, OFFICIAL, write=True)
        if park.kind != "park":
            raise invalid("unit.not_a_park", unit_id=park.id)
        for member_id in member_ids:
            member = _unit_for(s, ident, tenant, member_id, OFFICIAL, write=True)
            if member.kind == "park":
                raise invalid("park.member_kind", unit_id=member_id)
        before = {u.id for u in store.park_members(session=s, park_id=park.id)}
        for member in store.park_members(session=s, park_id=park.id):
            authorize(ident, tenant, OFFICIAL, location=member.location, write=True)
        store.set_park_members(session=s, park_id=park.id, member_ids=member_ids)
        after = set(member_ids)
        for member_id in sorted(after - before):
            rt.record(s, "park.member_joined", ev.ParkMembershipChanged(
                park_id=park.id, member_id=member_id, joined=True))
        for member_id in sorted(before - after):
            rt.record(s, "park.member_left", ev.ParkMembershipChanged(
                park_id=park.id, member_id=member_id, joined=False))
        s.flush()
        return park, list(store.park_members(session=s, park_id=park.id))


def park_members(rt: Runtime, *, ident: Identity, tenant: str, park_id: str) -> tuple[Unit, list[Unit]]:
    with rt.db.session(tenant) as s:
        park = _unit_for(s, ident, tenant, park_id, READ)
        return park, list(store.park_members(session=s, park_id=park.id))


def set_suppliers(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str,
                  suppliers: list[tuple[str, str, str]]) -> list[SupplierLink]:
    """The supply-chain enterprise's supplier list; suppliers may be in any province."""
    links: dict[str, SupplierLink] = {}
    for uscc, name, supplier_tenant in suppliers:
        code = _uscc_reference(uscc)
        if not is_tenant(supplier_tenant):
            raise DomainError("tenant.unknown", Kind.INVALID, tenant=supplier_tenant)
        links[code] = SupplierLink(unit_id=unit_id, uscc=code, name=domain.check_name(name),
                                   tenant=supplier_tenant)
    with rt.db.session(tenant, write=True) as s:
        unit = _unit_for(s, ident, tenant, unit_id, WRITE, write=True)
        if unit.kind != "supply_chain":
            raise invalid("unit.not_supply_chain", unit_id=unit.id)
        store.set_suppliers(session=s, unit_id=unit.id, links=list(links.values()))
        rt.record(s, "supplier.list_changed", ev.SuppliersChanged(unit_id=unit.id, count=len(links)))
        s.flush()
        return list(store.suppliers(session=s, unit_id=unit.id))


def suppliers(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str) -> list[SupplierLink]:
    with rt.db.session(tenant) as s:
        _unit_for(s, ident, tenant, unit_id, READ)
        return list(store.suppliers(session=s, unit_id=unit_id))


# --- cultivation targets and plans -----------------------------------------------------------------


def designate_target(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str, category: str,
                     valid_from: str, note: str) -> Target:
    """A province marks a unit with potential as a cultivation target (培育对象)."""
    if category not in domain.KINDS:
        raise invalid("unit.kind_unknown", value=category, allowed="/".join(domain.KINDS))
    start = clock.optional_day(valid_from, "valid_from") or clock.today()
    note = bounded(note, "note", 1000)
    with rt.db.session(tenant, write=True) as s:
        unit = _unit_for(s, ident, tenant, unit_id, ("province",), write=True)
        if unit.kind != category:
            raise invalid("target.category_mismatch", category=category, kind=unit.kind)
        found = store.find_target(session=s, unit_id=unit.id, category=category, valid_from=start)
        if found is not None:
            return found
        target = Target(id=store.new_id(), unit_id=unit.id, category=category, valid_from=start,
                        valid_until=domain.target_validity(start), note=note,
                        created_at=clock.now())
        s.add(target)
        rt.record(s, "target.designated", ev.TargetDesignated(
            target_id=target.id, unit_id=unit.id, category=category,
            valid_from=start.isoformat(), valid_until=target.valid_until.isoformat()))
        return target


def list_targets(rt: Runtime, *, ident: Identity, tenant: str, active_on: str,
                 include_expired: bool) -> tuple[date, list[Target]]:
    scope = visible_scope(ident, tenant, READ)
    day = clock.optional_day(active_on, "active_on") or clock.today()
    with rt.db.session(tenant) as s:
        rows = store.targets(session=s, active_on=None if include_expired else day,
                             org=scope.org, city_prefix=scope.location_prefix)
        return day, [t for t, _ in rows]


def publish_plan(rt: Runtime, *, ident: Identity, tenant: str, owner_id: str, year: int,
                 title: str, entries: list[tuple[str, str, str]]) -> Plan:
    """A park's green factory cultivation plan names member enterprises; a supply-chain
    enterprise's names suppliers (any province). Publishing again for a year replaces it."""
    if not 2000 <= year <= 2100:
        raise invalid("plan.year", value=year)
    title = bounded(title, "title", 200)
    with rt.db.session(tenant, write=True) as s:
        owner = _unit_for(s, ident, tenant, owner_id, WRITE, write=True)
        if owner.kind == "factory":
            raise invalid("plan.owner_kind", unit_id=owner.id)
        if owner.kind == "park":
            allowed = {u.uscc: tenant for u in store.park_members(session=s, park_id=owner.id)}
            refusal = "plan.not_a_member"
        else:
            allowed = {x.uscc: x.tenant for x in store.suppliers(session=s, unit_id=owner.id)}
            refusal = "plan.not_a_supplier"
        named: dict[str, PlanEntry] = {}
        for uscc, name, _ in entries:
            code = _uscc_reference(uscc)
            if code not in allowed:
                raise invalid(refusal, uscc=code)
            named[code] = PlanEntry(plan_id="", uscc=code, name=domain.check_name(name),
                                    tenant=allowed[code])
        if not named:
            raise invalid("plan.empty")
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
        for entry in named.values():
            entry.plan_id = plan.id
            s.add(entry)
        rt.record(s, "plan.published", ev.PlanPublished(plan_id=plan.id, owner_id=owner.id,
                                                        kind=owner.kind, year=year,
                                                        named=len(named)))
        return plan


def plan_view(rt: Runtime, *, ident: Identity, tenant: str, plan_id: str = "",
              owner_id: str = "") -> list[tuple[Plan, list[PlanEntry], dict[str, str], dict[str, str]]]:
    """Plans with their entries, the registered unit id and the highest list level of each."""
    with rt.db.session(tenant) as s:
        if plan_id:
            plan = s.get(Plan, plan_id)
            if plan is None:
                authorize(ident, tenant, READ)
                raise not_found("plan.not_found", plan_id=plan_id)
            plans = [plan]
            owner_id = plan.owner_id
        else:
            plans = list(store.plans_of(session=s, owner_id=owner_id))
        _unit_for(s, ident, tenant, owner_id, READ)
        out = []
        for plan in plans:
            entries = list(store.plan_entries(session=s, plan_id=plan.id))
            usccs = [e.uscc for e in entries]
            ids = {u.uscc: u.id for uscc in usccs for u in store.units_by_uscc(session=s, uscc=uscc)}
            levels = {uscc: domain.highest_level(found)
                      for uscc, found in store.green_levels(session=s, usccs=usccs).items()}
            out.append((plan, entries, ids, levels))
        return out


# --- compliance records and the veto check --------------------------------------------------------


def add_compliance_record(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str, uscc: str,
                          kind: str, occurred_on: str, ended_on: str, description: str,
                          source: str, reference: str) -> list[tuple[ComplianceRecord, bool]]:
    """Record a compliance fact on a unit — or, by USCC, on every site of that enterprise.
    Returns each record and whether it was there already."""
    fact = _Fact(kind=kind, occurred_on=clock.parse_day(occurred_on, "occurred_on"),
                 ended_on=clock.optional_day(ended_on, "ended_on"),
                 description=bounded(description, "description", 2000),
                 source=bounded(source or "official", "source", 40),
                 reference=bounded(reference, "reference", 200))
    with rt.db.session(tenant, write=True) as s:
        if unit_id:
            units = [_unit_for(s, ident, tenant, unit_id, OFFICIAL, write=True)]
        else:
            code = _uscc_reference(uscc)
            units = list(store.units_by_uscc(session=s, uscc=code))
            if not units:
                authorize(ident, tenant, OFFICIAL, write=True)
                raise not_found("compliance.unit_unknown", uscc=code)
            for unit in units:
                authorize(ident, tenant, OFFICIAL, location=unit.location, write=True)
        return [_record(rt, s, ident, unit, fact) for unit in units]


@dataclass(frozen=True, kw_only=True)
class _Fact:
    """A compliance fact as a caller states it, before it meets a unit."""

    kind: str
    occurred_on: date
    ended_on: date | None
    description: str
    source: str
    reference: str


def _record(rt: Runtime, s: Session, ident: Identity, unit: Unit,
            fact: _Fact) -> tuple[ComplianceRecord, bool]:
    rule = domain.check_record(fact.kind, fact.occurred_on, fact.ended_on)
    print_ = domain.fingerprint(fact.kind, fact.occurred_on, fact.reference, fact.description)
    existing = store.find_compliance(session=s, unit_id=unit.id, fingerprint=print_)
    if existing is not None:
        # The same fact again (a retry, a re-import); if it now says when it ended, end it.
        if fact.ended_on is not None and existing.ended_on != fact.ended_on:
            _end(rt, s, existing, fact.ended_on, "")
        return existing, True
    record = ComplianceRecord(
        id=store.new_id(), unit_id=unit.id, kind=fact.kind, condition=rule.condition,
        occurred_on=fact.occurred_on, ended_on=fact.ended_on, description=fact.description,
        source=fact.source, reference=fact.reference, recorded_by=ident.subject,
        recorded_at=clock.now(), fingerprint=print_)
    s.add(record)
    rt.record(s, "compliance.recorded", ev.ComplianceRecorded(
        record_id=record.id, unit_id=unit.id, uscc=unit.uscc, kind=fact.kind,
        condition=rule.condition, occurred_on=fact.occurred_on.isoformat(), source=fact.source))
    return record, False


def _end(rt: Runtime, s: Session, record: ComplianceRecord, ended_on: date, reason: str) -> None:
    domain.check_record(record.kind, record.occurred_on, ended_on)
    record.ended_on = ended_on
    s.add(record)
    rt.record(s, "compliance.ended", ev.ComplianceEnded(
        record_id=record.id, unit_id=record.unit_id, kind=record.kind,
        ended_on=ended_on.isoformat()), reason)


def end_compliance_record(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str,
                          record_id: str, ended_on: str, reason: str) -> ComplianceRecord:
    """A state that ended: off the abnormal-operations list, rectified, production resumed."""
    day = clock.parse_day(ended_on, "ended_on")
    reason = _reason(reason)
    with rt.db.session(tenant, write=True) as s:
        _unit_for(s, ident, tenant, unit_id, OFFICIAL, write=True)
        record = s.get(ComplianceRecord, record_id, with_for_update=True)
        if record is None or record.unit_id != unit_id:
            raise not_found("compliance.not_found", record_id=record_id)
        if record.ended_on != day:
            _end(rt, s, record, day, reason)
        return record


def list_compliance(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str) -> list[ComplianceRecord]:
    with rt.db.session(tenant) as s:
        _unit_for(s, ident, tenant, unit_id, READ)
        return list(store.compliance_records(session=s, unit_ids=[unit_id]))


COMPLIANCE_COLUMNS = {"uscc", "kind", "occurred_on"}
COMPLIANCE_OPTIONAL = {"ended_on", "description", "source", "reference"}
COMPLIANCE_ALIASES = {"统一社会信用代码": "uscc", "类型": "kind", "记录类型": "kind",
                      "发生日期": "occurred_on", "结束日期": "ended_on", "移出日期": "ended_on",
                      "说明": "description", "事由": "description", "来源": "source",
                      "文号": "reference", "决定文书号": "reference"}


def import_compliance(rt: Runtime, *, ident: Identity, tenant: str, content: bytes, fmt: str,
                      lang: str) -> list[dict]:
    """Credit data extracts (信用中国 / 国家企业信用信息公示系统) as CSV, one result per row."""
    authorize(ident, tenant, OFFICIAL, write=True)
    rows = bulk.parse(content, fmt, required=COMPLIANCE_COLUMNS, optional=COMPLIANCE_OPTIONAL,
                      aliases=COMPLIANCE_ALIASES, max_rows=domain.rules()["import_max_rows"])

    def apply(row: dict[str, str]) -> tuple[str, bool]:
        results = add_compliance_record(
            rt, ident=ident, tenant=tenant, unit_id="", uscc=row["uscc"], kind=row["kind"],
            occurred_on=row["occurred_on"], ended_on=row.get("ended_on", ""),
            description=row.get("description", ""), source=row.get("source") or "import",
            reference=row.get("reference", ""))
        return ",".join(r.id for r, _ in results), all(existed for _, existed in results)

    return bulk.each_row(rows, lang, apply)


def check_veto(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str, on: str,
               engaged: bool = False) -> tuple[Unit, domain.VetoOutcome, dict[str, ComplianceRecord]]:
    """SPEC §5 on a day. The records of units merged into this one count, and for a park those
    of its member enterprises (and theirs). An enterprise sees which of other units' records
    vetoes it, but not their descriptions or references; so does an institution, and only for a
    unit the institutions service says it holds an accepted engagement on (``engaged``)."""
    day = clock.optional_day(on, "on") or clock.today()
    with rt.db.session(tenant) as s:
        # An engaged institution is let in by the institutions service's word, not by a role.
        unit = _unit_for(s, ident, tenant, unit_id, ("institution",) if engaged else READ,
                         confined=not engaged)
        ids = [unit.id]
        if unit.kind == "park":
            ids += [m.id for m in store.park_members(session=s, park_id=unit.id)]
        ids += [a for i in list(ids) for a in store.absorbed_into(session=s, unit_id=i)]
        rows = {r.id: r for r in store.compliance_records(session=s, unit_ids=ids)}
    if engaged or visible_scope(ident, tenant, READ).org:
        rows = {k: (r if r.unit_id == unit.id else _redacted(r)) for k, r in rows.items()}
    outcome = domain.check_veto(
        [domain.Record(r.id, r.kind, r.occurred_on, r.ended_on) for r in rows.values()], day)
    return unit, outcome, rows


def _redacted(record: ComplianceRecord) -> ComplianceRecord:
    return ComplianceRecord(**{**record.model_dump(), "description": "", "reference": "",
                               "recorded_by": ""})


# --- events heard ---------------------------------------------------------------------------------


def _listed_units(session: Session, unit_id: str, uscc: str) -> list[Unit]:
    unit = store.get_unit(session=session, unit_id=unit_id, for_update=True)
    units = [unit] if unit is not None else list(store.units_by_uscc(session=session, uscc=uscc))
    if not units:
        # Raised, not ignored: after bounded redelivery the event lands in the dead-letter stream.
        raise not_found("unit.not_found", unit_id=unit_id or uscc)
    return units


def on_listing_entry(rt: Runtime, session: Session, env: ev.Envelope) -> None:
    """listing's entry.added and entry.removed, in stream order, applied in the unit's tenant."""
    if env.type == "entry.added":
        added = ev.EntryAdded()
        env.body.Unpack(added)
        domain.check_level(added.level)
        for unit in _listed_units(session, added.unit_id, added.uscc):
            unit.green_level = domain.highest_level((unit.green_level, added.level))
            session.add(unit)
    elif env.type == "entry.removed":
        # A removal becomes a list_removal compliance record: the 3-year bar (SPEC §5.3). It
        # reaches every list the unit is on, so the unit holds no level any more.
        removed = ev.EntryRemoved()
        env.body.Unpack(removed)
        fact = _Fact(kind="list_removal",
                     occurred_on=clock.parse_day(removed.decided_on, "decided_on"), ended_on=None,
                     description=bounded(removed.reason, "reason", 2000), source="listing",
                     reference=removed.entry_id)
        system = Identity(subject=f"listing:{env.actor.subject}")
        for unit in _listed_units(session, removed.unit_id, removed.uscc):
            _record(rt, session, system, unit, fact)
            unit.green_level = ""
            session.add(unit)


def listing_unit_tenant(env: ev.Envelope) -> str:
    """The tenant a listing event acts in: the unit's, which differs for national lists."""
    body = ev.EntryAdded() if env.type == "entry.added" else ev.EntryRemoved()
    env.body.Unpack(body)
    return body.unit_tenant or env.tenant

