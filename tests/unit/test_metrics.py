"""The kernel's metrics (issue 10 §4): names, route templates as labels, the gRPC server and client
counting a call with its status, the metrics port (the gateway's too: never its API port), the
exporter setting."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import grpc
import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from deploy.local.stack import free_port
from gateway import observe
from gateway.app import Middleware, create_app
from gateway.limits import BodyLimits
from services.kernel import metrics
from services.kernel.config import Settings
from services.kernel.rpc import RemoteError, ServiceClient


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_every_metric_is_named_by_the_conventions() -> None:
    metrics.identify("registry")
    text = metrics.render().decode()
    for name in ("greenladder_http_requests_total", "greenladder_http_request_duration_seconds",
                 "greenladder_grpc_server_requests_total",
                 "greenladder_grpc_server_duration_seconds",
                 "greenladder_grpc_client_requests_total",
                 "greenladder_grpc_client_duration_seconds",
                 "greenladder_events_published_total", "greenladder_events_applied_total",
                 "greenladder_dead_letters_total", "greenladder_consumer_pending_messages",
                 "greenladder_consumer_ack_pending_messages"):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    assert 'greenladder_process_info{service="registry"} 1.0' in text


def test_a_consumer_has_its_dead_letter_series_from_its_start() -> None:
    metrics.consumer_seen("unit-consumer")
    text = metrics.render().decode()
    assert 'greenladder_dead_letters_total{consumer="unit-consumer"} 0.0' in text
    assert 'greenladder_events_applied_total{consumer="unit-consumer"} 0.0' in text


# --- the gateway: route templates, never raw paths ----------------------------------------------


def gateway_app(access_log: bool = True) -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/tenants/{tenant}/units/{unit_id}")
    async def unit(tenant: str, unit_id: str) -> dict[str, str]:
        return {"tenant": tenant, "unit": unit_id}

    app.add_middleware(Middleware, limits=BodyLimits(100), access_log=access_log)
    return app


async def test_requests_are_counted_by_route_template_method_and_status(
        caplog: pytest.LogCaptureFixture) -> None:
    template = "/api/v1/tenants/{tenant}/units/{unit_id}"
    before = value("greenladder_http_requests_total", route=template, method="GET", status="200")
    unmatched = value("greenladder_http_requests_total", route="unmatched", method="GET",
                      status="404")
    other = value("greenladder_http_requests_total", route="unmatched", method="OTHER",
                  status="404")
    transport = httpx.ASGITransport(app=gateway_app())
    with caplog.at_level(logging.INFO, logger="greenladder.gateway.access"):
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            for unit in ("u-1", "u-2", "u-3"):
                answer = await http.get(f"/api/v1/tenants/320000/units/{unit}?token=s3cret",
                                        headers={"Authorization": "Bearer sEcReT-TOKEN",
                                                 "X-API-Key": "glk_1_key"})
                assert answer.status_code == 200
            assert (await http.get("/no/such/path/42")).status_code == 404
            assert (await http.request("BREW", "/no/such/pot")).status_code == 404

    assert value("greenladder_http_requests_total", route=template, method="GET",
                 status="200") == before + 3
    assert value("greenladder_http_requests_total", route="unmatched", method="GET",
                 status="404") == unmatched + 1
    assert value("greenladder_http_requests_total", route="unmatched", method="OTHER",
                 status="404") == other + 1
    text = metrics.render().decode()
    assert "u-1" not in text and "/no/such" not in text and "BREW" not in text

    lines = [r for r in caplog.records if r.name == "greenladder.gateway.access"]
    assert len(lines) == 5
    first = lines[0].fields  # type: ignore[attr-defined]
    assert first["route"] == template and first["method"] == "GET" and first["status"] == 200
    assert first["bytes_out"] == len(b'{"tenant":"320000","unit":"u-1"}')
    assert first["duration_ms"] >= 0 and "client" in first
    logged = repr([r.fields for r in lines])  # type: ignore[attr-defined]
    assert "sEcReT" not in logged and "s3cret" not in logged and "glk_1_key" not in logged


async def test_the_access_log_can_be_turned_off(caplog: pytest.LogCaptureFixture) -> None:
    transport = httpx.ASGITransport(app=gateway_app(access_log=False))
    with caplog.at_level(logging.INFO, logger="greenladder.gateway.access"):
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            assert (await http.get("/api/v1/tenants/320000/units/u-1")).status_code == 200
    assert not [r for r in caplog.records if r.name == "greenladder.gateway.access"]


def test_a_mounted_app_is_labelled_by_its_prefix() -> None:
    scope = {"root_path": "/docs/assets"}
    assert observe.route_of(scope, "") == "/docs/assets/{path}"
    assert observe.route_of({"root_path": ""}, "") == metrics.UNMATCHED


# --- gRPC: server interceptor and client --------------------------------------------------------


async def _ok(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return b"ok"


async def _missing(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    await context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
    return b""


async def _broken(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    raise RuntimeError("a bug")


async def _rows(request: bytes, context: grpc.aio.ServicerContext):  # type: ignore[no-untyped-def]
    for row in (b"1", b"2"):
        yield row


async def test_the_server_and_the_client_count_a_call_by_method_and_status(tmp_path: Path) -> None:
    server = grpc.aio.server(interceptors=[metrics.ServerMetrics()])
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("unit.Test", {
        "Ok": grpc.unary_unary_rpc_method_handler(_ok),
        "Missing": grpc.unary_unary_rpc_method_handler(_missing),
        "Broken": grpc.unary_unary_rpc_method_handler(_broken),
        "Rows": grpc.unary_stream_rpc_method_handler(_rows),
    }),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    served = {m: value("greenladder_grpc_server_requests_total", method=f"/unit.Test/{m}",
                       code=c)
              for m, c in (("Ok", "OK"), ("Missing", "NOT_FOUND"), ("Broken", "UNKNOWN"),
                           ("Rows", "OK"))}
    called = value("greenladder_grpc_client_requests_total", service="unit",
                   method="/unit.Test/Missing", code="NOT_FOUND")
    client = ServiceClient("unit", f"127.0.0.1:{port}", Settings(var_dir=tmp_path,
                                                                  otel_exporter="none"))
    try:
        channel = client.channel
        assert await client.call(channel.unary_unary("/unit.Test/Ok"), b"", token="t",
                                 tenant="320000") == b"ok"
        with pytest.raises(RemoteError):
            await client.call(channel.unary_unary("/unit.Test/Missing"), b"", token="t",
                              tenant="320000")
        with pytest.raises(RemoteError):
            await client.call(channel.unary_unary("/unit.Test/Broken"), b"", token="t",
                              tenant="320000")
        rows = [r async for r in client.stream(channel.unary_stream("/unit.Test/Rows"), b"",
                                               token="t", tenant="320000")]
        assert rows == [b"1", b"2"]
    finally:
        await client.close()
        await server.stop(0)

    assert value("greenladder_grpc_server_requests_total", method="/unit.Test/Ok",
                 code="OK") == served["Ok"] + 1
    assert value("greenladder_grpc_server_requests_total", method="/unit.Test/Missing",
                 code="NOT_FOUND") == served["Missing"] + 1
    assert value("greenladder_grpc_server_requests_total", method="/unit.Test/Broken",
                 code="UNKNOWN") == served["Broken"] + 1
    assert value("greenladder_grpc_server_requests_total", method="/unit.Test/Rows",
                 code="OK") == served["Rows"] + 1
    assert value("greenladder_grpc_server_duration_seconds_count",
                 method="/unit.Test/Ok") >= 1
    assert value("greenladder_grpc_client_requests_total", service="unit",
                 method="/unit.Test/Missing", code="NOT_FOUND") == called + 1
    assert value("greenladder_grpc_client_requests_total", service="unit",
                 method="/unit.Test/Rows", code="OK") >= 1


# --- settings -----------------------------------------------------------------------------------


def test_a_metrics_port_is_the_process_port_plus_1000_unless_set() -> None:
    assert metrics.port_for(0, 50161) == 51161  # a service: its gRPC port
    assert metrics.port_for(0, 8800) == 9800    # the gateway: its HTTP port
    assert metrics.port_for(9101, 50161) == 9101
    with pytest.raises(ValueError, match="GL_METRICS_PORT"):
        metrics.port_for(0, 65000)
    assert Settings.model_fields["metrics_host"].default == "127.0.0.1"  # internal by default


def test_metrics_are_served_on_their_own_port_or_not_at_all(
        caplog: pytest.LogCaptureFixture) -> None:
    port, stop = metrics.start("127.0.0.1", free_port(), 8800)
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert answer.status_code == 200
        assert "greenladder_http_requests" in answer.text
        with socket.socket() as taken:  # a port another program holds: served on without it
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            with caplog.at_level(logging.ERROR, logger="greenladder.metrics"):
                assert metrics.start("127.0.0.1", taken.getsockname()[1], 8800)[0] == 0
        assert [r.msg for r in caplog.records if r.levelno == logging.ERROR] == [
            "metrics not served"]
    finally:
        stop()
    with pytest.raises(httpx.ConnectError):  # stopped: the port is free again
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)


async def test_the_gateways_api_port_has_no_metrics(tmp_path: Path) -> None:
    app = create_app(Settings(var_dir=tmp_path, otel_exporter="none"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://gw") as http:
        answer = await http.get("/metrics")
    assert answer.status_code == 404  # like any unknown path
    assert "greenladder_" not in answer.text


def test_an_unknown_trace_exporter_is_refused_when_the_settings_are_read(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="console.*otlp.*none"):
        Settings(var_dir=tmp_path, otel_exporter="jaeger")  # type: ignore[arg-type]
    assert Settings(var_dir=tmp_path, otel_exporter="otlp").otel_exporter == "otlp"
