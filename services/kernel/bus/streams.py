"""Subjects, streams and the connection to NATS (ARCHITECTURE §5)."""

from __future__ import annotations

import logging

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError

from services.kernel.config import Settings
from services.kernel.telemetry import log

logger = logging.getLogger("greenladder.bus")


def stream_name(prefix: str, service: str) -> str:
    return service.upper() if prefix == "gl" else f"{prefix.upper()}_{service.upper()}"


def subject(prefix: str, tenant: str, service: str, event_type: str) -> str:
    return f"{prefix}.{tenant}.{service}.{event_type}"


def dead_letter_subject(prefix: str, consumer: str, tenant: str) -> str:
    # A first token of its own: a dead-letter subject never overlaps a service stream.
    return f"{prefix}-dlq.{consumer}.{tenant}"


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
