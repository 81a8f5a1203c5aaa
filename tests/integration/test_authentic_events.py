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


def _publish_and_catch(stack, subject: str, data: bytes) -> nats.aio.msg.Msg:  # type: ignore[no-untyped-def]
    """Publish ``data`` straight to NATS on ``subject``; the read model's dead letter for it."""
    caught: list = []

    async def run() -> None:
        nc = await nats_connect(stack)  # admin: as if the NATS server had no users at all
        dlq = await nc.subscribe(f"{stack.bus_prefix}-dlq.{VIEWS}.>")
        await nc.flush()
        await nc.jetstream().publish(subject, data, headers={"Nats-Msg-Id": str(uuid.uuid4())})
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


def test_format_two_begins_once_per_stream_where_the_stream_ended(stack):  # type: ignore[no-untyped-def]
    """The boundary below which format-1 (historic) events are still accepted on a rebuild:
    recorded once, by whoever comes first, as the stream's end at that moment."""
    from services.kernel.bus import ensure_stream, format2_began

    async def run() -> tuple[int, int, int]:
        nc = await nats_connect(stack)
        js = nc.jetstream()
        await ensure_stream(js, stack.bus_prefix, "history")
        for n in range(3):  # three events stored before this version
            env = _forged_unit("320000")
            env.service, env.seq = "history", n + 1
            await js.publish(f"{stack.bus_prefix}.320000.history.unit.registered",
                             env.SerializeToString())
        first = await format2_began(js, stack.bus_prefix, "history")
        await js.publish(f"{stack.bus_prefix}.320000.history.unit.registered", b"later")
        again = await format2_began(js, stack.bus_prefix, "history")
        registry = await format2_began(js, stack.bus_prefix, "registry")
        await nc.close()
        return first, again, registry

    first, again, registry = asyncio.run(run())
    assert first == again == 4  # events 1-3 may be format 1; 4 on may not, whenever asked
    assert registry == 1  # the registry's stream began with this version: no format 1 at all
