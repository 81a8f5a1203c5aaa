"""Server-streaming methods under the kernel's interceptors and ``Servicer._stream`` (issue 9 §4:
re-scoring streams its rows; review, listing and supervision will stream too).

A real ``grpc.aio`` server in this process (``rpc.create_server``) with a streaming test method
whose use case checks the call, then yields rows from an iterator. On today's main the
interceptors wrapped unary methods only: a streaming method ran with no token checked, no tenant
scope and no refusal mapping.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from generated.evaluation.v1 import evaluation_pb2 as pb
from services.kernel import rpc, signing
from services.kernel.config import Settings
from services.kernel.errors import DomainError, Kind, Refusal, refuse
from services.kernel.identity import Grant, Identity, issue_internal_token
from services.kernel.rpc import RemoteError, ServiceClient
from services.kernel.runtime import Servicer
from services.kernel.tenancy import current_tenant

METHOD = "/test.Streams/Rows"
T = "320000"


class World:
    """What the use case saw: the calls it checked, each row's tenant, whether it was closed."""

    def __init__(self) -> None:
        self.checked: list[tuple[str, str]] = []
        self.tenants: set[str] = set()
        self.closed = False


def rows_of(world: World):  # type: ignore[no-untyped-def]
    def use_case(rt: Any, *, ident: Identity, tenant: str, scheme_id: str,
                 count: int) -> Iterator[pb.RescoreRow]:
        world.checked.append((ident.subject, tenant))
        if scheme_id == "refuse":
            refuse(Refusal("scheme.unknown", Kind.NOT_FOUND, {"id": scheme_id}))

        def rows() -> Iterator[pb.RescoreRow]:
            try:
                for i in range(count):
                    world.tenants.add(current_tenant())
                    yield pb.RescoreRow(evaluation_id=f"e{i}", from_version=i)
            finally:
                world.closed = True

        return rows()

    return use_case


class Rows(Servicer):
    def __init__(self, world: World) -> None:
        super().__init__(None)  # type: ignore[arg-type]  # the use case needs no runtime
        self.use_case = rows_of(world)

    async def Rows(self, request: pb.RescoreRequest, context: Any) -> Any:
        async for row in self._stream(self.use_case, scheme_id=request.scheme_id,
                                      count=request.to_version):
            yield row


@pytest.fixture
async def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(var_dir=tmp_path, tenants=f"000000,{T}", otel_exporter="none")
    ring = signing.ensure(settings.keys, "gateway")
    world = World()
    srv = rpc.create_server(settings, lambda: ("000000", T))
    srv.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Streams", {
        "Rows": grpc.unary_stream_rpc_method_handler(
            Rows(world).Rows, request_deserializer=pb.RescoreRequest.FromString,
            response_serializer=pb.RescoreRow.SerializeToString)}),))
    port = srv.add_insecure_port("127.0.0.1:0")
    await srv.start()
    client = ServiceClient("test", f"127.0.0.1:{port}", settings)
    method = client.channel.unary_stream(METHOD,
                                         request_serializer=pb.RescoreRequest.SerializeToString,
                                         response_deserializer=pb.RescoreRow.FromString)

    def token(*grants: Grant) -> str:
        return issue_internal_token(ring, Identity(subject="official", grants=grants), seconds=300)

    try:
        yield world, client, method, token
    finally:
        await client.close()
        await srv.stop(None)


PROVINCE = Grant("province", T)


async def _collect(method: Any, request: pb.RescoreRequest, metadata: tuple) -> list[Any]:
    return [row async for row in method(request, metadata=metadata, timeout=30)]


def _trailer(err: grpc.aio.AioRpcError) -> dict[str, Any]:
    return {k: v for k, v in (err.trailing_metadata() or ())}


async def test_a_stream_is_guarded_as_a_unary_call_is(served) -> None:  # type: ignore[no-untyped-def]
    world, _, method, token = served
    ok = pb.RescoreRequest(scheme_id="s", to_version=3)
    cases = [
        ((("x-gl-tenant", T),), ok, grpc.StatusCode.UNAUTHENTICATED, "auth.required"),
        ((("x-gl-token", token(Grant("province", "330000"))), ("x-gl-tenant", T)), ok,
         grpc.StatusCode.PERMISSION_DENIED, "auth.wrong_tenant"),
        ((("x-gl-token", token(PROVINCE)), ("x-gl-tenant", T)),
         pb.RescoreRequest(scheme_id="s\x00", to_version=3), grpc.StatusCode.INVALID_ARGUMENT,
         "text.nul"),
    ]
    for metadata, request, status, code in cases:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _collect(method, request, metadata)
        assert (err.value.code(), _trailer(err.value)[rpc.ERROR_CODE]) == (status, code)
    assert world.checked == []  # the use case never ran


async def test_a_refusal_is_a_clean_status_before_any_row(served) -> None:  # type: ignore[no-untyped-def]
    _, client, method, token = served
    got: list[Any] = []
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for row in method(pb.RescoreRequest(scheme_id="refuse", to_version=5),
                                metadata=(("x-gl-token", token(PROVINCE)), ("x-gl-tenant", T),
                                          ("accept-language", "en")), timeout=30):
            got.append(row)
    assert got == [] and err.value.code() == grpc.StatusCode.NOT_FOUND
    assert _trailer(err.value)[rpc.ERROR_CODE] == "scheme.unknown"
    assert json.loads(_trailer(err.value)[rpc.ERROR_PARAMS]) == {"id": "refuse"}
    # the kernel's client: the same refusal as a RemoteError, as for a unary call
    with pytest.raises(RemoteError) as remote:
        async for _ in client.stream(method, pb.RescoreRequest(scheme_id="refuse"),
                                     token=token(PROVINCE), tenant=T):
            pass
    assert (remote.value.code, remote.value.kind) == ("scheme.unknown", Kind.NOT_FOUND)
    assert isinstance(remote.value, DomainError)


async def test_rows_stream_in_order_in_the_tenant_of_the_call(served) -> None:  # type: ignore[no-untyped-def]
    world, client, method, token = served
    count = 250  # more than one batch of Servicer._stream
    rows = [row async for row in client.stream(method, pb.RescoreRequest(scheme_id="s",
                                                                          to_version=count),
                                               token=token(PROVINCE), tenant=T)]
    assert [r.evaluation_id for r in rows] == [f"e{i}" for i in range(count)]
    assert world.checked == [("official", T)] and world.tenants == {T}
    assert world.closed


async def test_a_client_leaving_early_ends_the_use_case(served) -> None:  # type: ignore[no-untyped-def]
    world, client, method, token = served
    stream = client.stream(method, pb.RescoreRequest(scheme_id="s", to_version=10**7),
                           token=token(PROVINCE), tenant=T)
    first = await anext(stream)
    await stream.aclose()  # the consumer stops: the call is cancelled
    assert first.evaluation_id == "e0"
    for _ in range(500):  # the server notices the cancellation and closes the use case's rows
        if world.closed:
            break
        await asyncio.sleep(0.02)
    assert world.closed
