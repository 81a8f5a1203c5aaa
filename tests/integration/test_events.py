"""Events across real processes: outbox relay, consumers, crashes, traces (ARCHITECTURE §5, §9)."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid

import pytest

from generated.events.v1 import events_pb2 as ev
from services.kernel.bus import authentic
from services.kernel.identity import Grant
from tests.helpers import (
    Registry,
    factory,
    log_lines,
    login,
    nats_connect,
    publish_listing,
    register_pb,
    uscc,
    wait_for,
)

pytestmark = pytest.mark.stack

JS = (Grant("province", "320000"),)


def _view_count(stack, tenant: str) -> int:  # type: ignore[no-untyped-def]
    rows = login(stack, "ministry").get("/api/v1/national/views/units",
                                        params={"by": "tenant", "tenant": tenant}).json()
    return sum(r["units"] for r in rows)


def test_relay_killed_between_publish_and_mark_effect_happens_once(own_stack):  # type: ignore[no-untyped-def]
    stack = own_stack.start()
    province = login(stack, "jiangsu")
    # The registry now dies right after publishing its first event, before marking it sent.
    stack.restart("registry", GL_FAULT="relay_exit_after_publish")
    body = factory()
    r = province.post("/api/v1/tenants/320000/units", json=body)
    assert r.status_code in (201, 503), r.text  # the write was accepted even if the answer was lost
    proc = stack.procs["registry"]
    assert proc.wait(20) == 17, "the fault should have stopped the registry"
    stack.restart("registry")
    # The restarted relay publishes the same event again (same Nats-Msg-Id) ...
    unit = wait_for(lambda: province.get("/api/v1/tenants/320000/units",
                                         params={"uscc": body["uscc"]}).json()["units"])
    assert len(unit) == 1
    # ... and the consumer applied it exactly once.
    wait_for(lambda: _view_count(stack, "320000") == 1)
    registered = [line for line in log_lines(stack, "gateway")
                  if line.get("msg") == "event consumed" and line.get("type") == "unit.registered"]
    assert sum(1 for line in registered if line.get("applied")) == 1
    # Nothing left unpublished, and the chain is intact.
    chain = province.get("/api/v1/tenants/320000/audit/registry").json()
    assert chain["ok"] and int(chain["length"]) == 1


def test_consumer_killed_mid_batch_loses_nothing(own_stack):  # type: ignore[no-untyped-def]
    stack = own_stack.start()
    stack.stop_process("gateway", kill=True)
    reg = Registry(stack)
    for _ in range(150):
        reg.call("RegisterUnit", register_pb("320102"), tenant="320000", grants=JS)
    reg.close()
    # The consumer takes ~20 ms per event now: kill it while it is working through the batch.
    stack.start_process("gateway", GL_FAULT="consumer_slow")
    stack.wait_gateway()
    wait_for(lambda: any(line.get("msg") == "event consumed" for line in log_lines(stack, "gateway")))
    stack.stop_process("gateway", kill=True)
    consumed_before = sum(1 for line in log_lines(stack, "gateway")
                          if line.get("msg") == "event consumed" and line.get("applied"))
    assert 0 < consumed_before < 150, "the kill should land mid-batch"
    stack.start_process("gateway")
    stack.wait_gateway()
    wait_for(lambda: _view_count(stack, "320000") == 150, timeout=60)
    consumed = [line for line in log_lines(stack, "gateway")
                if line.get("msg") == "event consumed"]
    applied = [line["event_id"] for line in consumed if line.get("applied")]
    assert len(applied) == len(set(applied))  # no event's effect twice, across both lives
    assert len({line["event_id"] for line in consumed}) == 150  # every event reached the view
    # The consumer logs an event after committing its effect: events whose commit the kill
    # followed before their lines were written come back, are found in the inbox and are
    # logged once, as already applied. A fetched batch (at most 50) commits together, so at
    # most one batch is.
    assert 100 <= len(applied) <= 150


def test_one_trace_from_http_through_grpc_and_nats_to_the_consumer(stack):  # type: ignore[no-untyped-def]
    trace_id = uuid.uuid4().hex
    province = login(stack, "jiangsu")
    r = province.post("/api/v1/tenants/320000/units", json=factory(),
                      headers={"traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"})
    assert r.status_code == 201, r.text
    unit_id = r.json()["unit"]["id"]

    def consumed() -> bool:
        return any(line.get("msg") == "event consumed" and line.get("trace_id") == trace_id
                   for line in log_lines(stack, "gateway"))

    wait_for(consumed)
    recorded = [line for line in log_lines(stack, "registry")
                if line.get("msg") == "event recorded" and line.get("trace_id") == trace_id]
    assert recorded and recorded[0]["type"] == "unit.registered"
    assert recorded[0]["tenant"] == "320000"
    assert unit_id  # the same request


def test_entry_removed_from_listing_bars_reapplication(stack):  # type: ignore[no-untyped-def]
    """listing's entry.removed becomes a compliance record: veto condition 3 for three years."""
    province = login(stack, "jiangsu")
    unit = province.post("/api/v1/tenants/320000/units", json=factory()).json()["unit"]
    publish_listing(stack, "entry.removed", ev.EntryRemoved(
        entry_id="E-1", unit_id=unit["id"], uscc=unit["uscc"], list_id="L-2024", level="national",
        category="factory", reason="拒不填报动态管理表", decided_on="2026-03-01"), copies=2)
    path = f"/api/v1/tenants/320000/units/{unit['id']}"

    def records() -> list:
        return province.get(f"{path}/compliance").json()["records"]

    wait_for(records)
    time.sleep(0.5)  # room for the duplicate to arrive, and to be ignored
    assert [r["kind"] for r in records()] == ["list_removal"]
    veto = province.get(f"{path}/veto", params={"on": "2027-01-01"}).json()
    assert veto["vetoed"] and veto["conditions"][0]["condition"] == 3
    later = province.get(f"{path}/veto", params={"on": "2029-03-02"}).json()
    assert not later["vetoed"]  # three years on, the bar is lifted


