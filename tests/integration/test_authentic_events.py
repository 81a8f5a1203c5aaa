"""Authentic events across real processes (ARCHITECTURE §5, decision 0007).

The acceptance run published a hand-made ``unit.registered`` for tenant 330000 straight to NATS
and it reached the ministry's national view. Now a consumer applies only what the owning service
signed, on the subject it was signed for: everything else is dead-lettered with its reason.
"""

from __future__ import annotations

import asyncio
import uuid

import nats
import pytest

from generated.events.v1 import events_pb2 as ev
from services.kernel import signing
from services.kernel.bus import authentic, stream_name
from tests.helpers import factory, log_lines, login, nats_connect, wait_for

pytestmark = pytest.mark.stack

VIEWS = "gateway-views-registry"  # the gateway's read model, a consumer of registry's stream


def _view_count(stack, tenant: str) -> int:  # type: ignore[no-untyped-def]
    rows = login(stack, "ministry").get("/api/v1/national/views/units",
                                        params={"by": "tenant", "tenant": tenant}).json()
    return sum(r["units"] for r in rows)


def _forged_unit(tenant: str = "330000") -> ev.Envelope:
    env = ev.Envelope(event_id=str(uuid.uuid4()), tenant=tenant, service="registry",
                      type="unit.registered", seq=1,
                      actor=ev.Actor(subject="mallory", role="province", jurisdiction=tenant))
    env.occurred_at.GetCurrentTime()
    env.body.Pack(ev.UnitRegistered(unit_id=str(uuid.uuid4()), kind="factory",
                                    uscc="913300000000000000", name="不存在的工厂",
                                    location="330102", city="330100", industry="3311"))
    return env


def _publish_and_catch(stack, subject: str, data: bytes,  # type: ignore[no-untyped-def]
                       headers: dict[str, str] | None = None) -> nats.aio.msg.Msg:
    """Publish ``data`` straight to NATS on ``subject`` (with the sender's ``headers``); the
    read model's dead letter for it."""
    caught: list = []

    async def run() -> None:
        nc = await nats_connect(stack)  # admin: as if the NATS server had no users at all
        dlq = await nc.subscribe(f"{stack.bus_prefix}-dlq.{VIEWS}.>")
        await nc.flush()
        await nc.jetstream().publish(subject, data, headers={"Nats-Msg-Id": str(uuid.uuid4()),
                                                             **(headers or {})})
        while not caught:
            msg = await dlq.next_msg(timeout=40)
            if msg.headers.get("Gl-Subject") == subject and msg.data == data:
                caught.append(msg)
        await nc.close()

    asyncio.run(run())
    return caught[0]


def test_a_hand_made_unit_registered_never_reaches_the_national_view(stack):  # type: ignore[no-untyped-def]
    before = _view_count(stack, "330000")
    subject = f"{stack.bus_prefix}.330000.registry.unit.registered"
    forged = _forged_unit().SerializeToString()  # a bare envelope, as the acceptance run sent
    dead = _publish_and_catch(stack, subject, forged)
    assert dead.headers["Gl-Reason"] == "event.unsigned"
    assert "format 1 at stream seq" in dead.headers["Gl-Error"]
    # A real registration after it: once it shows, the forged one before it has been handled.
    zhejiang = login(stack, "zhejiang")
    r = zhejiang.post("/api/v1/tenants/330000/units",
                      json=factory(region="330100", location="330102"))
    assert r.status_code == 201, r.text
    wait_for(lambda: _view_count(stack, "330000") == before + 1)
    assert _view_count(stack, "330000") == before + 1
    refused = [line for line in log_lines(stack, "gateway")
               if line.get("msg") == "event dead-lettered"
               and line.get("subject") == subject and line.get("reason") == "event.unsigned"]
    assert refused, "a refused event is logged with its reason"


