"""Prometheus metrics of one process (ARCHITECTURE §9; every metric in docs/operator-guide.md,
"Metrics").

One registry per process (``REGISTRY``), so the gateway and every service expose the same names
and ``greenladder_process_info{service=…}`` says which process answered. Labels take only
bounded values: a route's *template* (never the raw path), a registered gRPC method, a status
code, a consumer's name, an event type from the contract, a tenant code (38 at most).

The request path pays a dictionary look-up and two increments per call: the label children are
cached here (``_Children``) rather than resolved by ``labels()``, which takes a lock and builds a
tuple every time (issue 11: the request path stays fast).

Every process, the gateway included, serves its metrics on a port of its own (``start``) with
prometheus_client's threaded HTTP server rather than an asyncio one: a scrape's work (the outbox
counts below, the rendering) then runs off the event loop and off the gateway's shared thread
pool by construction, the server is the library's own, and it stops with ``shutdown()``. A port
of its own, not the gateway's public one, so the metrics stay on the internal network
(``GL_METRICS_HOST``, 127.0.0.1 by default) whatever address the API listens on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol
from wsgiref.simple_server import WSGIServer

import grpc
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

logger = logging.getLogger("greenladder.metrics")

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

UNMATCHED = "unmatched"  # the route label of a request no route matched
# Latency buckets (seconds): a fast read to a slow import or report.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

PROCESS = Gauge("greenladder_process_info", "Always 1; its service label names the process.",
                ["service"], registry=REGISTRY)
HTTP_REQUESTS = Counter("greenladder_http_requests", "HTTP requests answered by the gateway.",
                        ["route", "method", "status"], registry=REGISTRY)
HTTP_SECONDS = Histogram("greenladder_http_request_duration_seconds",
                         "Time from the request's arrival to the end of its answer.",
                         ["route", "method"], buckets=BUCKETS, registry=REGISTRY)
GRPC_SERVER_REQUESTS = Counter("greenladder_grpc_server_requests",
                               "gRPC calls served, by method and status code.",
                               ["method", "code"], registry=REGISTRY)
GRPC_SERVER_SECONDS = Histogram("greenladder_grpc_server_duration_seconds",
                                "Time to serve a gRPC call (a stream: until its last message).",
                                ["method"], buckets=BUCKETS, registry=REGISTRY)
GRPC_CLIENT_REQUESTS = Counter("greenladder_grpc_client_requests",
                               "gRPC calls made to another service, by method and status code.",
                               ["service", "method", "code"], registry=REGISTRY)
GRPC_CLIENT_SECONDS = Histogram("greenladder_grpc_client_duration_seconds",
                                "Time a gRPC call to another service took, as its caller saw it.",
                                ["service", "method"], buckets=BUCKETS, registry=REGISTRY)
EVENTS_PUBLISHED = Counter("greenladder_events_published",
                           "Events the relay published from the outbox to JetStream.",
                           ["type"], registry=REGISTRY)
EVENTS_APPLIED = Counter("greenladder_events_applied",
                         "Events a consumer applied (not counting duplicates and events it "
                         "does not handle).", ["consumer"], registry=REGISTRY)
DEAD_LETTERS = Counter("greenladder_dead_letters",
                       "Events a consumer sent to the dead-letter subject.",
                       ["consumer"], registry=REGISTRY)
CONSUMER_PENDING = Gauge("greenladder_consumer_pending_messages",
                         "JetStream num_pending of a durable consumer: messages not yet "
                         "delivered to it (its lag).", ["consumer"], registry=REGISTRY)
CONSUMER_ACK_PENDING = Gauge("greenladder_consumer_ack_pending_messages",
                             "Messages delivered to a durable consumer and not yet acknowledged.",
                             ["consumer"], registry=REGISTRY)
CONSUMER_LAG_EVERY = 5.0  # seconds: how often a consumer loop asks JetStream for its lag


class _Children:
    """A metric's label children, resolved once per label tuple."""

    __slots__ = ("_cache", "_metric")

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._cache: dict[tuple[str, ...], Any] = {}

    def __call__(self, *labels: str) -> Any:
        child = self._cache.get(labels)
        if child is None:
            child = self._cache[labels] = self._metric.labels(*labels)
        return child


