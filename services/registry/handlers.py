"""Registry use cases: authorise, validate (domain), store, record the event — one transaction each.

Every function runs in a worker thread, inside the tenant scope set by the gRPC interceptors, and
takes keyword arguments only.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from greenladder.events.v1 import events_pb2 as ev
from services.kernel import clock, tables
from services.kernel.errors import DomainError, Kind, invalid, not_found, precondition
from services.kernel.identity import Identity, Scope, authorize, visible_scope
from services.kernel.service import Runtime
from services.kernel.tenancy import is_tenant
from services.kernel.uscc import validate_uscc
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
              roles: tuple[str, ...]) -> Unit:
    """The unit, if it exists in this tenant and the caller may act on it with ``roles``."""
    unit = store.get_unit(session=session, unit_id=unit_id)
    if unit is None:
        # Not found and not yours read the same: a city must not learn what lies outside it.
        authorize(ident, tenant, roles)
        raise not_found("unit.not_found", unit_id=unit_id)
    authorize(ident, tenant, roles, location=unit.location, org=unit.uscc)
    return unit


def _change(session: Session, ident: Identity, unit_id: str, kind: str, old: str, new: str,
            effective_on: date | None, reason: str) -> None:
    session.add(UnitChange(unit_id=unit_id, kind=kind, field_from=old, field_to=new,
                           effective_on=effective_on, reason=reason, actor=ident.subject,
                           at=clock.now()))


def _touch(unit: Unit) -> None:
    unit.updated_at = clock.now()
    unit.version += 1


def _optional_day(value: str, field: str) -> date | None:
    return clock.parse_day(value, field) if value.strip() else None


# --- units ----------------------------------------------------------------------------------------


def register_unit(rt: Runtime, *, ident: Identity, tenant: str, imported: bool = False,
                  **fields) -> tuple[Unit, bool]:  # type: ignore[no-untyped-def]
    """Register a unit; idempotent on (USCC, site): a second call returns the first unit."""
    new = domain.new_unit(tenant=tenant, **fields)
    authorize(ident, tenant, WRITE, location=new.location, org=new.uscc)
    try:
        with rt.db.session(tenant, write=True) as s:
            existing = store.unit_by_uscc_site(session=s, uscc=new.uscc, site=new.site)
            if existing is not None:
                return existing, False
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
            existing = store.unit_by_uscc_site(session=s, uscc=new.uscc, site=new.site)
        if existing is None:
            raise
        return existing, False


def get_unit(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str) -> Unit:
    with rt.db.session(tenant) as s:
        return _unit_for(s, ident, tenant, unit_id, READ)


def find_units(rt: Runtime, *, ident: Identity, tenant: str, uscc: str = "", kind: str = "",
               city: str = "", name_contains: str = "", page_size: int = 50,
               page_token: str = "") -> tuple[list[Unit], str]:
    scope: Scope = visible_scope(ident, tenant, READ)
    if uscc:
        uscc = validate_uscc(uscc, override_reason="lookup").code
    if kind and kind not in domain.KINDS:
        raise invalid("unit.kind_unknown", value=kind, allowed="/".join(domain.KINDS))
    prefix = scope.location_prefix
    if city:
        wanted = city.rstrip("0") if len(city) == 6 else city
        if prefix and not wanted.startswith(prefix):
            raise DomainError("auth.outside_city", Kind.FORBIDDEN, location=city)
        prefix = wanted if len(wanted) > len(prefix) else prefix
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
    day = _optional_day(effective_on, "effective_on") or clock.today()
    with rt.db.session(tenant, write=True) as s:
        unit = _unit_for(s, ident, tenant, unit_id, OFFICIAL)
        if unit.name == name:
            return unit  # already so: a retried rename changes nothing
        old = unit.name
        unit.name = name
        _touch(unit)
        _change(s, ident, unit.id, "renamed", old, name, day, reason)
        rt.record(s, "unit.renamed", ev.UnitRenamed(unit_id=unit.id, old_name=old, new_name=name,
                                                    effective_on=day.isoformat()), reason)
        return unit


def relocate_unit(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str, new_location: str,
                  new_site: str, effective_on: str, reason: str) -> Unit:
    from services.kernel.tenancy import prefecture_of, reporting_tenant, validate_location

    location = validate_location(new_location)
    if reporting_tenant(location) != tenant:
        # Leaving the tenant is a transfer between provinces, not a relocation inside one.
        raise invalid("unit.location_other_tenant", location=location, tenant=tenant,
                      owner=reporting_tenant(location))
    day = _optional_day(effective_on, "effective_on") or clock.today()
    with rt.db.session(tenant, write=True) as s:
        unit = _unit_for(s, ident, tenant, unit_id, OFFICIAL)
        authorize(ident, tenant, OFFICIAL, location=location)  # a city moves units only within it
        site = " ".join(new_site.split()) if new_site.strip() else unit.site
        if unit.location == location and unit.site == site:
            return unit
        if site != unit.site and store.unit_by_uscc_site(session=s, uscc=unit.uscc, site=site):
            raise DomainError("unit.site_taken", Kind.CONFLICT, uscc=unit.uscc, site=site)
        old_location, old_city = unit.location, unit.city
        unit.location, unit.city, unit.site = location, prefecture_of(location), site
        _touch(unit)
        _change(s, ident, unit.id, "relocated", old_location, location, day, reason)
        rt.record(s, "unit.relocated", ev.UnitRelocated(
            unit_id=unit.id, old_location=old_location, new_location=location,
            old_city=old_city, new_city=unit.city), reason)
        return unit


def merge_units(rt: Runtime, *, ident: Identity, tenant: str, absorbed_id: str, into_id: str,
                effective_on: str, reason: str) -> Unit:
    if absorbed_id == into_id:
        raise invalid("unit.merge_self")
    day = _optional_day(effective_on, "effective_on") or clock.today()
    with rt.db.session(tenant, write=True) as s:
        absorbed = _unit_for(s, ident, tenant, absorbed_id, OFFICIAL)
        into = _unit_for(s, ident, tenant, into_id, OFFICIAL)
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


def import_units(rt: Runtime, *, ident: Identity, tenant: str, content: bytes, fmt: str,
                 lang: str) -> list[dict]:
    """Bulk registration, one transaction per row: each row accepted or refused with its reason."""
    authorize(ident, tenant, OFFICIAL)
    rows = tables.parse(content, fmt, required=UNIT_COLUMNS, optional=UNIT_OPTIONAL,
                        max_rows=domain.rules()["import_max_rows"])

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

    return tables.each_row(rows, lang, apply)


# --- parks and supply chains ----------------------------------------------------------------------


def set_park_members(rt: Runtime, *, ident: Identity, tenant: str, park_id: str,
                     member_ids: list[str]) -> tuple[Unit, list[Unit]]:
    with rt.db.session(tenant, write=True) as s:
        park = _unit_for(s, ident, tenant, park_id, WRITE)
        if park.kind != "park":
            raise invalid("unit.not_a_park", unit_id=park.id)
        for member_id in member_ids:
            member = store.get_unit(session=s, unit_id=member_id)
            if member is None:
                raise not_found("unit.not_found", unit_id=member_id)
            if member.kind == "park" or member.id == park.id:
                raise invalid("park.member_kind", unit_id=member_id)
        before = {u.id for u in store.park_members(session=s, park_id=park.id)}
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
        code = validate_uscc(uscc, override_reason="supplier list").code
        if not is_tenant(supplier_tenant):
            raise DomainError("tenant.unknown", Kind.INVALID, tenant=supplier_tenant)
        links[code] = SupplierLink(unit_id=unit_id, uscc=code, name=domain.check_name(name),
                                   tenant=supplier_tenant)
    with rt.db.session(tenant, write=True) as s:
        unit = _unit_for(s, ident, tenant, unit_id, WRITE)
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
    start = _optional_day(valid_from, "valid_from") or clock.today()
    with rt.db.session(tenant, write=True) as s:
        unit = _unit_for(s, ident, tenant, unit_id, ("province",))
        for target, _ in store.targets(session=s, active_on=None):
            if target.unit_id == unit.id and target.category == category and target.valid_from == start:
                return target
        target = Target(id=store.new_id(), unit_id=unit.id, category=category, valid_from=start,
                        valid_until=domain.target_validity(start), note=note.strip(),
                        created_at=clock.now())
        s.add(target)
        rt.record(s, "target.designated", ev.TargetDesignated(
            target_id=target.id, unit_id=unit.id, category=category,
            valid_from=start.isoformat(), valid_until=target.valid_until.isoformat()))
        return target


def list_targets(rt: Runtime, *, ident: Identity, tenant: str, active_on: str,
                 include_expired: bool) -> tuple[date, list[Target]]:
    scope = visible_scope(ident, tenant, READ)
    day = _optional_day(active_on, "active_on") or clock.today()
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
    with rt.db.session(tenant, write=True) as s:
        owner = _unit_for(s, ident, tenant, owner_id, WRITE)
        if owner.kind == "factory":
            raise invalid("plan.owner_kind", unit_id=owner.id)
        if owner.kind == "park":
            allowed = {u.uscc: tenant for u in store.park_members(session=s, park_id=owner.id)}
            refusal = "plan.not_a_member"
        else:
            allowed = {l.uscc: l.tenant for l in store.suppliers(session=s, unit_id=owner.id)}
            refusal = "plan.not_a_supplier"
        named: dict[str, PlanEntry] = {}
        for uscc, name, _ in entries:
            code = validate_uscc(uscc, override_reason="plan").code
            if code not in allowed:
                raise invalid(refusal, uscc=code)
            named[code] = PlanEntry(plan_id="", uscc=code, name=domain.check_name(name),
                                    tenant=allowed[code])
        if not named:
            raise invalid("plan.empty")
        plan = store.plan_for(session=s, owner_id=owner.id, year=year)
        if plan is None:
            plan = Plan(id=store.new_id(), owner_id=owner.id, kind=owner.kind, year=year,
                        title=title.strip(), created_at=clock.now())
            s.add(plan)
        else:
            plan.title = title.strip()
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
    """Plans with their entries, the registered unit id and the list level reached by each."""
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
            out.append((plan, entries, ids, store.green_levels(session=s, usccs=usccs)))
        return out


# --- compliance records and the veto check --------------------------------------------------------


def add_compliance_record(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str, uscc: str,
                          kind: str, occurred_on: str, ended_on: str, description: str,
                          source: str, reference: str) -> list[ComplianceRecord]:
    """Record a compliance fact on a unit — or, by USCC, on every site of that enterprise."""
    start = clock.parse_day(occurred_on, "occurred_on")
    end = _optional_day(ended_on, "ended_on")
    rule = domain.check_record(kind, start, end)
    with rt.db.session(tenant, write=True) as s:
        if unit_id:
            units = [_unit_for(s, ident, tenant, unit_id, OFFICIAL)]
        else:
            code = validate_uscc(uscc, override_reason="compliance").code
            units = list(store.units_by_uscc(session=s, uscc=code))
            if not units:
                authorize(ident, tenant, OFFICIAL)
                raise not_found("compliance.unit_unknown", uscc=code)
            for unit in units:
                authorize(ident, tenant, OFFICIAL, location=unit.location)
        return [_record(rt, s, ident, unit, kind, rule.condition, start, end, description,
                        source or "official", reference) for unit in units]


def _record(rt: Runtime, s: Session, ident: Identity, unit: Unit, kind: str, condition: int,
            start: date, end: date | None, description: str, source: str,
            reference: str) -> ComplianceRecord:
    existing = store.find_compliance(session=s, unit_id=unit.id, kind=kind, occurred_on=start,
                                     reference=reference.strip())
    if existing is not None:
        return existing  # the same fact twice (a retry, a re-import) is one record
    record = ComplianceRecord(
        id=store.new_id(), unit_id=unit.id, kind=kind, condition=condition, occurred_on=start,
        ended_on=end, description=description.strip(), source=source, reference=reference.strip(),
        recorded_by=ident.subject, recorded_at=clock.now())
    s.add(record)
    rt.record(s, "compliance.recorded", ev.ComplianceRecorded(
        record_id=record.id, unit_id=unit.id, uscc=unit.uscc, kind=kind, condition=condition,
        occurred_on=start.isoformat(), source=source))
    return record


def list_compliance(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str) -> list[ComplianceRecord]:
    with rt.db.session(tenant) as s:
        _unit_for(s, ident, tenant, unit_id, READ)
        return list(store.compliance_records(session=s, unit_ids=[unit_id]))


COMPLIANCE_COLUMNS = {"uscc", "kind", "occurred_on"}
COMPLIANCE_OPTIONAL = {"ended_on", "description", "source", "reference"}


def import_compliance(rt: Runtime, *, ident: Identity, tenant: str, content: bytes, fmt: str,
                      lang: str) -> list[dict]:
    """Credit data extracts (信用中国 / 国家企业信用信息公示系统) as CSV, one result per row."""
    authorize(ident, tenant, OFFICIAL)
    rows = tables.parse(content, fmt, required=COMPLIANCE_COLUMNS, optional=COMPLIANCE_OPTIONAL,
                        max_rows=domain.rules()["import_max_rows"])

    def apply(row: dict[str, str]) -> tuple[str, bool]:
        records = add_compliance_record(
            rt, ident=ident, tenant=tenant, unit_id="", uscc=row["uscc"], kind=row["kind"],
            occurred_on=row["occurred_on"], ended_on=row.get("ended_on", ""),
            description=row.get("description", ""), source=row.get("source") or "import",
            reference=row.get("reference", ""))
        return ",".join(r.id for r in records), False

    return tables.each_row(rows, lang, apply)


def check_veto(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str,
               on: str) -> tuple[Unit, domain.VetoOutcome, dict[str, ComplianceRecord]]:
    """SPEC §5 on a day: for a park, its member enterprises' records count too."""
    day = _optional_day(on, "on") or clock.today()
    with rt.db.session(tenant) as s:
        unit = _unit_for(s, ident, tenant, unit_id, READ)
        ids = [unit.id]
        if unit.kind == "park":
            ids += [m.id for m in store.park_members(session=s, park_id=unit.id)]
        rows = {r.id: r for r in store.compliance_records(session=s, unit_ids=ids)}
    outcome = domain.check_veto(
        [domain.Record(r.id, r.kind, r.occurred_on, r.ended_on) for r in rows.values()], day)
    return unit, outcome, rows


