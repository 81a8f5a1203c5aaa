"""Durable pull consumers with explicit ack (ARCHITECTURE §5).

An inbox row keyed by (consumer, event id), written in the same transaction as the effect, makes
every effect happen once. Redelivery is bounded; what still fails goes to the dead-letter subject.
Each subscription maps message classes to handlers; every handler has the same signature,
``handler(runtime, session, event)``, and an event of a class nobody handles is acknowledged
without effect.

Before anything else an event is authenticated (``authentic.authenticate``: the emitting
service's signature, the subject it arrived on, its tenant): one that is not is dead-lettered at
once with its reason in the ``Gl-Error`` and ``Gl-Reason`` headers, logged, and never applied.

Each consumer counts what it applied and dead-lettered, and asks JetStream for its lag at most
every ``metrics.CONSUMER_LAG_EVERY`` seconds (``metrics``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import nats
from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry import trace
from sqlmodel import Session

from generated.events.v1 import events_pb2
from services.kernel import clock, metrics, signing
from services.kernel.bus.authentic import Unauthentic, authenticate, is_format1
from services.kernel.bus.contract import CATALOGUES
from services.kernel.bus.events import Event, message_name, unpack
from services.kernel.bus.outbox import Inbox
from services.kernel.bus.streams import (
    dead_letter_subject,
    ensure_dead_letter_stream,
    ensure_stream,
    format2_from,
    stream_name,
)
from services.kernel.config import Settings
from services.kernel.crossings import crossing_for_effect
from services.kernel.errors import DomainError, Kind
from services.kernel.telemetry import continued, log, within
from services.kernel.tenancy import tenant_scope

logger = logging.getLogger("greenladder.bus")

# (runtime, session, event): the runtime of the consuming process (a service's, or the gateway's).
Handler = Callable[[Any, Session, Event[Any]], None]
SessionFor = Callable[[str], AbstractContextManager[Session]]


@dataclass(frozen=True)
class Subscription:
    """A durable consumer: ``name`` is unique per consuming service; ``service`` owns the stream."""

    name: str
    service: str
    event_type: str          # subject filter: "entry.removed", "entry.*", or ">" for all
    handlers: Mapping[type[Message], Handler]
    # Where the effect happens when not in the event's own tenant (a declared crossing).
    route: Callable[[Event[Any]], str] | None = None

    def __post_init__(self) -> None:
        published = CATALOGUES[self.service]  # KeyError: a stream nobody publishes
        declared = {c for name in published.types.values() for c in published.classes_for(name)}
        strangers = sorted(c.__name__ for c in self.handlers if c not in declared)
        if strangers:
            raise ValueError(f"{self.name}: {self.service} publishes no {strangers}")

    def dispatch(self, envelope: events_pb2.Envelope) -> tuple[Event[Any], Handler] | None:
        """The event unpacked to its class and the handler for it; None when this subscription
        handles no event of its type. An envelope whose service, type and body do not agree
        with the contract is refused (and so, after bounded redelivery, dead-lettered): it was
        not written by the publisher."""
        accepted = CATALOGUES[self.service].classes_for(envelope.type)
        if envelope.service != self.service or not accepted:
            raise DomainError("event.unknown_type", Kind.INVALID, service=envelope.service,
                              type=envelope.type, stream=self.service)
        body = envelope.body.TypeName()
        cls = next((c for c in accepted if message_name(c) == body), None)
        if cls is None:
            raise DomainError("event.body_mismatch", Kind.INVALID, type=envelope.type,
                              body=body or "-")
        handler = self.handlers.get(cls)
        if handler is None:
            return None
        return unpack(envelope, cls), handler


class Consumer:
    def __init__(
        self, *, js: JetStreamContext, settings: Settings, session_for: SessionFor,
        subscriptions: list[Subscription], runtime: Any,
    ) -> None:
        self.js = js
        self.runtime = runtime
        self.settings = settings
        self.session_for = session_for
        self.subscriptions = subscriptions
        self.keys = signing.PublicKeys(settings.keys)  # every publisher's public keys
        self._format2: dict[str, int | None] = {}   # stream's service → where format 2 began
        for sub in subscriptions:
            metrics.consumer_seen(sub.name)

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
        self._format2[sub.service] = await format2_from(self.js, prefix, sub.service, self.keys)
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
        lag_due = 0.0
        while True:
            if time.monotonic() >= lag_due:
                lag_due = time.monotonic() + metrics.CONSUMER_LAG_EVERY
                await self._observe_lag(sub, psub)
            try:
                msgs = await psub.fetch(batch=50, timeout=5)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except Exception as exc:  # noqa: BLE001 - connection trouble: back off, keep going
                log(logger, "fetch failed", logging.WARNING, consumer=sub.name, error=repr(exc))
                await asyncio.sleep(1)
                continue
            await self._handle_batch(sub, msgs)

    @staticmethod
    async def _observe_lag(sub: Subscription, psub: Any) -> None:
        """The consumer's JetStream counts, on its gauges; a failure leaves the last values."""
        try:
            info = await psub.consumer_info()
        except Exception as exc:  # noqa: BLE001 - a metric never stops the consumer
            logger.debug("consumer info of %s failed: %r", sub.name, exc)
            return
        metrics.pending(sub.name).set(info.num_pending or 0)
        metrics.ack_pending(sub.name).set(info.num_ack_pending or 0)

    async def _boundary(self, sub: Subscription, data: bytes) -> int | None:
        """Where format 2 began on the subscription's stream; read again while unknown and a
        format-1 event arrives (at an upgrade the publisher may record it a moment later)."""
        known = self._format2.get(sub.service)
        if known is None and is_format1(data):
            known = await format2_from(self.js, self.settings.bus_prefix, sub.service, self.keys)
            self._format2[sub.service] = known
        return known

    async def _handle_batch(self, sub: Subscription, msgs: list[Msg]) -> None:
        """A fetched batch: each event authenticated (an unauthentic one dead-lettered), then all
        applied in one worker thread, one transaction per run of events with the same target
        tenant (issue 11: a thread hop and a commit per event were most of a consumer's cost),
        then each acknowledged. If any of them fails, the batch's transactions that failed roll
        back and every event is handled on its own (``_handle_one``), so only the failing one
        is retried or dead-lettered; those already committed are found in the inbox."""
        ready: list[tuple[Msg, str, events_pb2.Envelope]] = []
        for msg in msgs:
            tenant = msg.subject.split(".")[1]
            try:
                env = authenticate(msg.data, subject=msg.subject, keys=self.keys,
                                   stream_seq=msg.metadata.sequence.stream or 0,
                                   format2_from=await self._boundary(sub, msg.data))
            except Unauthentic as exc:
                await self._settle(sub, msg, self._dead_letter(sub, msg, tenant, exc))
                continue
            ready.append((msg, tenant, env))
        if not ready:
            return
        try:
            applied = await asyncio.to_thread(self._apply_all, sub, ready)
        except Exception:  # noqa: BLE001 - one of them failed: each on its own now
            for msg, tenant, env in ready:
                await self._handle_one(sub, msg, tenant, env)
            return
        for (msg, tenant, env), was_applied in zip(ready, applied, strict=True):
            await self._acknowledge(sub, msg, tenant, env, was_applied)

    async def _handle_one(self, sub: Subscription, msg: Msg, tenant: str,
                          env: events_pb2.Envelope) -> None:
        try:
            applied = await asyncio.to_thread(self._apply_all, sub, [(msg, tenant, env)])
            await self._acknowledge(sub, msg, tenant, env, applied[0])
        except Exception as exc:  # noqa: BLE001 - one bad event must not stop the consumer
            await self._settle(sub, msg, self._failed(sub, msg, tenant, exc))

    async def _acknowledge(self, sub: Subscription, msg: Msg, tenant: str,
                           env: events_pb2.Envelope, applied: bool) -> None:
        await msg.ack()
        if applied:
            metrics.applied(sub.name).inc()
        with within((msg.headers or {}).get("traceparent", "")):  # the line names its trace
            log(logger, "event consumed", consumer=sub.name, event_id=env.event_id,
                type=env.type, tenant=tenant, applied=applied)

    @staticmethod
    async def _settle(sub: Subscription, msg: Msg, step: Awaitable[None]) -> None:
        try:
            await step
        except Exception as nats_exc:  # noqa: BLE001 - unacked: redelivered after ack_wait
            log(logger, "could not settle a failed event", logging.WARNING,
                consumer=sub.name, subject=msg.subject, error=repr(nats_exc))

    async def _dead_letter(self, sub: Subscription, msg: Msg, tenant: str,
                           exc: Exception) -> None:
        """Park the event's bytes as received on the dead-letter subject, with why. The headers
        are built here, not copied: a sender's headers (``Nats-Expected-Stream``,
        ``Nats-Msg-Id``, …) must not steer the dead-letter publish away, nor de-duplicate it."""
        reason = getattr(exc, "reason", "") or getattr(exc, "code", "") or type(exc).__name__
        log(logger, "event dead-lettered", logging.ERROR, consumer=sub.name,
            subject=msg.subject, reason=reason, error=repr(exc))
        received = msg.headers or {}
        headers = {"Gl-Error": repr(exc)[:500], "Gl-Reason": reason, "Gl-Subject": msg.subject,
                   "Nats-Msg-Id": f"{sub.name}:{uuid.uuid4()}"}
        if "traceparent" in received:
            headers["traceparent"] = received["traceparent"][:64]
        await self.js.publish(dead_letter_subject(self.settings.bus_prefix, sub.name, tenant),
                              msg.data, headers=headers)
        metrics.dead_letters(sub.name).inc()
        await msg.term()

    async def _failed(self, sub: Subscription, msg: Msg, tenant: str, exc: Exception) -> None:
        """Retry later with back-off, or, after the last attempt, dead-letter it."""
        delivered = msg.metadata.num_delivered if msg.metadata else 1
        if delivered >= self.settings.consumer_max_deliver:
            await self._dead_letter(sub, msg, tenant, exc)
        else:
            await msg.nak(delay=min(2 ** delivered, 30))
            log(logger, "event failed, will retry", logging.WARNING, consumer=sub.name,
                subject=msg.subject, delivered=delivered, error=repr(exc))

    def _apply_all(self, sub: Subscription,
                   batch: list[tuple[Msg, str, events_pb2.Envelope]]) -> list[bool]:
        """Each event's effect and inbox row, one transaction per run of consecutive events with
        the same target tenant; per event, False when it was seen before or is of a class this
        subscription does not handle. Each runs inside its trace (the ``traceparent`` it came
        with), so what its handler records carries the trace on."""
        plans = [(msg, env, self._plan(sub, tenant, env)) for msg, tenant, env in batch]
        results: list[bool] = []
        for target, run in itertools.groupby(plans, key=lambda p: p[2][0] if p[2] else None):
            events = list(run)
            if target is None:  # nobody here handles their class
                results += [False] * len(events)
                continue
            with tenant_scope(target), self.session_for(target) as session:
                results += [self._apply(sub, session, msg, env, plan)  # type: ignore[arg-type]
                            for msg, env, plan in events]
        return results

    def _plan(self, sub: Subscription, tenant: str, env: events_pb2.Envelope,
              ) -> tuple[str, Event[Any], Handler] | None:
        """Where the event takes effect, the event and its handler; None when unhandled. A
        target other than the event's tenant must be a declared crossing."""
        found = sub.dispatch(env)
        if found is None:
            return None
        event, handler = found
        target = sub.route(event) if sub.route else tenant
        if target != tenant:
            crossing = crossing_for_effect(env.type, tenant, target)
            if crossing is None:
                raise DomainError("crossing.undeclared", Kind.FORBIDDEN, event=env.type,
                                  source=tenant, target=target)
            log(logger, "cross-tenant effect", crossing=crossing.name, source=tenant,
                target=target, event_id=env.event_id)
        return target, event, handler

    def _apply(self, sub: Subscription, session: Session, msg: Msg, env: events_pb2.Envelope,
               plan: tuple[str, Event[Any], Handler]) -> bool:
        _target, event, handler = plan
        parent = (msg.headers or {}).get("traceparent", "")
        with continued(f"consume {sub.name}", parent, trace.SpanKind.CONSUMER):
            if session.get(Inbox, (sub.name, env.event_id)) is not None:
                return False
            if self.settings.fault == "consumer_slow":
                time.sleep(0.02)  # test fault: make a batch last long enough to be killed in
            handler(self.runtime, session, event)
            session.add(Inbox(consumer=sub.name, event_id=env.event_id, processed_at=clock.now()))
            return True
