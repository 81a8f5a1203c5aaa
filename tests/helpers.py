"""Test helpers: valid USCCs, HTTP callers of the gateway, forged internal tokens, direct gRPC
calls, waiting."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import nats

from deploy.local.stack import Stack
from gateway.routes._common import documented_codes
from generated.events.v1 import events_pb2 as ev
from generated.registry.v1 import registry_pb2 as pb
from generated.registry.v1.registry_pb2_grpc import RegistryStub
from services.kernel import signing
from services.kernel.bus import authentic, ensure_stream
from services.kernel.identity import Grant, Identity, issue_internal_token
from services.kernel.uscc import CHARSET, check_char

_counter = itertools.count(1)
_rng = random.Random(20261123)


def uscc(region: str = "320100") -> str:
    """A fresh, valid unified social credit code registered in ``region``."""
    body = "91" + region + "".join(_rng.choice(CHARSET) for _ in range(9))
    return body + check_char(body)


def bad_checksum(code: str) -> str:
    wrong = CHARSET[(CHARSET.index(code[-1]) + 1) % 31]
    return code[:-1] + wrong


class UndocumentedError(AssertionError):
    """An operation answered an error code its OpenAPI document does not list for that status."""


_operations: dict[str, list[tuple[str, str, re.Pattern[str], dict[int, list[str]]]]] = {}


def _documented(base: str, send: Callable[..., httpx.Response]
                ) -> list[tuple[str, str, re.Pattern[str], dict[int, list[str]]]]:
    """The operations of the gateway at ``base`` (its /openapi.json, fetched once): method,
    path template, the template as a pattern, and per status the codes its ``error.code`` enum
    lists. None documented (not a gateway): an empty list."""
    if base not in _operations:
        _operations[base] = []
        with httpx.Client(base_url=base, timeout=30) as client:
            r = send(client, client.build_request("GET", "/openapi.json"))
            spec = r.json() if r.status_code == 200 else {}
        for path, ops in spec.get("paths", {}).items():
            pattern = re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)))
            for method, op in ops.items():
                _operations[base].append((method.upper(), path, pattern,
                                          documented_codes(op.get("responses", {}))))
        # a literal segment before a parameter, as the gateway's router matches them
        _operations[base].sort(key=lambda op: op[1].count("{"))
    return _operations[base]


def check_documented(response: httpx.Response, send: Callable[..., httpx.Response]) -> None:
    """Fail at once when a gateway operation answers an error whose ``(status, code)`` its
    OpenAPI document does not list (``gateway.routes._common.errors``). Answers of no documented
    operation (an unknown path, a method the path does not have) are not checked."""
    if response.status_code < 400:
        return
    url = response.request.url
    ops = _documented(f"{url.scheme}://{url.netloc.decode()}", send)
    method = response.request.method
    op = next((o for o in ops if o[0] == method and o[2].fullmatch(url.path)), None)
    if op is None:
        return
    response.read()
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    documented = op[3].get(response.status_code, [])
    if code in documented:
        return
    survey = os.environ.get("GL_TEST_UNDOCUMENTED_LOG")  # list them all instead of failing
    if survey:
        with open(survey, "a", encoding="utf-8") as f:
            f.write(json.dumps({"op": f"{method} {op[1]}", "status": response.status_code,
                                "code": code}) + "\n")
    else:
        raise UndocumentedError(
            f"{method} {op[1]} answered {response.status_code} {code!r}, which its OpenAPI "
            f"document does not list (documented for {response.status_code}: "
            f"{sorted(documented) or 'nothing'}); declare it in the route's errors(...) if the "
            f"route should answer it: {response.text[:300]}")


class Api:
    """An HTTP client for one caller of the gateway."""

    def __init__(self, base: str, token: str = "", lang: str = "", api_key: str = "") -> None:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if api_key:
            headers["X-API-Key"] = api_key
        if lang:
            headers["Accept-Language"] = lang
        self.http = httpx.Client(base_url=base, headers=headers, timeout=30)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.http, name)


DEMO_PASSWORDS = {
    "ministry": "demo-ministry-1", "jiangsu": "demo-province-1", "zhejiang": "demo-province-2",
    "nanjing": "demo-city-1", "suzhou": "demo-city-2", "factory": "demo-enterprise-1",
    "institution": "demo-institution-1", "expert": "demo-expert-1", "partner": "demo-partner-1",
}


def login(stack: Stack, username: str, password: str = "", lang: str = "") -> Api:
    r = httpx.post(f"{stack.gateway_url}/api/v1/auth/login",
                   json={"username": username, "password": password or DEMO_PASSWORDS[username]})
    assert r.status_code == 200, r.text
    return Api(stack.gateway_url, r.json()["access_token"], lang)


def token(stack: Stack, *grants: Grant, subject: str = "test") -> str:
    ring = signing.load(stack.var_dir / "keys", "gateway")
    return issue_internal_token(ring, Identity(subject=subject, grants=grants), seconds=300)


class Registry:
    """Direct gRPC calls to the registry process, as any identity (forged by the test)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.channel = grpc.insecure_channel(stack.addr("registry"))
        self.stub = RegistryStub(self.channel)

    def call(self, method: str, request: Any, *, tenant: str, grants: tuple[Grant, ...] | None,
             lang: str = "zh", raw_token: str | None = None) -> Any:
        md = [("x-gl-tenant", tenant), ("accept-language", lang)]
        if raw_token is not None:
            md.append(("x-gl-token", raw_token))
        elif grants is not None:
            md.append(("x-gl-token", token(self.stack, *grants)))
        return getattr(self.stub, method)(request, metadata=md, timeout=20)

    def close(self) -> None:
        self.channel.close()