def test_a_signature_by_a_key_the_registry_never_published_is_refused(stack, tmp_path):  # type: ignore[no-untyped-def]
    before = _view_count(stack, "330000")
    env = _forged_unit()
    env.subject, env.format = f"{stack.bus_prefix}.330000.registry.unit.registered", 2
    data = env.SerializeToString()
    ring = signing.ensure(tmp_path / "mallory", "registry")
    ring.private = {"registry-99990101000000000000": next(iter(ring.private.values()))}
    forged = authentic.wire(data, *authentic.seal(data, ring))
    dead = _publish_and_catch(stack, env.subject, forged)
    assert dead.headers["Gl-Reason"] == "event.unknown_key"
    assert _view_count(stack, "330000") == before


def test_a_senders_headers_cannot_keep_a_refused_event_out_of_the_dead_letters(stack, tmp_path):  # type: ignore[no-untyped-def]
    """``Nats-Expected-Stream`` names the registry's stream: copied onto the dead-letter publish
    it made that publish fail, and the refused event vanished after redelivery, unlogged."""
    env = _forged_unit()
    env.subject, env.format = f"{stack.bus_prefix}.330000.registry.unit.registered", 2
    data = env.SerializeToString()
    ring = signing.ensure(tmp_path / "mallory", "registry")
    ring.private = {"registry-99990101000000000001": next(iter(ring.private.values()))}
    forged = authentic.wire(data, *authentic.seal(data, ring))
    steer = {"Nats-Expected-Stream": stream_name(stack.bus_prefix, "registry")}
    dead = _publish_and_catch(stack, env.subject, forged, headers=steer)
    assert dead.headers["Gl-Reason"] == "event.unknown_key"
    assert "Nats-Expected-Stream" not in dead.headers


def test_a_real_event_replayed_on_another_tenants_subject_is_refused(stack):  # type: ignore[no-untyped-def]
    """Genuinely signed by the registry for 320000, re-published on 330000's subject."""
    jiangsu = login(stack, "jiangsu")
    unit = jiangsu.post("/api/v1/tenants/320000/units", json=factory()).json()["unit"]
    before = _view_count(stack, "330000")
    own = f"{stack.bus_prefix}.320000.registry.unit.registered"

    async def last_registered() -> bytes:
        nc = await nats_connect(stack)
        js = nc.jetstream()
        stream = stream_name(stack.bus_prefix, "registry")
        for _ in range(100):
            msg = await js.get_last_msg(stream, own)
            if authentic.read(msg.data)[1].body.value and unit["id"].encode() in msg.data:
                break
            await asyncio.sleep(0.1)
        await nc.close()
        return msg.data

    real = asyncio.run(last_registered())
    assert authentic.read(real)[0] == 2  # what the relay publishes is signed
    dead = _publish_and_catch(stack, f"{stack.bus_prefix}.330000.registry.unit.registered", real)
    assert dead.headers["Gl-Reason"] == "event.subject_mismatch"
    assert _view_count(stack, "330000") == before


def test_format_two_begins_once_per_stream_where_the_publisher_says(stack, tmp_path):  # type: ignore[no-untyped-def]
    """The boundary below which format-1 (historic) events are still accepted on a rebuild: the
    publisher records it once, signed, as its stream's end at that moment; whoever can write the
    bucket can delete or overwrite it, but can only make format 1 refused, never accepted."""
    from services.kernel.bus import ensure_stream, format2_from, record_format2
    from services.kernel.bus.streams import formats_bucket

    keys_dir = tmp_path / "keys"
    history = signing.ensure(keys_dir, "history")
    keys = signing.PublicKeys(keys_dir)
    stream = stream_name(stack.bus_prefix, "history")

    async def run() -> list:
        nc = await nats_connect(stack)
        js = nc.jetstream()
        await ensure_stream(js, stack.bus_prefix, "history")
        for n in range(3):  # three events stored before this version
            env = _forged_unit("320000")
            env.service, env.seq = "history", n + 1
            await js.publish(f"{stack.bus_prefix}.320000.history.unit.registered",
                             env.SerializeToString())
        seen = [await format2_from(js, stack.bus_prefix, "history", keys)]  # not yet recorded
        seen.append(await record_format2(js, stack.bus_prefix, "history", history, keys,
                                         signed_before=False))
        await js.publish(f"{stack.bus_prefix}.320000.history.unit.registered", b"later")
        seen.append(await record_format2(js, stack.bus_prefix, "history", history, keys,
                                         signed_before=True))  # recorded: kept, never moved
        seen.append(await format2_from(js, stack.bus_prefix, "history", keys))
        kv = await js.key_value(formats_bucket(stack.bus_prefix))
        await kv.put(stream, b'{"from": 999999999, "key_id": "history-x", "signature": "AAAA"}')
        seen.append(await format2_from(js, stack.bus_prefix, "history", keys))  # forged: none
        await kv.put(stream, b"999999999")
        seen.append(await format2_from(js, stack.bus_prefix, "history", keys))  # garbage: none
        await kv.delete(stream)
        seen.append(await record_format2(js, stack.bus_prefix, "history", history, keys,
                                         signed_before=True))  # deleted after format 2 began
        seen.append(await format2_from(js, stack.bus_prefix, "history", keys))
        await nc.close()
        return seen

    assert asyncio.run(run()) == [None, 4, 4, 4, None, None, None, None]
    # events 1-3 may be format 1; none may once the record is forged, garbled or deleted


