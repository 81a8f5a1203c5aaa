"""The outbox hash chain on a real SQLite database (services/kernel/bus/outbox.py, decision 0007).

From format 2 the chain covers every column that routes or dates an event — type, subject (and
with it the tenant), created_at — besides the envelope bytes, and each row is signed; rows stored
before (format 1: a hash of the payload alone) still verify under their own rules.
"""

from __future__ import annotations

import hashlib
import uuid

import pytest
from sqlalchemy import text
from sqlmodel import select

from generated.events.v1 import events_pb2 as ev
from services.kernel import bus, signing
from services.kernel.bus import authentic
from services.kernel.bus.outbox import ChainHead, Outbox
from services.kernel.tenancy import tenant_scope
from tests.service.conftest import UseCases
from tests.unit.conftest import T0

TENANT = "320000"


def _record(uc: UseCases, n: int, tenant: str = TENANT) -> None:
    with tenant_scope(tenant), uc.rt.db.session(tenant, write=True) as s:
        uc.rt.record(s, ev.UnitRenamed(unit_id=f"U-{n}", old_name="甲", new_name=f"乙{n}"))


def _check(uc: UseCases, tenant: str = TENANT) -> bus.ChainCheck:
    with uc.rt.db.session(tenant) as s:
        return bus.verify_chain(s, tenant)


def _edit(uc: UseCases, sql: str, **params: object) -> None:
    with uc.rt.db.session(TENANT, write=True) as s:
        s.connection().execute(text(sql), params)


def test_a_recorded_event_is_format_two_signed_and_chained(registry: UseCases) -> None:
    for n in range(3):
        _record(registry, n)
    check = _check(registry)
    assert check.ok and check.length == 3, check
    with registry.rt.db.session(TENANT) as s:
        row = s.exec(select(Outbox).where(Outbox.seq == 2)).one()
    assert row.format == 2 and row.key_id.startswith("registry-")
    env = ev.Envelope.FromString(row.payload)
    assert (env.format, env.subject, env.tenant) == (2, row.subject, TENANT)
    assert row.subject == f"gl.{TENANT}.registry.unit.renamed"
    # What the relay publishes is exactly what a consumer verifies with the public key.
    wire = authentic.wire(row.payload, row.key_id, row.signature or b"")
    keys = signing.PublicKeys(registry.rt.settings.keys)
    assert authentic.authenticate(wire, subject=row.subject, keys=keys, stream_seq=9,
                                  format2_from=1).event_id == row.event_id


@pytest.mark.parametrize("column,value", [
    ("type", "unit.merged"),
    ("subject", "gl.330000.registry.unit.renamed"),   # the tenant it routes to
    ("created_at", "2024-01-01 09:00:00.000000"),
    ("payload", b"\x0a\x01x"),
    ("format", 1),
    ("hash", "0" * 64),
])
def test_editing_any_column_that_routes_or_dates_an_event_breaks_the_chain_there(
        registry: UseCases, column: str, value: object) -> None:
    for n in range(4):
        _record(registry, n)
    _edit(registry, f"UPDATE outbox SET {column} = :v WHERE seq = 3", v=value)
    check = _check(registry)
    assert not check.ok and check.first_broken_seq == 3, check
    assert check.length == 2


def test_a_whole_row_rewritten_with_its_hash_recomputed_still_breaks_at_the_next_link(
        registry: UseCases) -> None:
    for n in range(3):
        _record(registry, n)
    with registry.rt.db.session(TENANT, write=True) as s:
        row = s.exec(select(Outbox).where(Outbox.seq == 2)).one()
        prev = s.exec(select(Outbox).where(Outbox.seq == 1)).one().hash
        row.type = "unit.merged"
        row.hash = bus.outbox.chain_hash(row, prev)
        s.add(row)
    check = _check(registry)
    assert not check.ok and check.first_broken_seq == 2  # the row no longer matches its envelope


def test_a_chain_checked_as_another_tenants_is_refused(registry: UseCases) -> None:
    _record(registry, 1)
    with registry.rt.db.session(TENANT) as s:
        check = bus.verify_chain(s, "330000")
    assert not check.ok and check.first_broken_seq == 1


def _format1_rows(uc: UseCases, count: int) -> None:
    """Rows as the code before format 2 wrote them: unsigned, hash = sha256(payload)."""
    with uc.rt.db.session(TENANT, write=True) as s:
        head = s.exec(select(ChainHead)).one()
        for _ in range(count):
            env = ev.Envelope(event_id=str(uuid.uuid4()), tenant=TENANT, service="registry",
                              type="unit.renamed", seq=head.seq + 1,
                              prev_hash=bytes.fromhex(head.hash))
            env.occurred_at.FromDatetime(T0)
            env.body.Pack(ev.UnitRenamed(unit_id="U-old", old_name="甲", new_name="乙"))
            data = env.SerializeToString()
            digest = hashlib.sha256(data).hexdigest()
            s.add(Outbox(seq=env.seq, event_id=env.event_id, type="unit.renamed",
                         subject=f"gl.{TENANT}.registry.unit.renamed", payload=data, hash=digest,
                         created_at=T0, published_at=T0))
            head.seq, head.hash = env.seq, digest
            s.add(head)
            s.flush()


def test_events_stored_before_format_two_verify_under_their_own_rules(
        registry: UseCases) -> None:
    _format1_rows(registry, 3)
    for n in range(2):
        _record(registry, n)
    check = _check(registry)
    assert check.ok and check.length == 5, check
    with registry.rt.db.session(TENANT) as s:
        formats = [r.format for r in s.exec(select(Outbox).order_by(Outbox.seq))]
    assert formats == [1, 1, 1, 2, 2]


def test_a_format_one_row_is_still_checked_and_cannot_follow_format_two(
        registry: UseCases) -> None:
    _format1_rows(registry, 2)
    _record(registry, 1)
    _edit(registry, "UPDATE outbox SET payload = :v WHERE seq = 2", v=b"\x0a\x01x")
    assert _check(registry).first_broken_seq == 2
    _edit(registry, "UPDATE outbox SET format = 1 WHERE seq = 3")
    assert _check(registry).first_broken_seq == 2  # the first break is named, not the last
