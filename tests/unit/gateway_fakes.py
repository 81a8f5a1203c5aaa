"""The gateway in-process, with its real routes, dependencies, accounts (SQLite) and service
clients, and one fake below them: the gRPC channel. Every call a route makes reaches
``FakeChannel``, which records it and answers with a sample of the method's declared output
message — fully populated, or all defaults (``full=False``), or a refusal (``refuse``).

Used by the gateway's contract and client tests (tests/unit/test_gateway_*.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from fastapi import FastAPI
from fastapi.testclient import TestClient
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from gateway import seed
from gateway.app import create_app
from gateway.auth import Accounts, Auth
from gateway.store import ViewUnit
from generated.common.v1 import common_pb2  # noqa: F401 - registers the Audit service
from generated.evaluation.v1 import evaluation_pb2  # noqa: F401
from generated.institutions.v1 import institutions_pb2  # noqa: F401
from generated.registry.v1 import registry_pb2  # noqa: F401
from services.kernel import clock, rpc, signing
from services.kernel.config import Settings
from services.kernel.db import Database
from services.kernel.rpc import ServiceClient
from services.kernel.tenancy import NATIONAL

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"
DEMO = {username: password for username, password, _ in seed.DEMO}
_F = FieldDescriptor


@dataclass
class Refusal:
    """What the fake service answers instead: a status, and the error code in trailing metadata."""

    status: grpc.StatusCode
    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Sent:
    """One call that reached a service: the method path, the request, the metadata, the timeout."""

    path: str
    request: Message
    metadata: dict[str, str]
    timeout: float | None


class FakeChannel:
    """Stands in for ``grpc.aio.Channel`` under a real ``ServiceClient`` and generated stub."""

    def __init__(self, sent: list[Sent]) -> None:
        self.full = True
        self.refuse: Refusal | None = None
        self.sent = sent  # shared by every service's channel, in call order

    def unary_unary(self, path: str, request_serializer: Any = None,
                    response_deserializer: Any = None, **_: Any) -> Any:
        service, method = path.strip("/").rsplit("/", 1)
        output = descriptor_pool.Default().FindServiceByName(service) \
            .methods_by_name[method].output_type

        async def call(request: Any, *, metadata: Any = None, timeout: float | None = None) -> Any:
            request_serializer(request)  # the request must serialise, as on the wire
            self.sent.append(Sent(path, request, dict(metadata or ()), timeout))
            if self.refuse is not None:
                r = self.refuse
                raise grpc.aio.AioRpcError(
                    r.status, grpc.aio.Metadata(),
                    grpc.aio.Metadata((rpc.ERROR_CODE, r.code),
                                      (rpc.ERROR_PARAMS, json.dumps(r.params).encode())),
                    details=r.message)
            return response_deserializer(sample(output, full=self.full).SerializeToString())

        return call

    def unary_stream(self, path: str, request_serializer: Any = None,
                     response_deserializer: Any = None, **_: Any) -> Any:
        """A server-streaming method: one sample message (``full``) or none, or the refusal
        before the first message."""
        unary = self.unary_unary(path, request_serializer, response_deserializer)
        full = lambda: self.full  # read when called, as the unary answer is

        class Stream(grpc.aio.UnaryStreamMultiCallable):
            def __call__(self, request: Any, *, metadata: Any = None,  # type: ignore[override]
                         timeout: float | None = None, **_: Any) -> Any:
                return FakeStreamCall(unary(request, metadata=metadata, timeout=timeout),
                                      rows=1 if full() else 0)

        return Stream()

    async def close(self) -> None:
        pass


class FakeStreamCall:
    """What a server-streaming call returns: its messages by ``async for``; ``cancel``."""

    def __init__(self, answer: Any, rows: int) -> None:
        self.answer, self.rows, self.cancelled = answer, rows, False

    def __aiter__(self) -> Any:
        return self._messages()

    async def _messages(self) -> Any:
        message = await self.answer  # a refusal raises here, before any message
        for _ in range(self.rows):
            yield message

    def cancel(self) -> bool:
        self.cancelled = True
        return True


def sample(desc: Descriptor, *, full: bool) -> Message:
    """A message of the type: every field set (``full``; ``*_json`` fields hold JSON), or none."""
    msg = message_factory.GetMessageClass(desc)()
    if full:
        _fill(msg, depth=0)
    return msg


def _scalar(f: FieldDescriptor) -> Any:
    if f.type == _F.TYPE_STRING:
        return '{"k": 1}' if f.name.endswith("_json") else f"{f.name}-1"
    if f.type == _F.TYPE_BYTES:
        return b"\x00bytes"
    if f.type == _F.TYPE_BOOL:
        return True
    if f.type in (_F.TYPE_DOUBLE, _F.TYPE_FLOAT):
        return 12.5
    if f.type == _F.TYPE_ENUM:
        return f.enum_type.values[-1].number
    return 2**40 if f.cpp_type in (_F.CPPTYPE_INT64, _F.CPPTYPE_UINT64) else 7


def _fill(msg: Message, depth: int) -> None:
    if depth > 4:
        return
    for f in msg.DESCRIPTOR.fields:
        value = getattr(msg, f.name)
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            vf = f.message_type.fields_by_name["value"]
            if vf.message_type is not None:
                _fill(value["key-1"], depth + 1)
            else:
                value["key-1"] = _scalar(vf)
        elif f.is_repeated:
            if f.message_type is not None:
                _fill(value.add(), depth + 1)
            else:
                value.append(_scalar(f))
        elif f.message_type is not None:
            value.SetInParent()
            _fill(value, depth + 1)
        else:
            setattr(msg, f.name, _scalar(f))


@dataclass
class Gateway:
    """The app, a client for it, its account store, and each service's fake channel."""

    app: FastAPI
    http: TestClient
    auth: Auth
    channels: dict[str, FakeChannel]

    def token(self, username: str, password: str = "") -> str:
        r = self.http.post("/api/v1/auth/login",
                           json={"username": username, "password": password or DEMO[username]})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def answer(self, *, full: bool = True, refuse: Refusal | None = None) -> None:
        for channel in self.channels.values():
            channel.full, channel.refuse = full, refuse

    @property
    def sent(self) -> list[Sent]:
        """Every call that reached a service, in order."""
        return next(iter(self.channels.values())).sent


