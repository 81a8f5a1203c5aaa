"""Events over NATS JetStream (ARCHITECTURE §5).

- ``record_event`` writes an event into the transactional outbox, in the business transaction,
  appending it to the (service, tenant) hash chain under a lock so the chain never forks.
- ``Relay`` publishes the outbox with ``Nats-Msg-Id`` = event id. It is woken when a transaction
  commits an event and otherwise polls slowly, so an idle stack costs nothing.
- ``Consumer`` runs durable pull consumers with explicit ack; an inbox row keyed by
  (consumer, event id), written in the same transaction as the effect, makes every effect happen
  once. Redelivery is bounded; what still fails goes to the dead-letter subject.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

import nats
from google.protobuf.message import Message
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError
from opentelemetry import propagate, trace
from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, Session, SQLModel, select

from greenladder.events.v1 import events_pb2
from services.kernel import clock
from services.kernel.config import Settings
from services.kernel.crossings import crossing_for_effect
from services.kernel.db import Database, mark_events
from services.kernel.errors import DomainError, Kind
from services.kernel.identity import peek_identity
from services.kernel.telemetry import current_traceparent, log
from services.kernel.tenancy import tenant_scope

logger = logging.getLogger("greenladder.bus")

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


def stream_name(prefix: str, service: str) -> str:
    return service.upper() if prefix == "gl" else f"{prefix.upper()}_{service.upper()}"


def subject(prefix: str, tenant: str, service: str, event_type: str) -> str:
    return f"{prefix}.{tenant}.{service}.{event_type}"


def dead_letter_subject(prefix: str, consumer: str, tenant: str) -> str:
    # A first token of its own: a dead-letter subject never overlaps a service stream.
    return f"{prefix}-dlq.{consumer}.{tenant}"


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


# --- connection and streams --------------------------------------------------------------------


async def connect(settings: Settings, name: str) -> NATS:
    async def on_error(exc: Exception) -> None:
        log(logger, "nats error", logging.WARNING, error=str(exc))

    return await nats.connect(
        settings.nats_url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=2,
        error_cb=on_error,
    )


async def ensure_stream(js: JetStreamContext, prefix: str, service: str) -> None:
    """Create (or align) a service's stream: ``<prefix>.*.<service>.>``, file storage, kept forever."""
    config = StreamConfig(
        name=stream_name(prefix, service),
        subjects=[f"{prefix}.*.{service}.>"],
        storage=StorageType.FILE,
        duplicate_window=120,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


async def ensure_dead_letter_stream(js: JetStreamContext, prefix: str) -> None:
    config = StreamConfig(
        name=stream_name(prefix, "deadletter"),
        subjects=[f"{prefix}-dlq.>"],
        storage=StorageType.FILE,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


# --- relay --------------------------------------------------------------------------------------


class Relay:
    """Publishes each tenant's outbox in chain order; woken on commit, polls slowly otherwise."""

    def __init__(self, *, db: Database, js: JetStreamContext, settings: Settings) -> None:
        self.db = db
        self.js = js
        self.settings = settings
        self._dirty: set[str] = set(db.tenants())  # at start, look everywhere once
        self._event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        db.on_commit = self.wake

    def wake(self, tenant: str) -> None:
        """Called after a commit, from whichever thread committed."""
        self._loop.call_soon_threadsafe(self._wake, tenant)

    def _wake(self, tenant: str) -> None:
        self._dirty.add(tenant)
        self._event.set()

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._event.wait(), self.settings.relay_poll_seconds)
            except TimeoutError:
                self._dirty.update(self.db.tenants())
            self._event.clear()
            tenants, self._dirty = self._dirty, set()
            for tenant in sorted(tenants):
                try:
                    await self._drain(tenant)
                except Exception as exc:  # noqa: BLE001 - NATS down: retry on the next round
                    log(logger, "relay could not publish", logging.WARNING, tenant=tenant,
                        error=repr(exc))
                    self._dirty.add(tenant)
                    await asyncio.sleep(1)

    async def _drain(self, tenant: str) -> None:
        while True:
            rows = await asyncio.to_thread(self._pending, tenant)
            if not rows:
                return
            for row in rows:
                headers = {"Nats-Msg-Id": row.event_id}
                if row.traceparent:
                    headers["traceparent"] = row.traceparent
                await self.js.publish(row.subject, row.payload, headers=headers, timeout=5)
                if self.settings.fault == "relay_exit_after_publish":
                    os._exit(17)  # test fault: die between publish and mark
            await asyncio.to_thread(self._mark, tenant, [r.seq for r in rows])

    def _pending(self, tenant: str) -> list[Outbox]:
        with self.db.session(tenant) as s:
            return list(
                s.exec(
                    select(Outbox).where(Outbox.published_at.is_(None)).order_by(Outbox.seq).limit(200)  # type: ignore[union-attr]
                )
            )

    def _mark(self, tenant: str, seqs: list[int]) -> None:
        now = clock.now()
        with self.db.session(tenant, write=True) as s:
            for row in s.exec(select(Outbox).where(Outbox.seq.in_(seqs))):  # type: ignore[attr-defined]
                row.published_at = now
                s.add(row)


# --- consumers ----------------------------------------------------------------------------------

Handler = Callable[[Session, events_pb2.Envelope], None]
SessionFor = Callable[[str], AbstractContextManager[Session]]


@dataclass(frozen=True)
class Subscription:
    """A durable consumer: ``name`` is unique per consuming service; ``service`` owns the stream."""

    name: str
    service: str
    event_type: str          # "entry.removed", "entry.*", or ">" for all of the service's events
    handler: Handler
    # Where the effect happens when not in the event's own tenant (a declared crossing).
    route: Callable[[events_pb2.Envelope], str] | None = None


class Consumer:
    def __init__(
        self, *, js: JetStreamContext, settings: Settings, session_for: SessionFor,
        subscriptions: list[Subscription],
    ) -> None:
        self.js = js
        self.settings = settings
        self.session_for = session_for
        self.subscriptions = subscriptions
        self._tracer = trace.get_tracer("greenladder.bus")

    async def run(self) -> None:
        await ensure_dead_letter_stream(self.js, self.settings.bus_prefix)
        await asyncio.gather(*(self._run_one(sub) for sub in self.subscriptions))

    async def _run_one(self, sub: Subscription) -> None:
        """Never ends on its own: whatever breaks (NATS away, a stream missing), it starts over."""
        while True:
            try:
                await self._consume(sub)
            except Exception as exc:  # noqa: BLE001
                log(logger, "consumer restarting", logging.ERROR, consumer=sub.name,
                    error=repr(exc))
                await asyncio.sleep(2)

    async def _consume(self, sub: Subscription) -> None:
        prefix = self.settings.bus_prefix
        await ensure_stream(self.js, prefix, sub.service)
        durable = f"{prefix}-{sub.name}"
        psub = await self.js.pull_subscribe(
            f"{prefix}.*.{sub.service}.{sub.event_type}",
            durable=durable,
            stream=stream_name(prefix, sub.service),
            config=ConsumerConfig(
                durable_name=durable,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                max_deliver=self.settings.consumer_max_deliver,
                ack_wait=self.settings.consumer_ack_wait_seconds,
            ),
        )
        while True:
            try:
                msgs = await psub.fetch(batch=50, timeout=5)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except Exception as exc:  # noqa: BLE001 - connection trouble: back off, keep going
                log(logger, "fetch failed", logging.WARNING, consumer=sub.name, error=repr(exc))
                await asyncio.sleep(1)
                continue
            for msg in msgs:
                await self._handle(sub, msg)

    async def _handle(self, sub: Subscription, msg: Msg) -> None:
        tenant = msg.subject.split(".")[1]
        ctx = propagate.extract(msg.headers or {})
        with self._tracer.start_as_current_span(
            f"consume {sub.name}", context=ctx, kind=trace.SpanKind.CONSUMER
        ):
            try:
                env = events_pb2.Envelope.FromString(msg.data)
                applied = await asyncio.to_thread(self._apply, sub, tenant, env)
                await msg.ack()
                log(logger, "event consumed", consumer=sub.name, event_id=env.event_id,
                    type=env.type, tenant=tenant, applied=applied)
            except Exception as exc:  # noqa: BLE001 - one bad event must not stop the consumer
                try:
                    await self._failed(sub, msg, tenant, exc)
                except Exception as nats_exc:  # noqa: BLE001 - unacked: redelivered after ack_wait
                    log(logger, "could not settle a failed event", logging.WARNING,
                        consumer=sub.name, subject=msg.subject, error=repr(nats_exc))

    async def _failed(self, sub: Subscription, msg: Msg, tenant: str, exc: Exception) -> None:
        """Retry later with back-off, or, after the last attempt, dead-letter it."""
        delivered = msg.metadata.num_delivered if msg.metadata else 1
        if delivered >= self.settings.consumer_max_deliver:
            await self.js.publish(
                dead_letter_subject(self.settings.bus_prefix, sub.name, tenant),
                msg.data,
                headers={**(msg.headers or {}), "Gl-Error": repr(exc)[:500],
                         "Gl-Subject": msg.subject},
            )
            await msg.term()
            log(logger, "event dead-lettered", logging.ERROR, consumer=sub.name,
                subject=msg.subject, error=repr(exc))
        else:
            await msg.nak(delay=min(2 ** delivered, 30))
            log(logger, "event failed, will retry", logging.WARNING, consumer=sub.name,
                subject=msg.subject, delivered=delivered, error=repr(exc))

    def _apply(self, sub: Subscription, tenant: str, env: events_pb2.Envelope) -> bool:
        """Effect and inbox row in one transaction: False when the event was seen before."""
        target = sub.route(env) if sub.route else tenant
        if target != tenant:
            crossing = crossing_for_effect(env.type, tenant, target)
            if crossing is None:
                raise DomainError("crossing.undeclared", Kind.FORBIDDEN, event=env.type,
                                  source=tenant, target=target)
            log(logger, "cross-tenant effect", crossing=crossing.name, source=tenant,
                target=target, event_id=env.event_id)
        with tenant_scope(target), self.session_for(target) as session:
            if session.get(Inbox, (sub.name, env.event_id)) is not None:
                return False
            if self.settings.fault == "consumer_slow":
                time.sleep(0.02)  # test fault: make a batch last long enough to be killed in
            sub.handler(session, env)
            session.add(Inbox(consumer=sub.name, event_id=env.event_id, processed_at=clock.now()))
            return True
