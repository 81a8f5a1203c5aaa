"""A channel to another service (ARCHITECTURE §7): every call carries a deadline, the caller's
internal token, the tenant, the language and the trace context; UNAVAILABLE is retried (every
command is idempotent); refusals come back as ``RemoteError``; every call is counted.

No gRPC client interceptor: in grpc's asyncio API an intercepted call runs through extra tasks
and wrappers that cost more than the call itself (issue 11's profiles). The trace context is
written into the metadata here instead, and a client span is made only when the caller's trace is
sampled.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
from opentelemetry import trace

from services.kernel import metrics, telemetry
from services.kernel.config import Settings
from services.kernel.errors import DomainError, Kind, kind_of_status, render
from services.kernel.rpc.calls import (
    ERROR_CODE,
    ERROR_KIND,
    ERROR_PARAMS,
    LANG,
    MAX_MESSAGE,
    TENANT,
    TOKEN,
    TRACEPARENT,
    current_language,
    current_token,
)
from services.kernel.telemetry import log

logger = logging.getLogger("greenladder.rpc")
_tracer = trace.get_tracer("greenladder.rpc.client")


class RemoteError(DomainError):
    """A refusal from another service, with the message it already rendered."""

    def __init__(self, code: str, kind: Kind, text: str, params: dict[str, Any]) -> None:
        super().__init__(code, kind, **params)
        self.text = text

    def message(self, lang: str = "zh") -> str:
        return self.text

    @classmethod
    def from_rpc(cls, err: grpc.aio.AioRpcError, service: str, lang: str) -> RemoteError:
        md = {k: v for k, v in (err.trailing_metadata() or ())}
        code = md.get(ERROR_CODE)
        if isinstance(code, str):
            raw = md.get(ERROR_PARAMS, b"{}")
            named = md.get(ERROR_KIND)
            kind = (Kind[named] if isinstance(named, str) and named in Kind.__members__
                    and Kind[named].grpc_status == err.code() else kind_of_status(err.code()))
            return cls(code, kind, err.details() or code, json.loads(raw or b"{}"))
        if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return cls("unavailable", Kind.UNAVAILABLE, render("unavailable", lang, service=service),
                       {"service": service})
        return cls("internal", Kind.INTERNAL, render("internal", lang), {})


_RETRY = json.dumps({
    "methodConfig": [{
        "name": [{}],
        "retryPolicy": {
            "maxAttempts": 4,
            "initialBackoff": "0.2s",
            "maxBackoff": "2s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }]
})


class ServiceClient:
    """A channel to one service; every call carries deadline, token, tenant and language."""

    def __init__(self, service: str, addr: str, settings: Settings, *,
                 channel: grpc.aio.Channel | None = None) -> None:
        """``channel``: one of the caller's own (tests stand a recording channel in for the
        network); by default a channel to ``addr`` that retries UNAVAILABLE."""
        self.service = service
        self.settings = settings
        self.timeout = settings.rpc_timeout_seconds
        self._stubs: dict[type, Any] = {}
        self.channel = channel or grpc.aio.insecure_channel(
            addr,
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE),
                ("grpc.max_send_message_length", MAX_MESSAGE),
                ("grpc.enable_retries", 1),
                ("grpc.service_config", _RETRY),
            ],
        )

    def stub(self, stub_class: type) -> Any:
        """One stub per class: building one makes a callable per method (~50 µs)."""
        stub = self._stubs.get(stub_class)
        if stub is None:
            stub = self._stubs[stub_class] = stub_class(self.channel)
        return stub

    async def on_behalf(self, method: Any, request: Any, *, tenant: str,
                        timeout: float | None = None) -> Any:
        """Call another service for the caller being served, with its token and language."""
        return await self.call(method, request, token=current_token(), tenant=tenant,
                               lang=current_language(), timeout=timeout)

    async def call(
        self, method: Any, request: Any, *, token: str, tenant: str, lang: str = "zh",
        timeout: float | None = None,
    ) -> Any:
        name = metrics.method_name(method)
        if trace.get_current_span().is_recording():  # a sampled trace: the call is a span of it
            with _tracer.start_as_current_span(name, kind=trace.SpanKind.CLIENT):
                return await self._call(method, name, request, token, tenant, lang, timeout)
        return await self._call(method, name, request, token, tenant, lang, timeout)

    async def _call(self, method: Any, name: str, request: Any, token: str, tenant: str,
                    lang: str, timeout: float | None) -> Any:
        metadata = _metadata(token, tenant, lang)
        start, code = time.perf_counter(), "CANCELLED"
        try:
            answer = await method(request, metadata=metadata, timeout=timeout or self.timeout)
            code = "OK"
            return answer
        except grpc.aio.AioRpcError as err:
            code = err.code().name
            raise self._refusal(err, lang) from None
        finally:
            metrics.client_call(self.service, name, code, time.perf_counter() - start)

    async def stream(
        self, method: Any, request: Any, *, token: str, tenant: str, lang: str = "zh",
        timeout: float | None = None,
    ) -> AsyncIterator[Any]:
        """A server-streaming call, message by message (``timeout`` bounds the whole stream); a
        refusal, before the first message or later, is a ``RemoteError`` as for ``call``. Left
        early (the consumer stops or is cancelled), the call is cancelled."""
        start, code = time.perf_counter(), "CANCELLED"  # left early: the call is cancelled
        call = method(request, metadata=_metadata(token, tenant, lang),
                      timeout=timeout or self.timeout)
        try:
            async for message in call:
                yield message
            code = "OK"
        except grpc.aio.AioRpcError as err:
            code = err.code().name
            raise self._refusal(err, lang) from None
        finally:
            call.cancel()
            metrics.client_call(self.service, metrics.method_name(method), code,
                                time.perf_counter() - start)

    def _refusal(self, err: grpc.aio.AioRpcError, lang: str) -> RemoteError:
        if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            log(logger, "service unavailable", logging.WARNING, service=self.service,
                error=err.details())
        return RemoteError.from_rpc(err, self.service, lang)

    async def close(self) -> None:
        await self.channel.close()


def _metadata(token: str, tenant: str, lang: str) -> tuple[tuple[str, str], ...]:
    parent = telemetry.current_traceparent()
    if parent:
        return (TOKEN, token), (TENANT, tenant), (LANG, lang), (TRACEPARENT, parent)
    return (TOKEN, token), (TENANT, tenant), (LANG, lang)
