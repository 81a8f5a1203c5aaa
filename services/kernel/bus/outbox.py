"""The transactional outbox and its hash chain (ARCHITECTURE §5).

``record_event`` writes an event into the outbox, in the business transaction, appending it to the
(service, tenant) hash chain under a lock so the chain never forks; ``verify_chain`` walks it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from google.protobuf.message import Message
from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, Session, SQLModel, select

from generated.events.v1 import events_pb2
from services.kernel import clock
from services.kernel.bus.streams import subject
from services.kernel.db import mark_events
from services.kernel.identity import peek_identity
from services.kernel.telemetry import current_traceparent

# --- tables every service has (created by each service's first migration) -----------------------


class Outbox(SQLModel, table=True):
    __tablename__ = "outbox"
    seq: int = Field(primary_key=True)              # position in this tenant's chain
    event_id: str = Field(unique=True, max_length=36)
    subject: str = Field(max_length=200)
    type: str = Field(max_length=80)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    hash: str = Field(max_length=64)
    traceparent: str = Field(default="", max_length=64)
    created_at: datetime
    published_at: datetime | None = Field(default=None, index=True)


class ChainHead(SQLModel, table=True):
    __tablename__ = "chain_head"
    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(default="", max_length=64)


class Inbox(SQLModel, table=True):
    __tablename__ = "inbox"
    consumer: str = Field(primary_key=True, max_length=80)
    event_id: str = Field(primary_key=True, max_length=36)
    processed_at: datetime



# --- writing ------------------------------------------------------------------------------------


def record_event(
    session: Session,
    *,
    tenant: str,
    service: str,
    prefix: str,
    event_type: str,
    body: Message,
    reason: str = "",
    actor_tenant: str = "",
) -> events_pb2.Envelope:
    """Append an event to the outbox and the tenant's chain, inside the caller's transaction.
    The actor is described by its grant in ``actor_tenant`` (where it acted), by default the
    chain's tenant."""
    # FOR UPDATE serialises appenders on PostgreSQL; on SQLite the write transaction already
    # holds the file's write lock (BEGIN IMMEDIATE).
    head = session.exec(select(ChainHead).where(ChainHead.id == 1).with_for_update()).one()
    ident = peek_identity()
    grant = next(iter(ident.in_tenant(actor_tenant or tenant)), None) if ident else None
    env = events_pb2.Envelope(
        event_id=str(uuid.uuid4()),
        tenant=tenant,
        service=service,
        type=event_type,
        actor=events_pb2.Actor(
            subject=ident.subject if ident else "system",
            role=grant.role if grant else "system",
            jurisdiction=(grant.city or grant.org or grant.tenant) if grant else "",
        ),
        reason=reason,
        seq=head.seq + 1,
        prev_hash=bytes.fromhex(head.hash),
    )
    now = clock.now()
    env.occurred_at.FromDatetime(now)
    env.body.Pack(body)
    data = env.SerializeToString()
    digest = hashlib.sha256(data).hexdigest()
    session.add(
        Outbox(
            seq=env.seq,
            event_id=env.event_id,
            subject=subject(prefix, tenant, service, event_type),
            type=event_type,
            payload=data,
            hash=digest,
            traceparent=current_traceparent(),
            created_at=now,
        )
    )
    head.seq, head.hash = env.seq, digest
    session.add(head)
    mark_events(session)
    return env


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    length: int
    head_hash: str
    first_broken_seq: int = 0
    problem: str = ""


def verify_chain(session: Session) -> ChainCheck:
    """Walk the tenant's chain: every hash recomputed, every link to its predecessor checked."""
    prev, length = "", 0
    for row in session.exec(select(Outbox).order_by(Outbox.seq)):
        env = events_pb2.Envelope.FromString(row.payload)
        if hashlib.sha256(row.payload).hexdigest() != row.hash:
            return ChainCheck(False, length, prev, row.seq, "hash does not match stored bytes")
        if env.prev_hash.hex() != prev or env.seq != row.seq:
            return ChainCheck(False, length, prev, row.seq, "link to previous event broken")
        prev, length = row.hash, length + 1
    head = session.exec(select(ChainHead)).one()
    if head.hash != prev or head.seq != length:
        return ChainCheck(False, length, prev, length + 1, "chain head does not match")
    return ChainCheck(True, length, prev)
