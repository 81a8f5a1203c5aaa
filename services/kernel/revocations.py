"""Ended sessions, heard by every service (decision 0009).

When an account logs out, changes or resets its password, or is disabled, the gateway records a
``SessionsRevoked {subject, not_before_ms}`` event, signed with its key, in its outbox. Every
service follows the gateway's stream from here and keeps ``subject → not_before`` in
``identity.REVOKED``; verifying an internal token then refuses one issued to that subject before
(``auth.token_revoked``): a captured internal token stops working at once, not when it expires.

Only the last ``internal_token_seconds`` (+ a margin) of revocations can still matter — older
tokens have expired — so the follower is an ephemeral, ordered consumer that starts that far
back: a restarted service replays them before it serves its first call (``start``). Events are
authenticated like every other (``bus.authenticate``: the gateway's signature, the subject they
arrived on; format 1 never); one that is not is logged and ignored. Every gateway follows them
too, with its own ``apply`` step (``Auth.apply_revocation``): a logout at one gateway ends the
login token at all of them. The follower only reads the gateway's stream, never creates it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from generated.events.v1 import events_pb2 as ev
from services.kernel import signing
from services.kernel.bus.authentic import Unauthentic, authenticate
from services.kernel.bus.contract import GATEWAY
from services.kernel.bus.events import message_name
from services.kernel.bus.streams import stream_name
from services.kernel.config import Settings
from services.kernel.identity import REVOKED, Revocations
from services.kernel.telemetry import log

logger = logging.getLogger("greenladder.revocations")
MARGIN_SECONDS = 120      # clocks and a slow relay: replay a little more than a token lives
READY_SECONDS = 10.0      # how long a starting service waits for the replay before serving
STREAM_WAIT_SECONDS = 2.0  # how often to look again for a gateway stream not created yet


def replay_from(settings: Settings, now: datetime) -> datetime:
    """Where the replay starts (the stream's own time): as far back as a token can live."""
    return now - timedelta(seconds=settings.internal_token_seconds + MARGIN_SECONDS)


def revocation_of(env: ev.Envelope) -> ev.SessionsRevoked | None:
    """The revocation an authentic gateway envelope carries; None for any other event."""
    if env.service != GATEWAY.service or env.body.TypeName() != message_name(ev.SessionsRevoked):
        return None
    body = ev.SessionsRevoked()
    if not env.body.Unpack(body) or not body.subject:
        return None
    return body


Apply = Callable[[ev.SessionsRevoked], None]


def into(revoked: Revocations) -> Apply:
    """A service's step: the subject's internal tokens issued before the instant are refused.
    (The gateway's own step, ``Auth.apply_revocation``, also ends the logged-out login token.)"""
    return lambda body: revoked.revoke(body.subject, body.not_before_ms)


class Follower:
    """Follows the gateway's revocations, handing each authentic one to ``apply``: a service
    keeps them in ``REVOKED``; every gateway feeds its ``Auth`` (so a logout at one gateway
    ends the token at all of them)."""

    def __init__(self, js: JetStreamContext, settings: Settings,
                 apply: Apply | None = None) -> None:
        self.js = js
        self.settings = settings
        if apply is None:
            REVOKED.keep_ms = (settings.internal_token_seconds + MARGIN_SECONDS) * 1000
            apply = into(REVOKED)
        self.apply = apply
        self.keys = signing.PublicKeys(settings.keys)
        self.caught_up = asyncio.Event()

    async def run(self) -> None:
        """Never ends on its own: NATS away or the stream missing, it starts over (replaying
        the window again is harmless: a revocation only ever moves forward)."""
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                log(logger, "revocation follower restarting", logging.ERROR, error=repr(exc))
                await asyncio.sleep(2)

    async def _wait_for_stream(self, name: str) -> None:
        """The gateway creates its stream; the follower only reads it (a service may not
        create or change it: a difference of configuration would fail it for ever). Until it
        exists, nothing was ever revoked: nothing to replay."""
        while True:
            try:
                await self.js.stream_info(name)
                return
            except NotFoundError:
                self.caught_up.set()
                await asyncio.sleep(STREAM_WAIT_SECONDS)

    async def _follow(self) -> None:
        prefix = self.settings.bus_prefix
        stream = stream_name(prefix, GATEWAY.service)
        await self._wait_for_stream(stream)
        filter_subject = f"{prefix}.*.{GATEWAY.service}.{GATEWAY.type_of(ev.SessionsRevoked())}"
        sub = await self.js.subscribe(
            filter_subject, stream=stream, ordered_consumer=True,
            deliver_policy=DeliverPolicy.BY_START_TIME,
            config=ConsumerConfig(opt_start_time=replay_from(self.settings, datetime.now(UTC))),
        )
        try:
            info = await sub.consumer_info()
            if info.num_pending == 0 and not (info.delivered and info.delivered.stream_seq):
                self.caught_up.set()  # nothing to replay
            async for msg in sub.messages:
                self._apply(msg.data, msg.subject, msg.metadata.sequence.stream,
                            msg.metadata.num_pending)
        finally:
            await sub.unsubscribe()

    def _apply(self, data: bytes, subject: str, stream_seq: int, num_pending: int) -> None:
        """Hand an authentic revocation to ``apply``; log and ignore anything else."""
        try:
            env = authenticate(data, subject=subject, keys=self.keys, stream_seq=stream_seq,
                               format2_from=None)
            body = revocation_of(env)
            if body is not None:
                self.apply(body)
                log(logger, "sessions revoked", subject=body.subject, reason=body.reason,
                    not_before_ms=body.not_before_ms)
        except Unauthentic as exc:
            log(logger, "unauthentic revocation ignored", logging.ERROR, subject=subject,
                reason=exc.reason, error=str(exc))
        if num_pending == 0:
            self.caught_up.set()


async def start(js: JetStreamContext, settings: Settings,
                apply: Apply | None = None) -> asyncio.Task[None]:
    """Start following revocations and wait (at most ``READY_SECONDS``) until the recent ones
    are replayed, so a restarted process never serves a token revoked while it was down."""
    follower = Follower(js, settings, apply)
    task = asyncio.create_task(follower.run())
    try:
        await asyncio.wait_for(follower.caught_up.wait(), READY_SECONDS)
    except TimeoutError:
        log(logger, "revocations not replayed yet; serving anyway", logging.WARNING)
    return task