def test_entry_added_shows_as_cultivation_plan_progress(stack):  # type: ignore[no-untyped-def]
    province = login(stack, "jiangsu")
    t = "/api/v1/tenants/320000"
    members = [province.post(f"{t}/units", json=factory()).json()["unit"] for _ in range(2)]
    park = province.post(f"{t}/units", json={"kind": "park", "uscc": uscc(), "name": "进度园区",
                                             "location": "320115", "park_level": "provincial"}).json()["unit"]
    province.put(f"{t}/units/{park['id']}/members", json={"member_ids": [m["id"] for m in members]})
    plan = province.post(f"{t}/units/{park['id']}/plans", json={
        "year": 2026, "entries": [{"uscc": m["uscc"], "name": m["name"]} for m in members]}).json()
    assert plan["named"] == 2 and plan["became_green"] == 0
    publish_listing(stack, "entry.added", ev.EntryAdded(
        entry_id="E-9", unit_id=members[0]["id"], uscc=members[0]["uscc"], list_id="L-2026-P",
        level="provincial", category="factory", year=2026))
    progress = wait_for(lambda: (p := province.get(f"{t}/plans/{plan['id']}").json())["became_green"] and p)
    assert progress["by_level"] == {"provincial": 1}


def test_a_national_list_removal_bars_the_unit_in_its_own_tenant(stack):  # type: ignore[no-untyped-def]
    """National lists live in 000000; the removal is recorded where the unit is (a declared
    crossing), and an undeclared one is refused."""
    province = login(stack, "jiangsu")
    unit = province.post("/api/v1/tenants/320000/units", json=factory()).json()["unit"]
    publish_listing(stack, "entry.removed", ev.EntryRemoved(
        entry_id="N-7", unit_id=unit["id"], uscc=unit["uscc"], level="national",
        category="factory", reason="重大环境事件", decided_on="2026-04-01", unit_tenant="320000"),
        tenant="000000")
    path = f"/api/v1/tenants/320000/units/{unit['id']}/compliance"
    records = wait_for(lambda: province.get(path).json()["records"])
    assert records[0]["kind"] == "list_removal" and records[0]["reference"] == "N-7"
    crossed = [line for line in log_lines(stack, "registry") if line.get("msg") == "cross-tenant effect"]
    assert any(line["crossing"] == "removal_reaches_every_list" for line in crossed)


