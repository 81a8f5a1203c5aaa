"""Unit use cases (SPEC §3): register, look up, rename, relocate, merge, declare ownership,
import."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.engine import Row
from sqlmodel import Session

from generated.events.v1 import events_pb2 as ev
from services.kernel import bulk, clock
from services.kernel.errors import decided, refuse
from services.kernel.identity import Identity, Scope, authorize, visible_scope
from services.kernel.personid import parse_person_id, person_secret
from services.kernel.runtime import Runtime, create_once
from services.kernel.tenancy import validate_location
from services.kernel.uscc import validate_uscc
from services.registry import domain, store
from services.registry.domain import OFFICIAL, READ, WRITE
from services.registry.handlers.common import (
    apply,
    change,
    reason_text,
    state_of,
    touch,
    unit_for,
)
from services.registry.store import Unit, UnitChange


def register_unit(rt: Runtime, *, ident: Identity, tenant: str, imported: bool = False,
                  **fields: Any) -> tuple[Unit, bool]:
    """Register a unit; idempotent on (USCC, site): a second call returns the first unit —
    to a caller who may see it."""
    new = domain.new_unit(tenant=tenant, **fields)
    authorize(ident, tenant, WRITE, location=new.location, org=new.uscc, write=True)

    def existing(s: Session) -> Unit | None:
        unit = store.unit_by_uscc_site(session=s, uscc=new.uscc, site=new.site)
        if unit is not None:
            authorize(ident, tenant, WRITE, location=unit.location, org=unit.uscc, write=True)
        return unit

    def create(s: Session) -> Unit:
        now = clock.now()
        unit = Unit(id=store.new_id(), created_at=now, updated_at=now, **asdict(new))
        s.add(unit)
        override = new.uscc_override_reason
        change(s, ident, unit.id, "registered", "", unit.name, None,
               f"USCC checksum override: {override}" if override else "")
        # The checksum override and its reason (SPEC §3) travel in the event, and so in the
        # chain; the reason is the envelope's too.
        rt.record(s, ev.UnitRegistered(
            unit_id=unit.id, kind=unit.kind, uscc=unit.uscc, site=unit.site, name=unit.name,
            location=unit.location, city=unit.city, industry=unit.industry, imported=imported,
            uscc_checksum_override=new.uscc_checksum_override,
            uscc_override_reason=override), override)
        return unit

    return create_once(rt.db, tenant, find=existing, create=create)


def get_unit(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str) -> Unit:
    with rt.db.session(tenant) as s:
        return unit_for(s, ident, tenant, unit_id, READ)


def find_units(rt: Runtime, *, ident: Identity, tenant: str, uscc: str = "", kind: str = "",
               city: str = "", name_contains: str = "", page_size: int = 50,
               page_token: str = "") -> tuple[list[Row], str]:
    """A page of the units the caller may see (each a row of a unit's columns, read by name
    as a ``Unit``'s attributes), and the token of the next page ("" at the end)."""
    scope: Scope = visible_scope(ident, tenant, READ)
    query = decided(domain.unit_query(uscc=uscc, kind=kind, city=city,
                                      name_contains=name_contains, page_size=page_size,
                                      scope_prefix=scope.location_prefix, page_token=page_token))
    with rt.db.reading(tenant) as conn:
        units = list(store.find_units(conn=conn, uscc=query.uscc, kind=query.kind,
                                      city_prefix=query.location_prefix,
                                      name_contains=query.name_contains, org=scope.org,
                                      after=query.after, limit=query.limit + 1))
    more = len(units) > query.limit
    units = units[:query.limit]
    return units, (units[-1].id if more else "")


def history(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str) -> list[UnitChange]:
    with rt.db.session(tenant) as s:
        unit_for(s, ident, tenant, unit_id, READ)
        return list(store.history(session=s, unit_id=unit_id))


def rename_unit(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str, new_name: str,
                effective_on: str, reason: str) -> Unit:
    name = domain.check_name(new_name)
    day = clock.optional_day(effective_on, "effective_on") or clock.today()
    reason = reason_text(reason)
    with rt.db.session(tenant, write=True) as s:
        unit = unit_for(s, ident, tenant, unit_id, OFFICIAL, write=True)
        before = state_of(unit)
        after = domain.rename(before, name)
        if after == before:
            return unit  # already so: a retried rename changes nothing
        apply(unit, after)
        touch(unit)
        change(s, ident, unit.id, "renamed", before.name, after.name, day, reason)
        rt.record(s, ev.UnitRenamed(unit_id=unit.id, old_name=before.name, new_name=after.name,
                                    effective_on=day.isoformat()), reason)
        return unit


def set_ownership(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str, parent_uscc: str,
                  legal_representative: str, legal_rep_id: str) -> Unit:
    """The unit's parent company or controlling shareholder and its legal representative, which
    the institutions service compares to find related parties (SPEC §9). History is kept; the ID
    number itself is never stored, only a keyed hash and a masked form."""
    parent = validate_uscc(parent_uscc).code if parent_uscc.strip() else ""
    name = domain.legal_representative(legal_representative)
    person = parse_person_id(legal_rep_id, secret=person_secret(rt.settings))
    declared = domain.Ownership(parent_uscc=parent, legal_representative=name,
                                legal_rep_key=person.key, legal_rep_masked=person.masked)
    with rt.db.session(tenant, write=True) as s:
        unit = unit_for(s, ident, tenant, unit_id, WRITE, write=True)
        before = state_of(unit)
        after = decided(domain.declare_ownership(before, declared))
        if after == before:
            return unit  # already so: a retry changes nothing
        apply(unit, after)
        touch(unit)
        change(s, ident, unit.id, "ownership", domain.ownership_line(before),
               domain.ownership_line(after), None, "")
        rt.record(s, ev.UnitOwnershipDeclared(
            unit_id=unit.id, parent_uscc=after.parent_uscc,
            legal_rep_changed=before.legal_rep_key != after.legal_rep_key))
        return unit


def relocate_unit(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str, new_location: str,
                  new_site: str, effective_on: str, reason: str) -> Unit:
    location = validate_location(new_location)
    # Leaving the tenant is a transfer between provinces, not a relocation inside one.
    refuse(domain.outside_tenant(location, tenant))
    day = clock.optional_day(effective_on, "effective_on") or clock.today()
    reason = reason_text(reason)
    with rt.db.session(tenant, write=True) as s:
        unit = unit_for(s, ident, tenant, unit_id, OFFICIAL, write=True)
        authorize(ident, tenant, OFFICIAL, location=location, write=True)  # and into its city
        before = state_of(unit)
        site = domain.new_site(new_site, before.site)
        taken = site != before.site and store.unit_by_uscc_site(
            session=s, uscc=before.uscc, site=site) is not None
        after = decided(domain.relocate(before, location=location, site=site, site_taken=taken))
        if after == before:
            return unit
        apply(unit, after)
        touch(unit)
        change(s, ident, unit.id, "relocated", f"{before.location} {before.site}".strip(),
               f"{after.location} {after.site}".strip(), day, reason)
        rt.record(s, ev.UnitRelocated(
            unit_id=unit.id, old_location=before.location, new_location=after.location,
            old_city=before.city, new_city=after.city), reason)
        return unit


def merge_units(rt: Runtime, *, ident: Identity, tenant: str, absorbed_id: str, into_id: str,
                effective_on: str, reason: str) -> Unit:
    """``absorbed_id`` merged into ``into_id`` (吸收合并): it keeps its id and history, and its
    compliance records count for the unit it merged into at the veto check."""
    refuse(domain.merging_itself(absorbed_id, into_id))
    day = clock.optional_day(effective_on, "effective_on") or clock.today()
    reason = reason_text(reason)
    with rt.db.session(tenant, write=True) as s:
        absorbed = unit_for(s, ident, tenant, absorbed_id, OFFICIAL, write=True)
        into = unit_for(s, ident, tenant, into_id, OFFICIAL, write=True)
        merger = decided(domain.merge(state_of(absorbed), state_of(into)))
        if merger.already:
            return into
        apply(absorbed, merger.absorbed)
        apply(into, merger.into)
        touch(absorbed)
        touch(into)
        change(s, ident, absorbed.id, "merged_into", absorbed.name, into.id, day, reason)
        change(s, ident, into.id, "absorbed", absorbed.id, into.name, day, reason)
        rt.record(s, ev.UnitsMerged(absorbed_id=absorbed.id, into_id=into.id,
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

    def one(row: dict[str, str]) -> tuple[str, bool]:
        share = domain.share_value(row.get("industrial_value_added_share", ""))
        unit, created = register_unit(
            rt, ident=ident, tenant=tenant, imported=True,
            kind=row["kind"], uscc=row["uscc"], site=row.get("site", ""), name=row["name"],
            location=row["location"], industry=row.get("industry", ""),
            uscc_override_reason=row.get("uscc_override_reason", ""),
            park_level=row.get("park_level", ""),
            industrial_value_added_share=share,
            park_boundary=row.get("park_boundary", ""),
        )
        return unit.id, not created

    return bulk.each_row(rows, lang, one)