_http_requests = _Children(HTTP_REQUESTS)
_http_seconds = _Children(HTTP_SECONDS)
_server_requests = _Children(GRPC_SERVER_REQUESTS)
_server_seconds = _Children(GRPC_SERVER_SECONDS)
_client_requests = _Children(GRPC_CLIENT_REQUESTS)
_client_seconds = _Children(GRPC_CLIENT_SECONDS)
_published = _Children(EVENTS_PUBLISHED)
applied = _Children(EVENTS_APPLIED)
dead_letters = _Children(DEAD_LETTERS)
pending = _Children(CONSUMER_PENDING)
ack_pending = _Children(CONSUMER_ACK_PENDING)


def identify(service: str) -> None:
    PROCESS.labels(service).set(1)


def http_request(route: str, method: str, status: int, seconds: float) -> None:
    _http_requests(route, method, str(status)).inc()
    _http_seconds(route, method).observe(seconds)


def published(event_type: str) -> None:
    _published(event_type).inc()


def consumer_seen(consumer: str) -> None:
    """A consumer's series exist (at 0) from its start: an alert on dead letters needs them."""
    applied(consumer)
    dead_letters(consumer)


# --- gRPC ---------------------------------------------------------------------------------------


def method_name(method: Any) -> str:
    """The full name (``/pkg.Service/Method``) of a stub's method: grpc keeps it as ``_method``
    on the multi-callable (tests' stand-ins have a ``__name__``)."""
    raw = getattr(method, "_method", None)
    if isinstance(raw, bytes):
        return raw.decode()
    return raw if isinstance(raw, str) else getattr(method, "__name__", "unknown")


def client_call(service: str, method: str, code: str, seconds: float) -> None:
    _client_requests(service, method, code).inc()
    _client_seconds(service, method).observe(seconds)


def server_call(method: str, code: str, seconds: float) -> None:
    _server_requests(method, code).inc()
    _server_seconds(method).observe(seconds)


def status_of(context: grpc.aio.ServicerContext, failed: bool) -> str:
    """The status a call ended with: the code set on it (an abort sets one), else OK, or
    UNKNOWN for an exception that set none (what grpc answers then)."""
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "UNKNOWN" if failed else "OK"


class ServerMetrics(grpc.aio.ServerInterceptor):
    """Counts and times every call by method and status code; the outermost interceptor, so a
    refusal by the identity or tenant check is counted with its status too. Only registered
    methods are counted (an unknown one has no handler), so the method label stays bounded."""

    def __init__(self) -> None:
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}  # measured once per method

    async def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
        measured = self._handlers.get(details.method)
        if measured is not None:
            return measured
        handler = await continuation(details)
        if handler is None or details.method.startswith("/grpc."):  # health, reflection
            return handler
        measured = self._handlers[details.method] = _measured(handler, details.method)
        return measured


