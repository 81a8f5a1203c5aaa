"""The use-case tier: every handler run in-process against a real, onboarded SQLite database.

Between unit tests of pure domain functions and the stacks of real processes: no NATS, no gRPC,
no gateway — the service's own use cases, called the way its servicer calls them, with the
events they write read back from the outbox. A test here takes milliseconds.

    def test_a_rename_is_recorded(registry: UseCases) -> None:
        unit, _ = registry(handlers.register_unit, as_=PROVINCE, ...)
        registry(handlers.rename_unit, as_=PROVINCE, unit_id=unit.id, ...)
        assert [type(e.body) for e in registry.recorded("320000")][-1] is ev.UnitRenamed
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlmodel import select

from generated.events.v1 import events_pb2

from services.kernel import clock
from services.kernel.bus import Event, Outbox, unpack
from services.kernel.bus.contract import CATALOGUES
from services.kernel.bus.events import message_name
from services.kernel.config import Settings
from services.kernel.db import Database
from services.kernel.errors import load_messages
from services.kernel.identity import Identity, reset_identity, set_identity
from services.kernel.runtime import Runtime
from services.kernel.service import ServiceSpec
from services.kernel.tenancy import tenant_scope
from tests.unit.conftest import T0

TENANTS = ("000000", "320000", "330000", "330200")
T = TypeVar("T")


class UseCases:
    """One service's runtime on its own SQLite files; calls its use cases as a servicer would."""

    def __init__(self, spec: ServiceSpec, var_dir: Path) -> None:
        settings = Settings(var_dir=var_dir, tenants=",".join(TENANTS), otel_exporter="none",
                            person_key_secret="use-case-tests")
        messages = spec.root / "data" / "messages.yaml"
        if messages.exists():
            load_messages(messages)
        db = Database(service=spec.name, settings=settings, migrations=spec.root / "migrations")
        db.onboard(TENANTS)
        self.rt = Runtime(spec.name, settings, db, spec.publishes)
        self.subscriptions = spec.subscriptions
        self._seen: dict[str, int] = {}

    def __call__(self, fn: Callable[..., T], *, as_: Identity, tenant: str, **kwargs: Any) -> T:
        """Run a use case as ``as_`` acting in ``tenant`` (the tenant of the call)."""
        token = set_identity(as_)
        try:
            with tenant_scope(tenant):
                return fn(self.rt, ident=as_, tenant=tenant, **kwargs)
        finally:
            reset_identity(token)

    def recorded(self, tenant: str) -> list[Event[Any]]:
        """The events written to ``tenant``'s outbox since the last call, unpacked by class."""
        classes = {message_name(cls): cls for cls in self.rt.publishes.types}
        with self.rt.db.session(tenant) as s:
            rows = list(s.exec(select(Outbox).where(Outbox.seq > self._seen.get(tenant, 0))
                               .order_by(Outbox.seq)))
        if rows:
            self._seen[tenant] = rows[-1].seq
        out = []
        for row in rows:
            env = events_pb2.Envelope.FromString(row.payload)
            assert row.type == self.rt.publishes.type_of(classes[env.body.TypeName()]()), row.type
            out.append(unpack(env, classes[env.body.TypeName()]))
        return out

    def hear(self, body: Any, *, tenant: str, service: str, event_type: str = "",
             actor: str = "test") -> bool:
        """Deliver an event of another service (its type from the contract unless given) to this
        one's subscriptions, as the consumer would (checked against the contract, routed,
        handled): whether any subscription applied it."""
        env = events_pb2.Envelope(event_id=str(uuid.uuid4()), tenant=tenant, service=service,
                                  type=event_type or CATALOGUES[service].type_of(body),
                                  actor=events_pb2.Actor(subject=actor, role="system"))
        env.occurred_at.FromDatetime(clock.now())
        env.body.Pack(body)
        applied = False
        for sub in self.subscriptions:
            if sub.service != service:
                continue
            found = sub.dispatch(env)
            if found is None:
                continue
            event, handler = found
            target = sub.route(event) if sub.route else tenant
            with tenant_scope(target), self.rt.db.session(target, write=True) as s:
                handler(self.rt, s, event)
            applied = True
        return applied


@pytest.fixture(autouse=True)
def frozen_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The platform clock frozen at T0 (a working Saturday, 2025-10-11 09:00 CST)."""
    path = tmp_path / "clock.json"
    monkeypatch.setenv("GL_CLOCK_FILE", str(path))
    clock.set_clock(path, at=T0)
    return path


def use_cases(spec: ServiceSpec, tmp_path: Path) -> Iterator[UseCases]:
    uc = UseCases(spec, tmp_path / spec.name)
    try:
        yield uc
    finally:
        uc.rt.db.dispose()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[UseCases]:
    from services.registry.__main__ import SPEC
    yield from use_cases(SPEC, tmp_path)


@pytest.fixture
def evaluation(tmp_path: Path) -> Iterator[UseCases]:
    from services.evaluation.__main__ import SPEC
    yield from use_cases(SPEC, tmp_path)


@pytest.fixture
def institutions(tmp_path: Path) -> Iterator[UseCases]:
    from services.institutions.__main__ import SPEC
    yield from use_cases(SPEC, tmp_path)

