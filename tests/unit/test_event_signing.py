"""Authentic events (services/kernel/bus/authentic.py, decision 0007): what a consumer accepts.

An envelope is signed by the service that emitted it over all of its bytes; the consumer checks
the signature against that service's public keys, the subject it arrived on and the tenant, and
accepts format 1 (unsigned, stored before format 2) only below the stream sequence where
format 2 began.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from generated.events.v1 import events_pb2 as ev
from services.kernel import clock, signing
from services.kernel.bus import authentic
from services.kernel.bus.authentic import Unauthentic, authenticate

SUBJECT = "gl.330000.registry.unit.registered"
BEGAN = 100  # format 2 began at stream sequence 100


@pytest.fixture
def keys(tmp_path: Path, clock_file: Path) -> Path:
    folder = tmp_path / "keys"
    signing.ensure(folder, "registry")
    signing.ensure(folder, "institutions")
    return folder


def envelope(subject: str = SUBJECT, **fields: object) -> ev.Envelope:
    _, tenant, service, event_type = subject.split(".", 3)
    env = ev.Envelope(event_id="e-1", tenant=tenant, service=service, type=event_type, seq=7,
                      subject=subject, format=authentic.FORMAT,
                      actor=ev.Actor(subject="u1", role="province", jurisdiction="330000"),
                      reason="because")
    env.occurred_at.FromDatetime(clock.now())
    env.body.Pack(ev.UnitRegistered(unit_id="U-1", kind="factory", location="330102"))
    for name, value in fields.items():
        setattr(env, name, value)
    return env


def format1() -> bytes:
    """An envelope as events were before format 2: no subject, no format, unsigned."""
    env = envelope()
    env.ClearField("subject")
    env.ClearField("format")
    return env.SerializeToString()


def signed(env: ev.Envelope, keys: Path, issuer: str = "") -> bytes:
    data = env.SerializeToString()
    return authentic.wire(data, *authentic.seal(data, signing.load(keys, issuer or env.service)))


def accept(data: bytes, keys: Path, *, subject: str = SUBJECT, seq: int = 500) -> ev.Envelope:
    return authenticate(data, subject=subject, keys=signing.PublicKeys(keys), stream_seq=seq,
                        format2_from=BEGAN)


def refusal(data: bytes, keys: Path, **kwargs: object) -> str:
    with pytest.raises(Unauthentic) as caught:
        accept(data, keys, **kwargs)  # type: ignore[arg-type]
    return caught.value.reason


def test_an_event_signed_by_its_service_is_accepted(keys: Path) -> None:
    env = accept(signed(envelope(), keys), keys)
    assert (env.tenant, env.service, env.type, env.event_id) == ("330000", "registry",
                                                                 "unit.registered", "e-1")


def test_the_hand_made_event_of_the_acceptance_run_is_refused(keys: Path) -> None:
    """A bare, unsigned unit.registered for 330000 published today (above the boundary)."""
    forged = format1()
    assert refusal(forged, keys) == "event.unsigned"


@pytest.mark.parametrize("field,value", [
    ("tenant", "320000"), ("type", "unit.renamed"), ("subject", "gl.320000.registry.unit.x"),
    ("service", "evaluation"), ("event_id", "e-2"), ("seq", 8), ("reason", "other"),
    ("actor", ev.Actor(subject="u2", role="ministry")),
])
def test_a_signature_covers_every_field_of_the_envelope(keys: Path, field: str,
                                                        value: object) -> None:
    good = ev.SignedEvent.FromString(signed(envelope(), keys))
    env = ev.Envelope.FromString(good.envelope)
    if isinstance(value, ev.Actor):
        env.actor.CopyFrom(value)
    else:
        setattr(env, field, value)
    good.envelope = env.SerializeToString()
    assert refusal(good.SerializeToString(), keys) in ("event.bad_signature",
                                                       "event.wrong_signer")


def test_time_and_body_are_covered_too(keys: Path) -> None:
    good = ev.SignedEvent.FromString(signed(envelope(), keys))
    for change in ("time", "body"):
        env = ev.Envelope.FromString(good.envelope)
        if change == "time":
            env.occurred_at.FromDatetime(clock.now() - timedelta(days=400))
        else:
            env.body.Pack(ev.UnitRegistered(unit_id="U-1", kind="factory", location="320102"))
        forged = ev.SignedEvent(format=2, envelope=env.SerializeToString(), key_id=good.key_id,
                                signature=good.signature)
        assert refusal(forged.SerializeToString(), keys) == "event.bad_signature"


def test_a_key_of_another_service_does_not_speak_for_the_registry(keys: Path) -> None:
    assert refusal(signed(envelope(), keys, issuer="institutions"), keys) == "event.wrong_signer"


def test_a_key_nobody_published_is_unknown(keys: Path, tmp_path: Path,
                                           clock_file: Path) -> None:
    stranger = tmp_path / "stranger"
    signing.ensure(stranger, "registry")  # the same key id as the real one: not its signature
    assert refusal(signed(envelope(), stranger), keys) == "event.bad_signature"
    clock.set_clock(clock_file, at=clock.now() + timedelta(days=1))
    signing.rotate(stranger, "registry")  # a key id the registry never published
    assert refusal(signed(envelope(), stranger), keys) == "event.unknown_key"


def test_missing_or_garbled_signatures_are_refused(keys: Path) -> None:
    data = envelope().SerializeToString()
    assert refusal(authentic.wire(data, "", b""), keys) == "event.unsigned"
    assert refusal(b"\x08\x02\x12\x03abc", keys) == "event.malformed"
    assert refusal(b"\x08\x07", keys) == "event.unknown_format"
    older = envelope(format=1).SerializeToString()  # the wrapper says 2, the envelope 1
    assert refusal(authentic.wire(older, *authentic.seal(older, signing.load(keys, "registry"))),
                   keys) == "event.malformed"


def test_an_event_on_another_subject_or_tenant_is_refused(keys: Path) -> None:
    data = signed(envelope(), keys)
    # Signed for 330000, re-published on 320000's subject: the subject it names is not this one.
    assert refusal(data, keys, subject="gl.320000.registry.unit.registered") == \
        "event.subject_mismatch"
    # Signed honestly, but its subject names another tenant than its envelope.
    lying = signed(envelope(subject=SUBJECT, tenant="320000"), keys)
    assert refusal(lying, keys) == "event.tenant_mismatch"


def test_format_one_is_accepted_only_from_before_format_two_began(keys: Path) -> None:
    historic = format1()
    assert accept(historic, keys, seq=BEGAN - 1).type == "unit.registered"  # a replayed stream
    assert refusal(historic, keys, seq=BEGAN) == "event.unsigned"
    # Even historic events must be in their own tenant's subject.
    assert refusal(historic, keys, seq=3, subject="gl.320000.registry.unit.registered") == \
        "event.tenant_mismatch"


def test_no_recorded_boundary_means_no_format_one_at_all(keys: Path) -> None:
    historic = format1()
    with pytest.raises(Unauthentic):
        authenticate(historic, subject=SUBJECT, keys=signing.PublicKeys(keys), stream_seq=1,
                     format2_from=0)


def test_rotation_keeps_what_was_signed_before_verifying(keys: Path, clock_file: Path) -> None:
    before = signed(envelope(), keys)
    clock.set_clock(clock_file, at=clock.now() + timedelta(days=1))
    new_kid = signing.rotate(keys, "registry")
    after = signed(envelope(), keys)
    assert ev.SignedEvent.FromString(after).key_id == new_kid
    verifier = signing.PublicKeys(keys)
    for data in (before, after):
        assert authenticate(data, subject=SUBJECT, keys=verifier, stream_seq=500,
                            format2_from=BEGAN).event_id == "e-1"


def test_a_consumer_picks_up_a_rotated_key_without_a_restart(keys: Path,
                                                            clock_file: Path) -> None:
    verifier = signing.PublicKeys(keys, reload_seconds=0)
    accept_with = lambda data: authenticate(data, subject=SUBJECT, keys=verifier,  # noqa: E731
                                            stream_seq=500, format2_from=BEGAN)
    accept_with(signed(envelope(), keys))
    clock.set_clock(clock_file, at=clock.now() + timedelta(days=1))
    signing.rotate(keys, "registry")
    assert accept_with(signed(envelope(), keys)).event_id == "e-1"


def test_a_removed_public_key_stops_verifying(keys: Path, clock_file: Path) -> None:
    """The compromise runbook: rotate, then remove the leaked key's public half."""
    leaked_kid = signing.load(keys, "registry").active_kid
    forged = signed(envelope(), keys)  # what the thief can sign
    clock.set_clock(clock_file, at=clock.now() + timedelta(days=1))
    signing.rotate(keys, "registry")
    for suffix in (".key.pem", ".pub.pem"):
        (keys / "registry" / f"{leaked_kid}{suffix}").unlink()
    assert refusal(forged, keys) == "event.unknown_key"
    assert accept(signed(envelope(), keys), keys).event_id == "e-1"
    shutil.rmtree(keys / "registry")
    assert refusal(forged, keys) == "event.unknown_key"


def test_a_running_consumer_stops_trusting_a_removed_key(keys: Path) -> None:
    verifier = signing.PublicKeys(keys, max_age_seconds=0)  # a minute in production
    data = signed(envelope(), keys)
    check = lambda: authenticate(data, subject=SUBJECT, keys=verifier,  # noqa: E731
                                 stream_seq=500, format2_from=BEGAN)
    check()
    for pub in (keys / "registry").glob("*.pub.pem"):
        pub.unlink()
    with pytest.raises(Unauthentic):
        check()


def test_read_opens_both_formats_without_verifying(keys: Path) -> None:
    assert authentic.read(signed(envelope(), keys))[0] == 2
    fmt, env = authentic.read(format1())
    assert fmt == 1 and env.type == "unit.registered"


def test_without_a_signed_record_of_where_format_two_began_no_format_one_is_accepted(
        keys: Path) -> None:
    """No record, or one that is not the publisher's (``format2_from`` None): format 1 is
    refused at any stream sequence, even the first."""
    with pytest.raises(Unauthentic) as caught:
        authenticate(format1(), subject=SUBJECT, keys=signing.PublicKeys(keys), stream_seq=1,
                     format2_from=None)
    assert caught.value.reason == "event.unsigned"
