"""Subjects, streams and the connection to NATS (ARCHITECTURE §5)."""

from __future__ import annotations

import base64
import binascii
import json
import logging

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.kv import KeyValue
from nats.js.api import KeyValueConfig, StorageType, StreamConfig
from nats.js.errors import (
    BadRequestError,
    BucketNotFoundError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)

from services.kernel.config import Settings
from services.kernel.signing import KeyRing, PublicKeys
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


BOUNDARY_PURPOSE = b"greenladder.format2-boundary.v1"


def _boundary_bytes(stream: str, start: int) -> bytes:
    return f"{stream}:{start}".encode()


async def _formats(js: JetStreamContext, prefix: str, *, create: bool) -> KeyValue | None:
    bucket = formats_bucket(prefix)
    try:
        return await js.key_value(bucket)
    except BucketNotFoundError:
        if not create:
            return None
        return await js.create_key_value(KeyValueConfig(bucket=bucket, history=1,
                                                        storage=StorageType.FILE))


async def format2_from(js: JetStreamContext, prefix: str, service: str,
                       keys: PublicKeys) -> int | None:
    """The sequence of ``service``'s stream from which every event must be format 2 (signed):
    only events below it — stored before this version ran — may be format 1 (decision 0007).
    None when no valid record exists (absent, unreadable, or not signed by ``service``'s key):
    then no format-1 event is accepted at all. The record is the publisher's word, signed with
    its key: whoever can write the bucket cannot move it."""
    kv = await _formats(js, prefix, create=False)
    if kv is None:
        return None
    stream = stream_name(prefix, service)
    try:
        entry = await kv.get(stream)
    except KeyNotFoundError:
        return None
    try:
        record = json.loads(entry.value or b"")
        start, kid = int(record["from"]), str(record["key_id"])
        signature = base64.b64decode(record["signature"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        log(logger, "format 2 record unreadable", logging.CRITICAL, stream=stream)
        return None
    if not keys.verify(service, kid, _boundary_bytes(stream, start), signature,
                       purpose=BOUNDARY_PURPOSE):
        log(logger, "format 2 record not signed by its publisher", logging.CRITICAL,
            stream=stream, key_id=kid)
        return None
    return start


async def record_format2(js: JetStreamContext, prefix: str, service: str, ring: KeyRing,
                         keys: PublicKeys, *, signed_before: bool) -> int | None:
    """The publisher, once, before it publishes its first format-2 event: records that its
    stream is format 2 from its current end on, signed with its key. Never moved: an existing
    record is kept; and when the record is missing although this service has published format 2
    already (``signed_before``: someone deleted it), nothing is recorded — format 1 stays refused
    until an operator restores it (operator guide, Events)."""
    kv = await _formats(js, prefix, create=True)
    assert kv is not None
    stream = stream_name(prefix, service)
    try:
        await kv.get(stream)
        return await format2_from(js, prefix, service, keys)
    except KeyNotFoundError:
        pass
    if signed_before:
        log(logger, "format 2 record missing after format 2 began", logging.CRITICAL,
            stream=stream)
        return None
    start = (await js.stream_info(stream)).state.last_seq + 1
    kid, signature = ring.sign_bytes(_boundary_bytes(stream, start), purpose=BOUNDARY_PURPOSE)
    record = {"from": start, "key_id": kid, "signature": base64.b64encode(signature).decode()}
    try:
        await kv.create(stream, json.dumps(record).encode())
    except KeyWrongLastSequenceError:  # recorded meanwhile (another replica): theirs holds
        return await format2_from(js, prefix, service, keys)
    log(logger, "format 2 begins", stream=stream, stream_seq=start)
    return start
