"""Subjects, streams and the connection to NATS (ARCHITECTURE §5)."""

from __future__ import annotations

import logging

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType, StreamConfig
from nats.js.errors import (
    BadRequestError,
    BucketNotFoundError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)

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


_warned_anonymous = False


def nats_credentials(settings: Settings) -> dict[str, str]:
    """This process's NATS user and password from its settings; empty when it has none."""
    password = settings.nats_password
    if settings.nats_password_file is not None:
        password = settings.nats_password_file.read_text(encoding="utf-8").strip()
    return {"user": settings.nats_user, "password": password} if settings.nats_user else {}


async def connect(settings: Settings, name: str) -> NATS:
    """Connect as this process's own NATS user, replies under ``_INBOX.<name>.>`` (the only
    subjects its user may subscribe to). Without a user — an external NATS whose operator gave
    none — it connects anonymously and says so once: envelopes are still signed and verified,
    but the server no longer keeps one service off another's subjects."""
    global _warned_anonymous

    async def on_error(exc: Exception) -> None:
        log(logger, "nats error", logging.WARNING, error=str(exc))

    credentials = nats_credentials(settings)
    if not credentials and not _warned_anonymous:
        _warned_anonymous = True
        log(logger, "nats without credentials", logging.WARNING, process=name,
            url=settings.nats_url,
            consequence="any client of this server may publish on any subject; "
                        "events are still signed and verified",
            fix="set GL_NATS_USER and GL_NATS_PASSWORD_FILE (operator guide, NATS)")
    return await nats.connect(
        settings.nats_url,
        name=name,
        inbox_prefix=f"_INBOX.{name}",
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=2,
        error_cb=on_error,
        **credentials,
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


def formats_bucket(prefix: str) -> str:
    return stream_name(prefix, "event_formats")


async def format2_began(js: JetStreamContext, prefix: str, service: str) -> int:
    """The sequence of ``service``'s stream from which every event must be format 2 (signed).

    Recorded once per stream in a JetStream KV bucket by whichever process of this version
    touches the stream first (its publisher's relay or a consumer): the stream's last sequence
    + 1 at that moment. Only events below it — stored before this version ran — may be format 1
    (decision 0007); a format-1 event published later lands above it and is refused."""
    bucket = formats_bucket(prefix)
    try:
        kv = await js.key_value(bucket)
    except BucketNotFoundError:
        kv = await js.create_key_value(KeyValueConfig(bucket=bucket, history=1,
                                                      storage=StorageType.FILE))
    key = stream_name(prefix, service)
    try:
        return int((await kv.get(key)).value or b"0")
    except KeyNotFoundError:
        pass
    start = (await js.stream_info(key)).state.last_seq + 1
    try:
        await kv.create(key, str(start).encode())
    except KeyWrongLastSequenceError:  # another process recorded it first: theirs holds
        return int((await kv.get(key)).value or b"0")
    log(logger, "format 2 begins", stream=key, stream_seq=start)
    return start