def error_code(err: grpc.RpcError) -> str:
    return dict(err.trailing_metadata() or ()).get("gl-error-code", "")


def wait_for(predicate: Callable[[], Any], timeout: float = 20, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def log_lines(stack: Stack, name: str) -> list[dict]:
    path: Path = stack.var_dir / "log" / f"{name}.log"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def factory(region: str = "320100", location: str = "320102", **fields: Any) -> dict:
    body = {"kind": "factory", "uscc": uscc(region), "name": f"绿色工厂{next(_counter)}",
            "location": location, "industry": "3311"}
    body.update(fields)
    return body


def register_pb(location: str = "320102", **fields: Any) -> pb.RegisterUnitRequest:
    body = factory(location=location)
    body.update(fields)
    return pb.RegisterUnitRequest(**body)


def person_id(n: int, region: str = "320102", born: str = "19750315") -> str:
    """A valid resident ID number (GB 11643), distinct for each ``n``."""
    from services.kernel.personid import check_digit
    body = f"{region}{born}{n % 1000:03d}"
    return body + check_digit(body)


async def nats_connect(stack: Stack, user: str = "admin", **options: Any) -> nats.NATS:
    """A connection to the stack's NATS as one of its users (``admin`` may do anything; a
    process's user has its permissions, replies under ``_INBOX.<user>``). On an external NATS,
    which has no platform users, anonymous."""
    credentials = stack.nats_credentials(user)
    if credentials:
        options.setdefault("inbox_prefix", f"_INBOX.{user}")
    return await nats.connect(stack.nats_url, **credentials, **options)


def publish_listing(stack, event_type: str, body, copies: int = 1,  # type: ignore[no-untyped-def]
                     tenant: str = "320000") -> None:
    """Publish a listing event as the listing service would (it does not exist yet): format 2,
    signed with listing's key from the stack's keys folder."""
    subject = f"{stack.bus_prefix}.{tenant}.listing.{event_type}"
    env = ev.Envelope(event_id=str(uuid.uuid4()), tenant=tenant, service="listing",
                      type=event_type, seq=1, subject=subject, format=authentic.FORMAT)
    env.occurred_at.GetCurrentTime()
    env.body.Pack(body)
    data = env.SerializeToString()
    signed = authentic.wire(data, *authentic.seal(data, signing.ensure(stack.var_dir / "keys",
                                                                        "listing")))

    async def publish() -> None:
        nc = await nats_connect(stack, "listing")  # listing's NATS user: listing's subjects only
        js = nc.jetstream()
        await ensure_stream(js, stack.bus_prefix, "listing")
        for _ in range(copies):  # copies of one event: a duplicate delivery must apply once
            await js.publish(subject, signed, headers={"Nats-Msg-Id": str(uuid.uuid4())})
        await nc.close()

    asyncio.run(publish())