def build(var_dir: Path) -> Gateway:
    """The gateway app without its lifespan (no NATS, no consumer): state set up by hand."""
    settings = Settings(var_dir=var_dir, tenants="000000,320000,330000", otel_exporter="none",
                        person_key_secret="gateway-tests")
    app = create_app(settings)
    db = Database(service="gateway", settings=settings, migrations=GATEWAY / "migrations")
    db.onboard([NATIONAL])
    auth = Auth(db=db, ring=signing.ensure(settings.keys, "gateway"),
                session_hours=settings.session_hours,
                internal_seconds=settings.internal_token_seconds)
    seed.ensure_operator(auth, settings)
    seed.demo_accounts(auth, settings)
    with db.session(NATIONAL, write=True) as s:
        for i, (kind, location) in enumerate([("factory", "320102"), ("park", "320505")]):
            s.add(ViewUnit(unit_id=f"u-{i}", tenant="320000", kind=kind, city=location[:4] + "00",
                           location=location, industry="2611", registered_at=clock.now()))
    channels: dict[str, FakeChannel] = {}
    sent: list[Sent] = []
    app.state.settings, app.state.db, app.state.auth = settings, db, auth
    app.state.accounts = Accounts(auth)
    for name in ("registry", "evaluation", "institutions"):
        client = ServiceClient(name, "127.0.0.1:9", settings,
                               channel=channels.setdefault(name, FakeChannel(sent)))  # type: ignore[arg-type]
        setattr(app.state, name, client)
    return Gateway(app, TestClient(app), auth, channels)
