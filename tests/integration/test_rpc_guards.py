"""What every service's gRPC server refuses before a use case runs, and what it never hides.

A real ``grpc.aio`` server in this process with the kernel's interceptors (``rpc.create_server``)
and a test method: a NUL character in any string field of the request — nested messages and lists
included — is INVALID_ARGUMENT (422 at the gateway) with ``text.nul`` naming the field, in the
caller's language, for any caller; and a method that raises something that is not a refusal is
still INTERNAL, logged with its traceback (a catch-all turning bugs into refusals would hide them).

On today's main the NUL reached the use case (500 on PostgreSQL; stored on SQLite)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import grpc
import pytest

from generated.registry.v1 import registry_pb2 as pb
from services.kernel import rpc, signing
from services.kernel.config import Settings
from services.kernel.identity import Grant, Identity, issue_internal_token

METHOD = "/test.Guards/Call"


@pytest.fixture
async def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(var_dir=tmp_path, tenants="000000,320000", otel_exporter="none")
    ring = signing.ensure(settings.keys, "gateway")
    seen: list[Any] = []

    async def call(request: pb.SetSuppliersRequest, context: Any) -> pb.Suppliers:
        seen.append(request)
        if request.unit_id == "boom":
            raise RuntimeError("a bug in a use case")
        return pb.Suppliers(unit_id=request.unit_id)

    srv = rpc.create_server(settings, lambda: ("000000", "320000"))
    srv.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Guards", {
        "Call": grpc.unary_unary_rpc_method_handler(
            call, request_deserializer=pb.SetSuppliersRequest.FromString,
            response_serializer=pb.Suppliers.SerializeToString)}),))
    port = srv.add_insecure_port("127.0.0.1:0")
    await srv.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    token = issue_internal_token(ring, Identity(subject="t", grants=(Grant("province", "320000"),)),
                                 seconds=300)

    async def invoke(request: pb.SetSuppliersRequest, lang: str = "zh") -> Any:
        stub = channel.unary_unary(METHOD, request_serializer=pb.SetSuppliersRequest.SerializeToString,
                                   response_deserializer=pb.Suppliers.FromString)
        return await stub(request, metadata=(("x-gl-token", token), ("x-gl-tenant", "320000"),
                                             ("accept-language", lang)), timeout=10)

    try:
        yield invoke, seen
    finally:
        await channel.close()
        await srv.stop(None)


def _trailer(err: grpc.aio.AioRpcError) -> dict[str, Any]:
    return {k: v for k, v in (err.trailing_metadata() or ())}


@pytest.mark.parametrize(("request_", "field"), [
    (pb.SetSuppliersRequest(unit_id="u\x00"), "unit_id"),
    (pb.SetSuppliersRequest(unit_id="u", suppliers=[
        pb.Supplier(uscc="a", name="ok"), pb.Supplier(uscc="b", name="坏\x00")]),
     "suppliers[1].name"),
])
async def test_a_nul_in_any_string_field_is_refused_naming_it(server, request_, field) -> None:  # type: ignore[no-untyped-def]
    invoke, seen = server
    for lang, word in (("en", "NUL character"), ("zh", "空字符")):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await invoke(request_, lang)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        md = _trailer(err.value)
        assert md[rpc.ERROR_CODE] == "text.nul"
        assert json.loads(md[rpc.ERROR_PARAMS]) == {"field": field}
        assert field in err.value.details() and word in err.value.details()
    assert seen == []  # the method never ran
    assert (await invoke(pb.SetSuppliersRequest(unit_id="fine"))).unit_id == "fine"


async def test_an_unexpected_error_stays_internal_and_is_logged(
        server, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    invoke, _ = server
    with caplog.at_level(logging.ERROR, logger="greenladder.rpc"):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await invoke(pb.SetSuppliersRequest(unit_id="boom"))
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert _trailer(err.value)[rpc.ERROR_CODE] == "internal"
    assert "a bug" not in (err.value.details() or "")  # internals are not leaked ...
    assert any(r.exc_info and "a bug in a use case" in str(r.exc_info[1])
               for r in caplog.records)  # ... but logged
