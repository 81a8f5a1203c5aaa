"""What a running process holds, and the one seam between gRPC and use cases.

- ``Runtime``: name, settings, storage and the catalogue of events the process publishes; handed
  to every use case and every event handler.
- ``Servicer``: the base of every gRPC servicer; ``_run`` and ``_read`` call a use case with the
  verified caller and the tenant of the call, ``_stream`` one that answers a server stream.
- ``create_once``: the idempotent create every service needs (a retry or a concurrent twin returns
  the first record).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.kernel import bus, signing, telemetry
from services.kernel.config import Settings
from services.kernel.db import Database
from services.kernel.identity import current_identity
from services.kernel.tenancy import current_tenant

logger = logging.getLogger("greenladder.service")
T = TypeVar("T")
STREAM_BATCH = 100  # records a streaming use case hands over per thread hop (``Servicer._stream``)


@dataclass
class Runtime:
    """What a running service holds; handed to its use cases and event handlers."""

    name: str
    settings: Settings
    db: Database
    publishes: bus.Catalogue

    def record(self, session: Session, body: Message, reason: str = "", *,
               tenant: str = "") -> None:
        """Write a domain event into the outbox of the session's tenant (the call's, unless the
        session is another tenant's under a declared store crossing), in the caller's transaction.
        Its type is the one this service declares for the message's class."""
        event_type = self.publishes.type_of(body)
        env = bus.record_event(
            session,
            tenant=tenant or current_tenant(),
            actor_tenant=current_tenant(),
            service=self.name,
            prefix=self.settings.bus_prefix,
            event_type=event_type,
            body=body,
            reason=reason,
            signer=signing.signer(self.settings.keys, self.name),  # its own key (decision 0007)
        )
        telemetry.log(logger, "event recorded", type=event_type, event_id=env.event_id,
                      seq=env.seq)


class Servicer:
    """The base of a service's gRPC servicer: proto in, use case, proto out."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    async def _run(self, fn: Callable[..., T], **kwargs: Any) -> T:
        """A use case, in a worker thread, as the verified caller in the tenant of the call."""
        return await asyncio.to_thread(
            fn, self.rt, ident=current_identity(), tenant=current_tenant(), **kwargs)

    async def _read(self, fn: Callable[..., T], **kwargs: Any) -> T:
        """A read. On SQLite it takes well under a millisecond of CPU: run it on the loop rather
        than pay a thread hop; PostgreSQL reads wait on the network, so they go to a thread."""
        if self.rt.db.is_postgres:
            return await self._run(fn, **kwargs)
        return fn(self.rt, ident=current_identity(), tenant=current_tenant(), **kwargs)

    async def _stream(self, fn: Callable[..., Iterator[T]], *, batch: int = STREAM_BATCH,
                      **kwargs: Any) -> AsyncIterator[T]:
        """A use case answering many records, for a server-streaming method. ``fn`` checks the
        call and returns an iterator, so its refusals reach the caller as a clean status before
        any record; the records are then pulled ``batch`` at a time in a worker thread (the
        database work stays off the event loop) and yielded one by one, so memory holds one batch
        however many there are. A stream left early closes the iterator (and with it the use
        case's session), unless a worker thread is still pulling: it is closed when collected."""
        records = await self._run(fn, **kwargs)
        try:
            while chunk := await asyncio.to_thread(_take, records, batch):
                for record in chunk:
                    yield record
        finally:
            close = getattr(records, "close", None)
            if close is not None:
                with contextlib.suppress(ValueError):  # "generator already executing"
                    close()


def _take(records: Iterator[T], n: int) -> list[T]:
    return list(itertools.islice(records, n))


def create_once(db: Database, tenant: str, *, find: Callable[[Session], T | None],
                create: Callable[[Session], T]) -> tuple[T, bool]:
    """``find`` the record, or ``create`` it, in one write transaction of ``tenant``: the record
    and whether it is new. A concurrent create of the same key that commits first makes ours
    fail on the unique constraint (PostgreSQL): then the winner is returned."""
    try:
        with db.session(tenant, write=True) as s:
            found = find(s)
            if found is not None:
                return found, False
            return create(s), True
    except IntegrityError:
        with db.session(tenant) as s:
            found = find(s)
        if found is None:
            raise
        return found, False
