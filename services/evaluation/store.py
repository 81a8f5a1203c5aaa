"""Evaluation tables and queries. Every function takes a tenant session; models carry no schema."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint, tuple_
from sqlmodel import Field, Session, SQLModel, col, select

from services.kernel.bus import ChainHead, Inbox, Outbox  # noqa: F401 - part of this service's schema
from services.kernel.db import insert_new, new_id  # noqa: F401 - new_id: ids of this service's records

metadata = SQLModel.metadata


class Evaluation(SQLModel, table=True):
    __tablename__ = "evaluation"
    __table_args__ = (UniqueConstraint("created_by", "request_id", name="uq_evaluation_request"),
                      Index("ix_evaluation_rescoring", "scheme_id", "status", "submitted_at", "id"))
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
    level: str = Field(default="", max_length=20)          # applied for: sets the pass mark (0004)
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
    """One upload: its own name and uploader; the bytes are the blob's, stored once. The same
    bytes under the same name for the same indicator are the same upload (a retry)."""

    __tablename__ = "evidence_link"
    evaluation_id: str = Field(primary_key=True, max_length=36)
    indicator_id: str = Field(primary_key=True, max_length=80)
    sha256: str = Field(primary_key=True, max_length=64)
    filename: str = Field(primary_key=True, max_length=200)  # part of the key since 0004
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


class HeldRow(Protocol):
    """What re-scoring reads of a submitted evaluation (a row of ``submitted_of``)."""

    id: str
    unit_id: str
    scheme_version: int
    values_json: str
    basic_json: str
    result_json: str
    vetoed: bool
    level: str
    submitted_at: datetime


def submitted_of(*, session: Session, scheme_id: str, location_prefix: str,
                 after: tuple[datetime, str] | None, limit: int) -> Sequence[HeldRow]:
    """One page of the submitted evaluations of a scheme located under ``location_prefix``, in
    submission order (then id): at most ``limit`` of them, those after the key
    ``(submitted_at, id)`` ``after`` (from the start when ``None``). Keyset pagination along
    ``ix_evaluation_rescoring``: each page is its own short read, so a caller can close its
    session between pages. Only the columns re-scoring needs (not the report)."""
    query = (select(Evaluation.id, Evaluation.unit_id, Evaluation.scheme_version,
                    Evaluation.values_json, Evaluation.basic_json, Evaluation.result_json,
                    Evaluation.vetoed, Evaluation.level, Evaluation.submitted_at)
             .where(Evaluation.scheme_id == scheme_id, Evaluation.status == "submitted",
                    col(Evaluation.submitted_at).is_not(None),
                    col(Evaluation.unit_location).startswith(location_prefix, autoescape=True))
             .order_by(col(Evaluation.submitted_at), col(Evaluation.id))
             .limit(limit))
    if after is not None:
        query = query.where(tuple_(col(Evaluation.submitted_at), col(Evaluation.id)) > after)
    return session.exec(query).all()  # type: ignore[return-value]


def keep_upload(*, session: Session, blob: EvidenceBlob, link: EvidenceLink) -> EvidenceLink:
    """The blob stored once and the upload kept once, whoever wins a race to either: a
    concurrent upload of the same bytes (or a retry of the same upload) is no error. The upload
    as it stands (the first one's uploader, on a retry)."""
    insert_new(session, EvidenceBlob, **blob.model_dump())
    insert_new(session, EvidenceLink, **link.model_dump())
    key = (link.evaluation_id, link.indicator_id, link.sha256, link.filename)
    kept = session.get(EvidenceLink, key, populate_existing=True)
    assert kept is not None  # inserted now, or by whoever inserted it first
    return kept


def evidence(*, session: Session, evaluation_id: str) -> Sequence[tuple[EvidenceLink, EvidenceBlob]]:
    return session.exec(  # type: ignore[return-value]
        select(EvidenceLink, EvidenceBlob)
        .join(EvidenceBlob, col(EvidenceBlob.sha256) == EvidenceLink.sha256)
        .where(EvidenceLink.evaluation_id == evaluation_id)
        .order_by(EvidenceLink.indicator_id, EvidenceLink.filename)
    ).all()