def test_an_event_that_keeps_failing_goes_to_the_dead_letter_stream(stack):  # type: ignore[no-untyped-def]
    """Bounded redelivery: an entry.removed for a unit the registry does not know."""
    received: list = []

    async def listen_then_publish() -> None:
        nc = await nats_connect(stack)  # admin: the dead letters of every consumer
        sub = await nc.subscribe(f"{stack.bus_prefix}-dlq.registry-listing-entries.>")
        await nc.flush()
        await asyncio.to_thread(publish_listing, stack, "entry.removed", ev.EntryRemoved(
            entry_id="E-404", unit_id="no-such-unit", uscc="", decided_on="2026-03-01"))
        msg = await sub.next_msg(timeout=40)
        received.append(msg)
        await nc.close()

    asyncio.run(listen_then_publish())
    (msg,) = received
    assert "unit.not_found" in msg.headers["Gl-Error"]
    assert msg.headers["Gl-Subject"].endswith(".320000.listing.entry.removed")
    assert authentic.read(msg.data)[1].type == "entry.removed"


def test_an_event_whose_body_is_not_its_type_is_dead_lettered_not_applied(stack):  # type: ignore[no-untyped-def]
    """An entry.added carrying an entry.removed's body would bar the unit for three years if it
    were applied as its body says: it is refused as not written by listing, and parked."""
    province = login(stack, "jiangsu")
    unit = province.post("/api/v1/tenants/320000/units", json=factory()).json()["unit"]
    received: list = []

    async def listen_then_publish() -> None:
        nc = await nats_connect(stack)  # admin: the dead letters of every consumer
        sub = await nc.subscribe(f"{stack.bus_prefix}-dlq.registry-listing-entries.>")
        await nc.flush()
        await asyncio.to_thread(publish_listing, stack, "entry.added", ev.EntryRemoved(
            entry_id="E-X", unit_id=unit["id"], uscc=unit["uscc"], decided_on="2026-03-01"))
        received.append(await sub.next_msg(timeout=40))
        await nc.close()

    asyncio.run(listen_then_publish())
    (msg,) = received
    assert "event.body_mismatch" in msg.headers["Gl-Error"]
    path = f"/api/v1/tenants/320000/units/{unit['id']}/compliance"
    assert province.get(path).json()["records"] == []


def test_writes_during_a_nats_outage_are_published_later(own_stack):  # type: ignore[no-untyped-def]
    """Writes accepted while NATS is down are published once it is back."""
    own_stack.nats_url = ""  # always its own nats-server, which this test stops and restarts
    stack = own_stack.start()
    province = login(stack, "jiangsu")
    stack.stop_process("nats")
    r = province.post("/api/v1/tenants/320000/units", json=factory())
    assert r.status_code == 201, r.text  # the database took it; the event waits in the outbox
    # Restart NATS on the same port and store.
    port = int(stack.nats_url.rsplit(":", 1)[1])
    _restart_nats(stack, port)
    wait_for(lambda: _view_count(stack, "320000") == 1, timeout=60)


def _restart_nats(stack, port: int) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    from deploy.local.stack import nats_binary

    folder = stack.var_dir / "nats"
    out = open(stack.var_dir / "log" / "nats.out", "ab")
    stack.procs["nats"] = subprocess.Popen(
        [str(nats_binary()), "-c", str(folder / "nats.conf"), "-a", "127.0.0.1", "-p", str(port)],
        stdout=out, stderr=subprocess.STDOUT)
    wait_for(lambda: _port_open(port))


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True
