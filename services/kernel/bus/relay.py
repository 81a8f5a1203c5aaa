"""The relay: publishes each tenant's outbox with ``Nats-Msg-Id`` = event id. It is woken when a
transaction commits an event and otherwise polls slowly, so an idle stack costs nothing.

A format-2 row goes out as the signed bytes (``authentic.wire``). At start the relay first
publishes what an earlier version left unpublished (format 1, unsigned), and only then records,
signed with the service's key, that its stream is format 2 from its end on
(``streams.record_format2``): so nothing genuine lands above the boundary unsigned."""

from __future__ import annotations

import asyncio
import logging
import os

from nats.js import JetStreamContext
from sqlalchemy import update
from sqlmodel import select

from services.kernel import clock, metrics, signing
from services.kernel.bus.authentic import wire
from services.kernel.bus.outbox import Outbox
from services.kernel.bus.streams import record_format2
from services.kernel.config import Settings
from services.kernel.db import Database
from services.kernel.telemetry import log

logger = logging.getLogger("greenladder.bus")


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
        metrics.watch_outbox(db)  # the backlog is counted at scrape time

    def wake(self, tenant: str) -> None:
        """Called after a commit, from whichever thread committed."""
        self._loop.call_soon_threadsafe(self._wake, tenant)

    def _wake(self, tenant: str) -> None:
        self._dirty.add(tenant)
        self._event.set()

    async def run(self) -> None:
        while True:  # no format-2 event goes out before the stream knows where format 2 began
            try:
                for tenant in self.db.tenants():
                    await self._drain(tenant, formats=(1,))
                signed_before = await asyncio.to_thread(self._signed_before)
                await record_format2(self.js, self.settings.bus_prefix, self.db.service,
                                     signing.signer(self.settings.keys, self.db.service),
                                     signing.PublicKeys(self.settings.keys),
                                     signed_before=signed_before)
                break
            except Exception as exc:  # noqa: BLE001 - NATS down: try again
                log(logger, "relay waiting for NATS", logging.WARNING, error=repr(exc))
                await asyncio.sleep(1)
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

    async def _drain(self, tenant: str, formats: tuple[int, ...] = (1, 2)) -> None:
        while True:
            rows = await asyncio.to_thread(self._pending, tenant, formats)
            if not rows:
                return
            for row in rows:
                headers = {"Nats-Msg-Id": row.event_id}
                if row.traceparent:
                    headers["traceparent"] = row.traceparent
                data = row.payload if row.format == 1 else wire(row.payload, row.key_id,
                                                                 row.signature or b"")
                await self.js.publish(row.subject, data, headers=headers, timeout=5)
                metrics.published(row.type)
                if self.settings.fault == "relay_exit_after_publish":
                    os._exit(17)  # test fault: die between publish and mark
            await asyncio.to_thread(self._mark, tenant, [r.seq for r in rows])

    def _pending(self, tenant: str, formats: tuple[int, ...]) -> list[Outbox]:
        with self.db.session(tenant) as s:
            return list(s.exec(
                select(Outbox).where(Outbox.published_at.is_(None))  # type: ignore[union-attr]
                .where(Outbox.format.in_(formats))  # type: ignore[attr-defined]
                .order_by(Outbox.seq).limit(200)))

    def _signed_before(self) -> bool:
        """Whether this service has published a format-2 event already, in any tenant."""
        for tenant in self.db.tenants():
            with self.db.session(tenant) as s:
                if s.exec(select(Outbox.seq).where(Outbox.format == 2)
                          .where(Outbox.published_at.is_not(None)).limit(1)).first():  # type: ignore[union-attr]
                    return True
        return False

    def _mark(self, tenant: str, seqs: list[int]) -> None:
        """The batch published, in one statement (not a loaded row and an UPDATE per event)."""
        with self.db.session(tenant, write=True) as s:
            s.execute(update(Outbox).where(Outbox.seq.in_(seqs))  # type: ignore[attr-defined]
                      .values(published_at=clock.now()))
