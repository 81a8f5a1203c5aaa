"""Registry tables and queries. Every function takes a tenant session; models carry no schema."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import UniqueConstraint
from sqlalchemy.engine import Connection, Row
from sqlmodel import Field, Session, SQLModel, col, select

from services.kernel.bus import ChainHead, Inbox, Outbox  # noqa: F401 - part of this service's schema
from services.kernel.db import new_id  # noqa: F401 - ids of this service's records

metadata = SQLModel.metadata


class Unit(SQLModel, table=True):
    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("uscc", "site", name="uq_unit_uscc_site"),)
    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=20, index=True)
    uscc: str = Field(max_length=18, index=True)
    site: str = Field(default="", max_length=200)
    name: str = Field(max_length=200, index=True)
    location: str = Field(max_length=6)
    city: str = Field(max_length=6, index=True)
    industry: str = Field(default="", max_length=4)
    status: str = Field(default="active", max_length=20)
    merged_into: str = Field(default="", max_length=36)
    uscc_checksum_override: bool = False
    uscc_override_reason: str = Field(default="", max_length=500)
    park_level: str = Field(default="", max_length=20)
    industrial_value_added_share: float | None = None
    park_boundary: str = Field(default="", max_length=2000)
    green_level: str = Field(default="", max_length=20)   # highest active list level (from listing)
    # Ownership (SPEC §9 related parties): declared by the enterprise; the ID number only as a key.
    parent_uscc: str = Field(default="", max_length=18)
    legal_representative: str = Field(default="", max_length=100)
    legal_rep_key: str = Field(default="", max_length=64)
    legal_rep_masked: str = Field(default="", max_length=18)
    created_at: datetime
    updated_at: datetime
    version: int = 1


class UnitChange(SQLModel, table=True):
    __tablename__ = "unit_change"
    id: int | None = Field(default=None, primary_key=True)
    unit_id: str = Field(max_length=36, index=True)
    kind: str = Field(max_length=20)
    field_from: str = Field(default="", max_length=200)
    field_to: str = Field(default="", max_length=200)
    effective_on: date | None = None
    reason: str = Field(default="", max_length=1000)
    actor: str = Field(default="", max_length=100)
    at: datetime


class ParkMember(SQLModel, table=True):
    __tablename__ = "park_member"
    park_id: str = Field(primary_key=True, max_length=36)
    member_id: str = Field(primary_key=True, max_length=36, index=True)


class SupplierLink(SQLModel, table=True):
    __tablename__ = "supplier_link"
    unit_id: str = Field(primary_key=True, max_length=36)
    uscc: str = Field(primary_key=True, max_length=18)
    name: str = Field(max_length=200)
    tenant: str = Field(max_length=6)


class Target(SQLModel, table=True):
    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("unit_id", "category", "valid_from", name="uq_target"),)
    id: str = Field(primary_key=True, max_length=36)
    unit_id: str = Field(max_length=36, index=True)
    category: str = Field(max_length=20)
    valid_from: date
    valid_until: date
    note: str = Field(default="", max_length=1000)
    created_at: datetime


class Plan(SQLModel, table=True):
    __tablename__ = "plan"
    __table_args__ = (UniqueConstraint("owner_id", "year", name="uq_plan_owner_year"),)
    id: str = Field(primary_key=True, max_length=36)
    owner_id: str = Field(max_length=36, index=True)
    kind: str = Field(max_length=20)
    year: int
    title: str = Field(default="", max_length=200)
    created_at: datetime


class PlanEntry(SQLModel, table=True):
    __tablename__ = "plan_entry"
    plan_id: str = Field(primary_key=True, max_length=36)
    uscc: str = Field(primary_key=True, max_length=18)
    name: str = Field(max_length=200)
    tenant: str = Field(max_length=6)


class ComplianceRecord(SQLModel, table=True):
    __tablename__ = "compliance_record"
    # The same fact sent twice (a retry, a re-import) is one record: the fingerprint hashes what
    # makes a fact (kind, day, reference, description), not its end date, which may come later.
    __table_args__ = (UniqueConstraint("unit_id", "fingerprint", name="uq_compliance"),)
    id: str = Field(primary_key=True, max_length=36)
    unit_id: str = Field(max_length=36, index=True)
    kind: str = Field(max_length=40)
    condition: int
    occurred_on: date
    ended_on: date | None = None
    description: str = Field(default="", max_length=2000)
    source: str = Field(default="official", max_length=40)
    reference: str = Field(default="", max_length=200)
    recorded_by: str = Field(default="", max_length=100)
    recorded_at: datetime
    fingerprint: str = Field(max_length=64)


# --- queries ------------------------------------------------------------------------------------


def get_unit(*, session: Session, unit_id: str, for_update: bool = False) -> Unit | None:
    """``for_update`` locks the row on PostgreSQL (SQLite's write transaction already does)."""
    return session.get(Unit, unit_id, with_for_update=for_update)


def absorbed_into(*, session: Session, unit_id: str) -> list[str]:
    """Every unit merged into this one, directly or through others."""
    found: list[str] = []
    frontier = [unit_id]
    while frontier:
        rows = session.exec(select(Unit.id).where(col(Unit.merged_into).in_(frontier))).all()
        frontier = [r for r in rows if r not in found and r != unit_id]
        found.extend(frontier)
    return found


def unit_by_uscc_site(*, session: Session, uscc: str, site: str) -> Unit | None:
    return session.exec(select(Unit).where(Unit.uscc == uscc, Unit.site == site)).first()


def units_by_uscc(*, session: Session, uscc: str) -> Sequence[Unit]:
    return session.exec(select(Unit).where(Unit.uscc == uscc).order_by(Unit.site)).all()


def find_units(
    *,
    conn: Connection,
    uscc: str = "",
    kind: str = "",
    city_prefix: str = "",
    name_contains: str = "",
    org: str = "",
    after: str = "",
    limit: int = 50,
) -> Sequence[Row]:
    """Keyset-paged search; ``city_prefix`` confines a city account, ``org`` an enterprise.
    Core rows (a unit's columns by name), read on ``Database.reading``: the hot look-up."""
    given = {"uscc": uscc, "org": org, "kind": kind, "city": city_prefix,
             "name": name_contains, "after": after}
    shape = tuple(bool(v) for v in given.values())
    statement = _FIND.get(shape)
    if statement is None:
        statement = _FIND[shape] = _find_statement(*shape)
    params = {k: v for k, v in given.items() if v}
    return conn.execute(statement, {**params, "limit": limit}).all()


# One statement per combination of filters (64 at most), built once: building a select and its
# cache key on every call cost a look-up more than running it (issue 11).
_FIND: dict[tuple[bool, ...], sa.Select] = {}


def _find_statement(uscc: bool, org: bool, kind: bool, city: bool, name: bool,
                    after: bool) -> sa.Select:
    q = sa.select(*Unit.__table__.columns)  # type: ignore[attr-defined]
    if uscc:
        q = q.where(Unit.uscc == sa.bindparam("uscc"))
    if org:
        q = q.where(Unit.uscc == sa.bindparam("org"))
    if kind:
        q = q.where(Unit.kind == sa.bindparam("kind"))
    if city:
        q = q.where(col(Unit.location).startswith(sa.bindparam("city")))
    if name:
        q = q.where(col(Unit.name).contains(sa.bindparam("name")))
    if after:
        q = q.where(Unit.id > sa.bindparam("after"))
    return q.order_by(Unit.id).limit(sa.bindparam("limit"))


def history(*, session: Session, unit_id: str) -> Sequence[UnitChange]:
    return session.exec(
        select(UnitChange).where(UnitChange.unit_id == unit_id).order_by(col(UnitChange.id))
    ).all()


def park_members(*, session: Session, park_id: str) -> Sequence[Unit]:
    return session.exec(
        select(Unit)
        .join(ParkMember, col(ParkMember.member_id) == Unit.id)
        .where(ParkMember.park_id == park_id)
        .order_by(Unit.name)
    ).all()


def set_park_members(*, session: Session, park_id: str, member_ids: list[str]) -> None:
    for old in session.exec(select(ParkMember).where(ParkMember.park_id == park_id)):
        session.delete(old)
    session.flush()
    for member_id in dict.fromkeys(member_ids):
        session.add(ParkMember(park_id=park_id, member_id=member_id))


def suppliers(*, session: Session, unit_id: str) -> Sequence[SupplierLink]:
    return session.exec(
        select(SupplierLink).where(SupplierLink.unit_id == unit_id).order_by(SupplierLink.uscc)
    ).all()


def set_suppliers(*, session: Session, unit_id: str, links: list[SupplierLink]) -> None:
    for old in suppliers(session=session, unit_id=unit_id):
        session.delete(old)
    session.flush()
    for link in links:
        session.add(link)


def targets(*, session: Session, active_on: date | None, org: str = "",
            city_prefix: str = "") -> Sequence[tuple[Target, Unit]]:
    q = select(Target, Unit).join(Unit, col(Unit.id) == Target.unit_id)
    if active_on is not None:
        q = q.where(Target.valid_from <= active_on, Target.valid_until >= active_on)
    if org:
        q = q.where(Unit.uscc == org)
    if city_prefix:
        q = q.where(col(Unit.location).startswith(city_prefix))
    return session.exec(q.order_by(Target.valid_from, Target.id)).all()  # type: ignore[return-value]


def plan_entries(*, session: Session, plan_id: str) -> Sequence[PlanEntry]:
    return session.exec(
        select(PlanEntry).where(PlanEntry.plan_id == plan_id).order_by(PlanEntry.uscc)
    ).all()


def get_plan(*, session: Session, plan_id: str) -> Plan | None:
    return session.get(Plan, plan_id)


def plans_of(*, session: Session, owner_id: str) -> Sequence[Plan]:
    return session.exec(select(Plan).where(Plan.owner_id == owner_id).order_by(Plan.year)).all()


def plan_for(*, session: Session, owner_id: str, year: int) -> Plan | None:
    return session.exec(select(Plan).where(Plan.owner_id == owner_id, Plan.year == year)).first()


def green_levels(*, session: Session, usccs: list[str]) -> dict[str, list[str]]:
    """The list levels the registered sites of each USCC hold in this tenant."""
    out: dict[str, list[str]] = {}
    for uscc, level in session.exec(
        select(Unit.uscc, Unit.green_level).where(col(Unit.uscc).in_(usccs), Unit.green_level != "")
    ):
        out.setdefault(uscc, []).append(level)
    return out


def compliance_records(*, session: Session, unit_ids: list[str]) -> Sequence[ComplianceRecord]:
    return session.exec(
        select(ComplianceRecord)
        .where(col(ComplianceRecord.unit_id).in_(unit_ids))
        .order_by(ComplianceRecord.occurred_on, ComplianceRecord.id)
    ).all()


def find_compliance(*, session: Session, unit_id: str, fingerprint: str) -> ComplianceRecord | None:
    return session.exec(
        select(ComplianceRecord).where(ComplianceRecord.unit_id == unit_id,
                                       ComplianceRecord.fingerprint == fingerprint)
    ).first()


def compliance_record(*, session: Session, unit_id: str, record_id: str,
                      for_update: bool = False) -> ComplianceRecord | None:
    """The record, if it is one of this unit's; ``for_update`` locks its row (PostgreSQL)."""
    record = session.get(ComplianceRecord, record_id, with_for_update=for_update)
    return record if record is not None and record.unit_id == unit_id else None


def find_target(*, session: Session, unit_id: str, category: str, valid_from: date) -> Target | None:
    return session.exec(
        select(Target).where(Target.unit_id == unit_id, Target.category == category,
                             Target.valid_from == valid_from)
    ).first()

