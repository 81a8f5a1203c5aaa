"""Authentic events (ARCHITECTURE §5, decision 0007): every envelope is signed by the service
that emitted it, and a consumer verifies it before anything is applied.

Format 2 (from 2026-11): the bus carries a ``SignedEvent`` — the ``Envelope`` bytes exactly as
stored and chained, the emitting service's key id and an Ed25519 signature over those bytes. The
signature covers all of the envelope: tenant, type, subject, service, event id, seq, time, actor,
reason, body. Format 1 (before): bare, unsigned ``Envelope`` bytes; accepted only from the part of
a stream stored before format 2 began there (``streams.format2_from``, the publisher's
signed record), so a stream can still be
replayed into a rebuilt read model but a format-1 event forged today is refused.

``authenticate`` raises ``Unauthentic`` with a reason code; the consumer dead-letters the event
with that reason and never applies it.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError

from generated.events.v1 import events_pb2
from services.kernel.signing import KeyRing, PublicKeys

FORMAT = 2
PURPOSE = b"greenladder.event.v2"   # what an event signature is for: never valid as anything else


class Unauthentic(Exception):
    """An event that cannot be shown to come from its service; ``reason`` is a code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


def seal(envelope: bytes, ring: KeyRing) -> tuple[str, bytes]:
    """(key id, signature) of the emitting service over the envelope's bytes."""
    return ring.sign_bytes(envelope, purpose=PURPOSE)


def wire(envelope: bytes, key_id: str, signature: bytes) -> bytes:
    """The bytes the relay publishes for a format-2 event."""
    return events_pb2.SignedEvent(format=FORMAT, envelope=envelope, key_id=key_id,
                                  signature=signature).SerializeToString()


def read(data: bytes) -> tuple[int, events_pb2.Envelope]:
    """The format and the envelope of bus bytes, unverified (to inspect a dead letter)."""
    signed = _signed(data)
    if signed is not None:
        return signed.format, events_pb2.Envelope.FromString(signed.envelope)
    return 1, events_pb2.Envelope.FromString(data)


def is_format1(data: bytes) -> bool:
    return _signed(data) is None


def authenticate(data: bytes, *, subject: str, keys: PublicKeys, stream_seq: int,
                 format2_from: int | None) -> events_pb2.Envelope:
    """The envelope of an event received on ``subject`` at ``stream_seq`` of its stream, once it
    is shown to be authentic; ``Unauthentic`` otherwise. ``format2_from``: where format 2 began
    on the stream by its publisher's signed record, None without one (no format 1 accepted)."""
    signed = _signed(data)
    if signed is None:
        if format2_from is None or stream_seq >= format2_from:
            raise Unauthentic("event.unsigned", f"format 1 at stream seq {stream_seq}; format 2 "
                                                f"began at {format2_from or 'the start'}")
        env = _envelope(data)
    else:
        env = _verified(signed, keys)
        if env.subject != subject:
            raise Unauthentic("event.subject_mismatch",
                              f"signed for {env.subject!r}, arrived on {subject!r}")
    routed_on(env, subject)
    return env


def routed_on(env: events_pb2.Envelope, subject: str) -> None:
    """The subject ``<prefix>.<tenant>.<service>.<type>`` names the envelope's own tenant,
    service and type: an event is never applied in a tenant it was not written for."""
    parts = subject.split(".", 3)
    if len(parts) != 4 or parts[1] != env.tenant:
        raise Unauthentic("event.tenant_mismatch", f"envelope of tenant {env.tenant!r} on "
                                                   f"{subject!r}")
    if parts[2] != env.service or parts[3] != env.type:
        raise Unauthentic("event.subject_mismatch", f"{env.service} {env.type} on {subject!r}")


def _signed(data: bytes) -> events_pb2.SignedEvent | None:
    """The SignedEvent, or None for format-1 bytes (an Envelope: its field 1 is a string, so it
    never parses as a SignedEvent with a format)."""
    try:
        signed = events_pb2.SignedEvent.FromString(data)
    except DecodeError:
        return None
    return signed if signed.format >= FORMAT else None


def _verified(signed: events_pb2.SignedEvent, keys: PublicKeys) -> events_pb2.Envelope:
    if signed.format != FORMAT:
        raise Unauthentic("event.unknown_format", str(signed.format))
    env = _envelope(signed.envelope)
    if env.format != signed.format:
        raise Unauthentic("event.malformed", "envelope and wrapper name different formats")
    if not signed.key_id or not signed.signature:
        raise Unauthentic("event.unsigned", "format 2 without a signature")
    issuer = env.service
    if keys.verify(issuer, signed.key_id, signed.envelope, signed.signature, purpose=PURPOSE):
        return env
    if signed.key_id not in keys.ring(issuer, kid=signed.key_id).public:
        other = signed.key_id.split("-", 1)[0]
        if other != issuer and signed.key_id in keys.ring(other, kid=signed.key_id).public:
            raise Unauthentic("event.wrong_signer", f"{signed.key_id} is {other}'s key, the "
                                                    f"envelope names {issuer}")
        raise Unauthentic("event.unknown_key", f"{signed.key_id} is not a key of {issuer}")
    raise Unauthentic("event.bad_signature", f"{signed.key_id} did not sign these bytes")


def _envelope(data: bytes) -> events_pb2.Envelope:
    try:
        return events_pb2.Envelope.FromString(data)
    except DecodeError as exc:
        raise Unauthentic("event.malformed", str(exc)) from None
