"""The transactional outbox and its hash chain (ARCHITECTURE §5, decision 0007).

``record_event`` writes an event into the outbox, in the business transaction, appending it to the
(service, tenant) hash chain under a lock so the chain never forks, and signs its envelope with
the service's key; ``verify_chain`` walks it.

Each row carries its format. Format 1 (before 2026-11): the hash is sha256 of the envelope bytes
alone, unsigned. Format 2: the hash covers the format, seq, previous hash, type, subject (which
names the tenant), created_at and the envelope bytes (which carry tenant, subject and format
again), and the envelope is signed. A row is checked by the rules of its own format.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from google.protobuf.message import DecodeError, Message
from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, Session, SQLModel, select

from generated.events.v1 import events_pb2
from services.kernel import clock
from services.kernel.bus.authentic import FORMAT, seal
from services.kernel.bus.streams import subject
from services.kernel.clock import CST
from services.kernel.db import mark_events
from services.kernel.identity import acting_grant, peek_identity
from services.kernel.signing import KeyRing
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
    format: int = 1                                 # 1: unsigned, chain over payload alone
    key_id: str = Field(default="", max_length=80)  # format 2: the service's signing key
    signature: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


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
    signer: KeyRing,
) -> events_pb2.Envelope:
    """Append an event to the outbox and the tenant's chain, inside the caller's transaction.
    The actor is described by the grant that authorised the call (``acting_grant``); when no
    ``authorize`` passed, by its first grant in ``actor_tenant`` (where it acted), by default
    the chain's tenant."""
    # FOR UPDATE serialises appenders on PostgreSQL; on SQLite the write transaction already
    # holds the file's write lock (BEGIN IMMEDIATE).
    head = session.exec(select(ChainHead).where(ChainHead.id == 1).with_for_update()).one()
    ident = peek_identity()
    # The grant that authorised the action (kernel.identity.authorize remembers it for the
    # call), not merely the caller's first grant in the tenant.
    grant = acting_grant(actor_tenant or tenant) if ident else None
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
    env.subject, env.format = subject(prefix, tenant, service, event_type), FORMAT
    data = env.SerializeToString()
    key_id, signature = seal(data, signer)
    row = Outbox(seq=env.seq, event_id=env.event_id, subject=env.subject, type=event_type,
                 payload=data, hash="", traceparent=current_traceparent(), created_at=now,
                 format=FORMAT, key_id=key_id, signature=signature)
    row.hash = chain_hash(row, head.hash)
    session.add(row)
    head.seq, head.hash = env.seq, row.hash
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


def chain_hash(row: Outbox, prev: str) -> str:
    """The row's hash under the rules of its format."""
    if row.format == 1:
        return hashlib.sha256(row.payload).hexdigest()
    h = hashlib.sha256()
    for part in (str(row.format), str(row.seq), prev, row.type, row.subject,
                 _instant(row.created_at)):
        h.update(part.encode())
        h.update(b"\0")
    h.update(row.payload)
    return h.hexdigest()


def _instant(at: datetime) -> str:
    """created_at as China Standard Time wall time: SQLite gives it back without its zone,
    PostgreSQL in the session's zone; both are the same instant written from the CST clock."""
    if at.tzinfo is not None:
        at = at.astimezone(CST).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def verify_chain(session: Session, tenant: str = "") -> ChainCheck:
    """Walk the tenant's chain: every hash recomputed by the rules of the row's format, every
    link to its predecessor checked, and from format 2 on the row's columns checked against its
    envelope (and, given ``tenant``, the tenant its subject and envelope name)."""
    prev, length, fmt = "", 0, 1
    for row in session.exec(select(Outbox).order_by(Outbox.seq)):
        problem = _row_problem(row, prev, fmt, tenant)
        if problem:
            return ChainCheck(False, length, prev, row.seq, problem)
        prev, length, fmt = row.hash, length + 1, row.format
    head = session.exec(select(ChainHead)).one()
    if head.hash != prev or head.seq != length:
        return ChainCheck(False, length, prev, length + 1, "chain head does not match")
    return ChainCheck(True, length, prev)


def _row_problem(row: Outbox, prev: str, prev_format: int, tenant: str) -> str:
    if row.format not in (1, FORMAT) or row.format < prev_format:
        return f"format {row.format} after format {prev_format}"
    if chain_hash(row, prev) != row.hash:
        return "hash does not match stored bytes"
    try:
        env = events_pb2.Envelope.FromString(row.payload)
    except DecodeError:
        return "stored bytes are not an envelope"
    if env.prev_hash.hex() != prev or env.seq != row.seq:
        return "link to previous event broken"
    if row.format == 1:
        return ""
    if (env.format, env.type, env.subject) != (row.format, row.type, row.subject):
        return "row does not match its envelope"
    if tenant and (env.tenant != tenant or row.subject.split(".")[1:2] != [tenant]):
        return f"event of another tenant than {tenant}"
    return ""