def _measured(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    if handler.unary_unary is not None:
        unary = handler.unary_unary

        async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
            start, failed, code = time.perf_counter(), True, ""
            try:
                answer = await unary(request, context)
                failed = False
                return answer
            except asyncio.CancelledError:
                code = "CANCELLED"  # the caller went away or its deadline passed
                raise
            finally:
                server_call(method, code or status_of(context, failed),
                            time.perf_counter() - start)

        return grpc.unary_unary_rpc_method_handler(
            behavior, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
    if handler.unary_stream is not None:
        stream = handler.unary_stream

        async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            start, failed, code = time.perf_counter(), True, ""
            try:
                async for message in stream(request, context):
                    yield message
                failed = False
            except (asyncio.CancelledError, GeneratorExit):
                code = "CANCELLED"
                raise
            finally:
                server_call(method, code or status_of(context, failed),
                            time.perf_counter() - start)

        return grpc.unary_stream_rpc_method_handler(
            streaming, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
    return handler  # client streaming: the kernel serves none (rpc.server._wrap refuses it)



# --- the outbox backlog, counted at scrape time --------------------------------------------------


class Outboxes(Protocol):
    """What the backlog needs of a ``Database`` (the kernel's db imports nothing from here)."""

    service: str

    def tenants(self) -> tuple[str, ...]: ...

    def session(self, tenant: str, *, write: bool = False) -> Any: ...


class OutboxBacklog:
    """``greenladder_outbox_backlog_events{tenant}``: unpublished outbox rows, counted when
    scraped. Counted rather than kept by the relay: a count is true even when the relay is stuck
    or the process restarted, and it is cheap — one indexed COUNT per tenant
    (``outbox.published_at`` is indexed; ~1 ms per SQLite file, docs/operator-guide.md). A count
    that fails is left out of that scrape and logged, never a failed scrape."""

    def __init__(self) -> None:
        self.source: Outboxes | None = None

    def collect(self) -> Iterator[Metric]:
        source = self.source
        if source is None:
            return
        family = GaugeMetricFamily("greenladder_outbox_backlog_events",
                                   "Outbox rows not yet published to JetStream, per tenant.",
                                   labels=["tenant"])
        for tenant, count in backlog(source):
            family.add_metric([tenant], count)
        yield family


def backlog(source: Outboxes) -> list[tuple[str, int]]:
    from sqlmodel import func, select

    from services.kernel.bus.outbox import Outbox

    counts = []
    for tenant in source.tenants():
        try:
            with source.session(tenant) as s:
                count = s.exec(select(func.count()).select_from(Outbox)
                               .where(Outbox.published_at.is_(None))).one()  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - a scrape never fails for one tenant
            logger.warning("outbox backlog of %s not counted: %r", tenant, exc)
            continue
        counts.append((tenant, int(count)))
    return counts


OUTBOX = OutboxBacklog()
REGISTRY.register(OUTBOX)  # type: ignore[arg-type]


def watch_outbox(source: Outboxes) -> None:
    """Count this database's outbox at every scrape (the relay of the process calls it)."""
    OUTBOX.source = source


# --- exposition ---------------------------------------------------------------------------------


def render() -> bytes:
    """The Prometheus text of this process (blocking: the outbox counts read the database)."""
    return generate_latest(REGISTRY)


def port_for(metrics_port: int, base_port: int) -> int:
    """A process's metrics port: ``GL_METRICS_PORT``, or 0 → its own port + 1000 (a service's gRPC
    port: registry 50161 → 51161; the gateway's HTTP port: 8800 → 9800), simple to predict; the
    launcher passes one it chose instead."""
    if metrics_port:
        return metrics_port
    if base_port + 1000 > 65535:
        raise ValueError(f"port {base_port} + 1000 is no port: set GL_METRICS_PORT")
    return base_port + 1000


def serve_http(host: str, port: int) -> tuple[WSGIServer, Callable[[], None]]:
    """``/metrics`` on ``host:port`` from a daemon thread; returns the server and its stop."""
    server, thread = start_http_server(port, addr=host, registry=REGISTRY)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return server, stop


def start(host: str, metrics_port: int, base_port: int) -> tuple[int, Callable[[], None]]:
    """Serve ``/metrics`` (``port_for``); returns its port and its stop. A port that cannot be had
    (taken, or no port) is logged as an ERROR and the process serves on without metrics (port
    0): they are for watching it, and must not be the reason it is down."""
    try:
        port = port_for(metrics_port, base_port)
        _, stop = serve_http(host, port)
    except (OSError, ValueError, OverflowError) as exc:
        # telemetry.log's shape (telemetry imports this module, so not through it)
        logger.error("metrics not served", extra={"fields": {"error": repr(exc)}})
        return 0, lambda: None
    return port, stop