def test_the_registrys_stream_began_with_format_two(stack):  # type: ignore[no-untyped-def]
    """A stream created by this version: no format-1 event is accepted on it at all."""
    from services.kernel.bus import format2_from

    async def run() -> int | None:
        nc = await nats_connect(stack)
        began = await format2_from(nc.jetstream(), stack.bus_prefix, "registry",
                                   signing.PublicKeys(stack.var_dir / "keys"))
        await nc.close()
        return began

    assert wait_for(lambda: asyncio.run(run())) == 1


def test_what_an_earlier_version_left_unpublished_goes_out_below_the_boundary(stack, tmp_path):  # type: ignore[no-untyped-def]
    """An upgrade with format-1 rows still in the outbox (NATS was down, or the process died
    between commit and publish): the relay publishes them first and records the boundary after
    them, so consumers accept them instead of dead-lettering genuine events."""
    from pathlib import Path

    from sqlmodel import select

    from services.kernel import clock
    from services.kernel.bus import Outbox, Relay, ensure_stream, format2_from
    from services.kernel.bus.streams import formats_bucket
    from services.kernel.config import Settings
    from services.kernel.db import Database

    prefix = f"{stack.bus_prefix}up"  # a bus of its own on the stack's server
    settings = Settings(var_dir=tmp_path, tenants="320000", bus_prefix=prefix,
                        otel_exporter="none")
    db = Database(service="registry", settings=settings,
                  migrations=Path(__file__).resolve().parents[2] / "services/registry/migrations")
    db.onboard(["320000"])
    legacy = _forged_unit("320000")
    with db.session("320000", write=True) as s:
        s.add(Outbox(seq=1, event_id=legacy.event_id, type="unit.registered", format=1,
                     subject=f"{prefix}.320000.registry.unit.registered", hash="0" * 64,
                     payload=legacy.SerializeToString(), created_at=clock.now()))

    async def run() -> tuple[int | None, bytes]:
        nc = await nats_connect(stack)
        js = nc.jetstream()
        try:
            await ensure_stream(js, prefix, "registry")
            relay = Relay(db=db, js=js, settings=settings)
            task = asyncio.create_task(relay.run())
            keys = signing.PublicKeys(settings.keys)
            for _ in range(100):
                began = await format2_from(js, prefix, "registry", keys)
                if began is not None:
                    break
                await asyncio.sleep(0.1)
            task.cancel()
            first = await js.get_msg(stream_name(prefix, "registry"), 1)
            return began, first.data
        finally:
            await js.delete_stream(stream_name(prefix, "registry"))
            await js.delete_key_value(formats_bucket(prefix))
            await nc.close()

    began, first = asyncio.run(run())
    assert first == legacy.SerializeToString()  # published unsigned, as it was stored
    assert began == 2  # and below the boundary: a consumer accepts it
    with db.session("320000") as s:
        assert s.exec(select(Outbox.published_at)).one() is not None
    db.dispose()
