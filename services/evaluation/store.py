"""Evaluation tables and queries. Every function takes a tenant session; models carry no schema."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from services.kernel.bus import ChainHead, Inbox, Outbox  # noqa: F401 - part of this service's schema
from services.kernel.db import new_id  # noqa: F401 - ids of this service's records

metadata = SQLModel.metadata


class Evaluation(SQLModel, table=True):
    __tablename__ = "evaluation"
    __table_args__ = (UniqueConstraint("created_by", "request_id", name="uq_evaluation_request"),)
    id: str = Field(primary_key=True, max_length=36)
    unit_id: str = Field(max_length=36, index=True)
    unit_uscc: str = Field(max_length=18, index=True)     # scope: an enterprise sees its own
    unit_location: str = Field(max_length=6)               # scope: a city sees its own
    unit_json: str = Field(sa_column=Column(Text, nullable=False))  # identity as at creation
    scheme_id: str = Field(max_length=60)
    scheme_version: int                                    # pinned (SPEC §4)
    path: str = Field(default="self", max_length=20)       # self | institution
    assisted_by: str = Field(default="", max_length=18)    # who helped write a self-evaluation
    institution_uscc: str = Field(default="", max_length=18)   # the institution path: who evaluates
    engagement_id: str = Field(default="", max_length=36)    # unique when set (migration 0002)
    claimed_total: str = Field(default="", max_length=20)  # the institution's own score
    status: str = Field(default="draft", max_length=20)    # draft | submitted
    values_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    basic_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    result_json: str = Field(default="", sa_column=Column(Text, nullable=False))
    total: str = Field(default="", max_length=20)
    passed: bool = False
    vetoed: bool = False
    report_json: str = Field(default="", sa_column=Column(Text, nullable=False))
    report_hash: str = Field(default="", max_length=64)
    request_id: str = Field(max_length=80)
    created_by: str = Field(max_length=100)
    created_at: datetime
    submitted_at: datetime | None = None


class EvidenceBlob(SQLModel, table=True):
    """Evidence files, content-addressed: the same bytes are stored once."""

    __tablename__ = "evidence_blob"
    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    content_type: str = Field(max_length=100)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime


class EvidenceLink(SQLModel, table=True):
    __tablename__ = "evidence_link"
    evaluation_id: str = Field(primary_key=True, max_length=36)
    indicator_id: str = Field(primary_key=True, max_length=80)
    sha256: str = Field(primary_key=True, max_length=64)
    filename: str = Field(max_length=200)
    uploaded_by: str = Field(max_length=100)
    uploaded_at: datetime


def get(*, session: Session, evaluation_id: str, for_update: bool = False) -> Evaluation | None:
    return session.get(Evaluation, evaluation_id, with_for_update=for_update)


def by_request(*, session: Session, created_by: str, request_id: str) -> Evaluation | None:
    return session.exec(select(Evaluation).where(Evaluation.created_by == created_by,
                                                 Evaluation.request_id == request_id)).first()


def by_engagement(*, session: Session, engagement_id: str) -> Evaluation | None:
    return session.exec(select(Evaluation).where(Evaluation.engagement_id == engagement_id)).first()


def of_unit(*, session: Session, unit_id: str) -> Sequence[Evaluation]:
    return session.exec(select(Evaluation).where(Evaluation.unit_id == unit_id)
                        .order_by(col(Evaluation.created_at))).all()


def self_helpers(*, session: Session, unit_id: str) -> Sequence[str]:
    """Who helped write the unit's self-evaluations ("assisted_by"), drafts included."""
    return session.exec(select(Evaluation.assisted_by).distinct()
                        .where(Evaluation.unit_id == unit_id, Evaluation.path == "self",
                               Evaluation.assisted_by != "")
                        .order_by(Evaluation.assisted_by)).all()


def submitted_of(*, session: Session, scheme_id: str) -> Sequence[Evaluation]:
    return session.exec(select(Evaluation).where(Evaluation.scheme_id == scheme_id,
                                                 Evaluation.status == "submitted")
                        .order_by(col(Evaluation.submitted_at))).all()


def evidence(*, session: Session, evaluation_id: str) -> Sequence[tuple[EvidenceLink, EvidenceBlob]]:
    return session.exec(  # type: ignore[return-value]
        select(EvidenceLink, EvidenceBlob)
        .join(EvidenceBlob, col(EvidenceBlob.sha256) == EvidenceLink.sha256)
        .where(EvidenceLink.evaluation_id == evaluation_id)
        .order_by(EvidenceLink.indicator_id, EvidenceLink.filename)
    ).all()
