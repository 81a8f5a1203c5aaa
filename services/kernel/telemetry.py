"""OpenTelemetry and structured logs (ARCHITECTURE §9).

One trace runs from the HTTP request through every gRPC call and across NATS to each consumer:
gRPC by the ``traceparent`` the kernel's client puts in a call's metadata (``rpc``), NATS by the
one the outbox stores at write time. New traces are sampled at ``GL_OTEL_SAMPLE_RATIO``; a trace
once sampled (or not) stays so in every process it reaches. Logs are JSON lines carrying trace
id, tenant and actor.

Spans go where ``GL_OTEL_EXPORTER`` says: ``console`` (JSON lines, ``JsonLinesExporter``),
``otlp`` (a collector over OTLP/gRPC at ``GL_OTEL_ENDPOINT``, batched), or ``none``; any other
value is refused when the settings are read, before the process does anything.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import orjson
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from services.kernel import clock, metrics
from services.kernel.config import Settings

_configured = False


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        from services.kernel.identity import peek_identity
        from services.kernel.tenancy import current_tenant

        try:
            tenant = current_tenant()
        except RuntimeError:
            tenant = ""

        ident = peek_identity()
        entry: dict[str, Any] = {
            "ts": clock.now().isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
            "trace_id": current_trace_id(),
            "tenant": tenant,
            "actor": ident.subject if ident else "",
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        # orjson: a third of the standard encoder's time on the access log's every line
        return orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def setup(service: str, settings: Settings) -> None:
    """Logs, traces and the process's name on its metrics; safe to call twice."""
    global _configured
    if _configured:
        return
    _configured = True
    metrics.identify(service)
    handler: logging.Handler = (
        logging.FileHandler(settings.log_file, encoding="utf-8")
        if settings.log_file
        else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for noisy in ("nats", "httpx", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    provider = TracerProvider(
        resource=Resource.create({"service.name": f"greenladder-{service}"}),
        sampler=ParentBased(TraceIdRatioBased(settings.otel_sample_ratio)),
    )
    if settings.otel_exporter == "console":
        out = (open(settings.otel_file, "a", encoding="utf-8")  # noqa: SIM115 - the exporter's
               if settings.otel_file else sys.stderr)            # until its shutdown
        provider.add_span_processor(BatchSpanProcessor(JsonLinesExporter(service, out)))
    elif settings.otel_exporter == "otlp":
        provider.add_span_processor(BatchSpanProcessor(otlp_exporter(settings.otel_endpoint)))
    trace.set_tracer_provider(provider)


DEFAULT_OTLP_ENDPOINT = "localhost:4317"


def otlp_exporter(endpoint: str) -> SpanExporter:
    """OTLP over gRPC to ``endpoint``: ``host:port`` or ``http://host:port`` in plain text (a
    collector beside the process), ``https://host:port`` over TLS."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    endpoint = endpoint or DEFAULT_OTLP_ENDPOINT
    return OTLPSpanExporter(endpoint=endpoint, insecure=not endpoint.startswith("https://"))


class JsonLinesExporter(SpanExporter):
    """One compact JSON line per span. The SDK's console exporter re-serialises the resource and
    every attribute of every span, which cost the gateway ~15% of its CPU under load."""

    def __init__(self, service: str, out: Any) -> None:
        self.service = service
        self.out = out

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for span in spans:
            ctx = span.context
            lines.append(json.dumps({
                "service": self.service,
                "name": span.name,
                "trace_id": format(ctx.trace_id, "032x"),
                "span_id": format(ctx.span_id, "016x"),
                "parent_id": format(span.parent.span_id, "016x") if span.parent else "",
                "kind": span.kind.name,
                "start": span.start_time,
                "end": span.end_time,
                "status": span.status.status_code.name,
            }, ensure_ascii=False))
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        if self.out is not sys.stderr:
            self.out.close()


def log(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: Any) -> None:
    logger.log(level, msg, extra={"fields": fields})


def current_traceparent() -> str:
    """The W3C ``traceparent`` of the current span ("" outside any trace), for a gRPC call's
    metadata and an event's header: a call served for an unsampled trace passes that decision
    on (``continued``). Written directly: the propagation API's carriers cost more than the
    call's own metadata."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return _unsampled.get()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"


_W3C = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("greenladder")  # a proxy: follows the provider ``setup`` sets
_unsampled: contextvars.ContextVar[str] = contextvars.ContextVar("unsampled", default="")
_TRACEPARENT = re.compile(r"00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")


class within:  # lower case: read as ``with within(parent):``
    """Work that belongs to the trace ``parent`` names (its ``traceparent``) without a span of
    its own: its log lines carry that trace id, and its calls and events carry ``parent`` on
    (``current_traceparent``). For a caller's trace that is not sampled, and for what a consumer
    logs of an event once its transaction has committed."""

    __slots__ = ("parent", "token")

    def __init__(self, parent: str) -> None:
        self.parent = parent if _TRACEPARENT.fullmatch(parent) else ""

    def __enter__(self) -> None:
        self.token = _unsampled.set(self.parent)

    def __exit__(self, *_exc: object) -> None:
        _unsampled.reset(self.token)


def current_trace_id() -> str:
    """The id of the trace the current work belongs to ("" if none), for log lines."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        return format(ctx.trace_id, "032x")
    return _unsampled.get()[3:35]


def continued(name: str, parent: str, kind: trace.SpanKind = trace.SpanKind.SERVER, *,
              edge: bool = False) -> AbstractContextManager[Any]:
    """A span ``name`` continuing the caller's trace (``parent``, its ``traceparent``), as the
    sampler decides: a root by the configured ratio when there is no parent, the parent's choice
    when there is one. A parent not sampled (flags ``00``) makes no span — a span the sampler
    drops still costs its making (issue 11) — but its ``traceparent`` goes on with every call
    and event of this one, so nothing downstream starts a trace of its own for it. At the
    ``edge`` (the gateway) the span is always made, recording or not, so the decision travels on
    to every service the request reaches."""
    if not edge and parent.endswith("-00") and _TRACEPARENT.fullmatch(parent):
        return within(parent)
    ctx = _W3C.extract({"traceparent": parent}) if parent else None
    return _tracer.start_as_current_span(name, context=ctx, kind=kind)
