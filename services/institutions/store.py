"""Institutions tables and queries. Every row lives in the national tenant 000000; models carry
no schema. Functions take a session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Column, Text, UniqueConstraint, func, or_
from sqlmodel import Field, Session, SQLModel, col, select

from services.kernel.bus import ChainHead, Inbox, Outbox  # noqa: F401 - part of this service's schema
from services.kernel.db import insert_new, new_id  # noqa: F401 - new_id: ids of this service's records

metadata = SQLModel.metadata


class Institution(SQLModel, table=True):
    __tablename__ = "institution"
    uscc: str = Field(primary_key=True, max_length=18)
    name: str = Field(max_length=200)
    status: str = Field(default="unverified", max_length=20)   # unverified | verified | removed
    legal_representative: str = Field(max_length=100)
    legal_rep_key: str = Field(max_length=64, index=True)      # sha256 of the ID number
    legal_rep_masked: str = Field(max_length=18)
    parent_uscc: str = Field(default="", max_length=18)
    profile_json: str = Field(sa_column=Column(Text, nullable=False))  # address, staff, scope …
    created_by: str = Field(max_length=100)
    created_at: datetime
    updated_at: datetime
    verified_at: datetime | None = None


class Filing(SQLModel, table=True):
    """备案: an institution works in a province."""

    __tablename__ = "filing"
    uscc: str = Field(primary_key=True, max_length=18)
    province: str = Field(primary_key=True, max_length=6)
    status: str = Field(default="active", max_length=20)        # active | revoked
    filed_by: str = Field(max_length=100)
    filed_at: datetime
    revoked_at: datetime | None = None
    reason: str = Field(default="", max_length=500)


class Engagement(SQLModel, table=True):
    __tablename__ = "engagement"
    __table_args__ = (UniqueConstraint("created_by", "request_id", name="uq_engagement_request"),)
    id: str = Field(primary_key=True, max_length=36)
    institution_uscc: str = Field(max_length=18, index=True)
    legal_rep_key: str = Field(max_length=64)                  # whose cap it counts toward
    unit_id: str = Field(max_length=36, index=True)
    unit_tenant: str = Field(max_length=6, index=True)
    unit_uscc: str = Field(max_length=18)
    unit_location: str = Field(max_length=6)
    unit_name: str = Field(max_length=200)
    unit_json: str = Field(sa_column=Column(Text, nullable=False))
    category: str = Field(max_length=20)
    level: str = Field(max_length=20)
    year: int
    engaged_on: date
    counted: bool = False                                      # took a place under the cap
    status: str = Field(default="accepted", max_length=20)     # accepted | cancelled | completed
    request_id: str = Field(max_length=80)
    created_by: str = Field(max_length=100)
    created_at: datetime
    cancelled_at: datetime | None = None
    cancel_reason: str = Field(default="", max_length=500)
    evaluation_id: str = Field(default="", max_length=36)
    claimed_total: str = Field(default="", max_length=20)
    platform_total: str = Field(default="", max_length=20)
    deviation: str = Field(default="", max_length=20)


class CapCounter(SQLModel, table=True):
    """One locked row per (legal representative, year): national projects taken (Art. 20)."""

    __tablename__ = "cap_counter"
    legal_rep_key: str = Field(primary_key=True, max_length=64)
    year: int = Field(primary_key=True)
    used: int = 0


class WorkReport(SQLModel, table=True):
    __tablename__ = "work_report"
    uscc: str = Field(primary_key=True, max_length=18)
    year: int = Field(primary_key=True)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    projects: int
    content_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    due_on: date
    late: bool = False
    submitted_by: str = Field(max_length=100)
    submitted_at: datetime


class Sanction(SQLModel, table=True):
    __tablename__ = "sanction"
    id: str = Field(primary_key=True, max_length=36)
    uscc: str = Field(max_length=18, index=True)
    kind: str = Field(max_length=20)
    scope: str = Field(max_length=6)                           # 000000 or the deciding province
    reason: str = Field(sa_column=Column(Text, nullable=False))
    decision: str = Field(max_length=200)
    starts_on: date
    ends_on: date | None = None
    decided_by: str = Field(max_length=100)
    decided_at: datetime


class UnitRemoval(SQLModel, table=True):
    """A unit removed from a list (listing's entry.removed), for track records."""

    __tablename__ = "unit_removal"
    unit_tenant: str = Field(primary_key=True, max_length=6)
    unit_id: str = Field(primary_key=True, max_length=36)
    removed_on: date


# --- queries ---------------------------------------------------------------------------------------


def institution(*, session: Session, uscc: str, for_update: bool = False) -> Institution | None:
    return session.get(Institution, uscc, with_for_update=for_update)


def institutions(*, session: Session, usccs: Sequence[str] | None = None,
                 status: Sequence[str] = ()) -> Sequence[Institution]:
    q = select(Institution).order_by(Institution.uscc)
    if usccs is not None:
        q = q.where(col(Institution.uscc).in_(usccs))
    if status:
        q = q.where(col(Institution.status).in_(status))
    return session.exec(q).all()


def sharing_legal_rep(*, session: Session, legal_rep_key: str) -> Sequence[str]:
    return session.exec(select(Institution.uscc).where(Institution.legal_rep_key == legal_rep_key)
                        .order_by(Institution.uscc)).all()


def maybe_one_party(*, session: Session, uscc: str, legal_rep_key: str,
                    parent_uscc: str) -> Sequence[Institution]:
    """The other institutions that may be one party with ``uscc``: the same legal
    representative, the same parent, its parent, its subsidiaries (the domain decides)."""
    related = [col(Institution.parent_uscc) == uscc]
    if legal_rep_key:
        related.append(col(Institution.legal_rep_key) == legal_rep_key)
    if parent_uscc:
        related += [col(Institution.parent_uscc) == parent_uscc,
                    col(Institution.uscc) == parent_uscc]
    return session.exec(select(Institution).where(or_(*related), Institution.uscc != uscc)
                        .order_by(Institution.uscc)).all()


def filings(*, session: Session, uscc: str | None = None,
            province: str | None = None) -> Sequence[Filing]:
    q = select(Filing).order_by(Filing.uscc, Filing.province)
    if uscc is not None:
        q = q.where(Filing.uscc == uscc)
    if province is not None:
        q = q.where(Filing.province == province)
    return session.exec(q).all()


def filing(*, session: Session, uscc: str, province: str,
           for_update: bool = False) -> Filing | None:
    return session.get(Filing, (uscc, province), with_for_update=for_update)


def filings_by_institution(*, session: Session, usccs: Sequence[str]) -> dict[str, list[Filing]]:
    """Every filing of the given institutions, in one query."""
    out: dict[str, list[Filing]] = {u: [] for u in usccs}
    for f in session.exec(select(Filing).where(col(Filing.uscc).in_(usccs))
                          .order_by(Filing.uscc, Filing.province)).all():
        out[f.uscc].append(f)
    return out


def sanctions_by_institution(*, session: Session,
                             usccs: Sequence[str]) -> dict[str, list[Sanction]]:
    """Every sanction of the given institutions, in one query."""
    out: dict[str, list[Sanction]] = {u: [] for u in usccs}
    for x in session.exec(select(Sanction).where(col(Sanction.uscc).in_(usccs))
                          .order_by(Sanction.starts_on, Sanction.id)).all():
        out[x.uscc].append(x)
    return out


def engagement(*, session: Session, engagement_id: str, for_update: bool = False) -> Engagement | None:
    return session.get(Engagement, engagement_id, with_for_update=for_update)


def engagement_by_request(*, session: Session, created_by: str, request_id: str) -> Engagement | None:
    return session.exec(select(Engagement).where(Engagement.created_by == created_by,
                                                 Engagement.request_id == request_id)).first()


def engagements(*, session: Session, institution_uscc: str = "", unit_tenant: str = "",
                unit_id: str = "", unit_uscc: str = "", location_prefix: str = "", year: int = 0,
                status: Sequence[str] = ()) -> Sequence[Engagement]:
    q = select(Engagement).order_by(col(Engagement.created_at), Engagement.id)
    for column, value in ((Engagement.institution_uscc, institution_uscc),
                          (Engagement.unit_tenant, unit_tenant), (Engagement.unit_id, unit_id),
                          (Engagement.unit_uscc, unit_uscc), (Engagement.year, year)):
        if value:
            q = q.where(column == value)
    if location_prefix:
        q = q.where(col(Engagement.unit_location).startswith(location_prefix))
    if status:
        q = q.where(col(Engagement.status).in_(status))
    return session.exec(q).all()


def lock_counter(*, session: Session, legal_rep_key: str, year: int) -> CapCounter:
    """The (legal representative, year) counter, created if need be and locked until commit.
    The insert ignores a concurrent creator; the SELECT … FOR UPDATE then waits for it."""
    insert_new(session, CapCounter, legal_rep_key=legal_rep_key, year=year, used=0)
    return session.exec(select(CapCounter).where(CapCounter.legal_rep_key == legal_rep_key,
                                                 CapCounter.year == year)
                        .with_for_update()).one()


def counter(*, session: Session, legal_rep_key: str, year: int) -> int:
    row = session.get(CapCounter, (legal_rep_key, year))
    return row.used if row is not None else 0


def work_reports(*, session: Session, usccs: Sequence[str] | None, year: int = 0) -> Sequence[WorkReport]:
    q = select(WorkReport).order_by(WorkReport.uscc, WorkReport.year)
    if usccs is not None:
        q = q.where(col(WorkReport.uscc).in_(usccs))
    if year:
        q = q.where(WorkReport.year == year)
    return session.exec(q).all()


def work_report(*, session: Session, uscc: str, year: int,
                for_update: bool = False) -> WorkReport | None:
    return session.get(WorkReport, (uscc, year), with_for_update=for_update)


def projects_in(*, session: Session, uscc: str, year: int) -> int:
    return session.exec(select(func.count()).select_from(Engagement).where(
        Engagement.institution_uscc == uscc, Engagement.year == year,
        Engagement.status != "cancelled")).one()


def sanctions(*, session: Session, uscc: str | None = None) -> Sequence[Sanction]:
    q = select(Sanction).order_by(Sanction.starts_on, Sanction.id)
    if uscc is not None:
        q = q.where(Sanction.uscc == uscc)
    return session.exec(q).all()


def removals(*, session: Session, unit_keys: Sequence[tuple[str, str]]) -> dict[str, date]:
    if not unit_keys:
        return {}
    ids = {u for _, u in unit_keys}
    rows = session.exec(select(UnitRemoval).where(col(UnitRemoval.unit_id).in_(ids))).all()
    wanted = set(unit_keys)
    return {f"{r.unit_tenant}/{r.unit_id}": r.removed_on for r in rows
            if (r.unit_tenant, r.unit_id) in wanted}