# --- events heard ---------------------------------------------------------------------------------


def _listed_units(session: Session, unit_id: str, uscc: str) -> list[Unit]:
    unit = store.get_unit(session=session, unit_id=unit_id)
    units = [unit] if unit is not None else list(store.units_by_uscc(session=session, uscc=uscc))
    if not units:
        # Raised, not ignored: after bounded redelivery the event lands in the dead-letter stream.
        raise not_found("unit.not_found", unit_id=unit_id or uscc)
    return units


def on_entry_added(rt: Runtime, session: Session, env: ev.Envelope) -> None:
    """listing's entry.added: the unit's highest list level, for cultivation-plan progress."""
    body = ev.EntryAdded()
    env.body.Unpack(body)
    domain.check_level(body.level)
    for unit in _listed_units(session, body.unit_id, body.uscc):
        if domain.LEVELS.index(body.level) > (domain.LEVELS.index(unit.green_level)
                                               if unit.green_level else -1):
            unit.green_level = body.level
            session.add(unit)


def on_entry_removed(rt: Runtime, session: Session, env: ev.Envelope) -> None:
    """listing's entry.removed becomes a list_removal compliance record: the 3-year bar (SPEC §5.3).
    A removal reaches every list the unit is on, so it holds no level any more."""
    body = ev.EntryRemoved()
    env.body.Unpack(body)
    decided = clock.parse_day(body.decided_on, "decided_on")
    system = Identity(subject=f"listing:{env.actor.subject}")
    condition = domain.veto_rules().kinds["list_removal"].condition
    for unit in _listed_units(session, body.unit_id, body.uscc):
        _record(rt, session, system, unit, "list_removal", condition, decided, None, body.reason,
                "listing", body.entry_id)
        unit.green_level = ""
        session.add(unit)
