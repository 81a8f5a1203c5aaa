"""Traces to an OTLP collector (issue 10 §4): a gateway and a service started with
``GL_OTEL_EXPORTER=otlp`` send their spans over OTLP/gRPC to a real collector (a small gRPC server
implementing the OpenTelemetry trace service, in this process), named by route template and gRPC
method, each under its process's ``service.name``, in one trace."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from deploy.local.stack import Stack
from tests.conftest import make_stack
from tests.helpers import login, wait_for

pytestmark = pytest.mark.stack


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """Keeps every span it receives as (service.name, span name, trace id)."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()

    def Export(self, request, context):  # type: ignore[no-untyped-def]
        with self.lock:
            for resource_spans in request.resource_spans:
                attributes = {a.key: a.value.string_value
                              for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append((attributes.get("service.name", ""), span.name,
                                           span.trace_id.hex()))
        return trace_service_pb2.ExportTraceServiceResponse()

    def seen(self) -> list[tuple[str, str, str]]:
        with self.lock:
            return list(self.spans)


@pytest.fixture
def collector() -> Iterator[tuple[Collector, int]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    received = Collector()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(received, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield received, port
    finally:
        server.stop(0)


def test_spans_reach_an_otlp_collector(tmp_path: Path, collector) -> None:  # type: ignore[no-untyped-def]
    received, port = collector
    stack: Stack = make_stack(tmp_path, seed_demo=True, services=("registry",))
    stack.env.update(GL_OTEL_EXPORTER="otlp", GL_OTEL_ENDPOINT=f"127.0.0.1:{port}",
                     GL_OTEL_SAMPLE_RATIO="1",  # every request traced (the default samples 1 %)
                     OTEL_BSP_SCHEDULE_DELAY="200")  # the batch goes out within 0.2 s
    try:
        stack.start()
        province = login(stack, "jiangsu")
        assert province.get("/api/v1/tenants/320000/units").status_code == 200

        route = ("greenladder-gateway", "GET /api/v1/tenants/{tenant}/units")
        method = ("greenladder-registry", "/greenladder.registry.v1.Registry/FindUnits")

        def arrived() -> list[tuple[str, str, str]] | None:
            spans = received.seen()
            names = {(service, name) for service, name, _ in spans}
            return spans if route in names and method in names else None

        spans = wait_for(arrived, timeout=30)
        http_traces = {t for s, n, t in spans if (s, n) == route}
        rpc_traces = {t for s, n, t in spans if (s, n) == method}
        assert http_traces & rpc_traces  # the service's span continues the request's trace
        assert not any("320000" in name for _, name, _ in spans if name.startswith("GET "))
    finally:
        stack.stop()
        stack.drop_shared()
