"""gRPC, server and client (ARCHITECTURE §1, §7).

Server interceptors, outermost first: metrics, telemetry, identity (the gateway-signed internal
token), tenant (named in metadata, checked against the identity's jurisdictions). Domain errors
become status codes here and only here, with the message in the caller's language and the stable
code and parameters in trailing metadata. Clients always send a deadline, the token, the tenant
and the language, retry UNAVAILABLE (every command is idempotent), and are counted (``metrics``).
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import grpc
from google.protobuf.message import Message
from opentelemetry.instrumentation.grpc import aio_client_interceptors, aio_server_interceptor

from services.kernel import clock, metrics, signing
from services.kernel.config import Settings
from services.kernel.crossings import crossing_for_read
from services.kernel.errors import (
    DomainError,
    Kind,
    Refusal,
    kind_of_status,
    language,
    nul_refusal,
    refuse,
    render,
)
from services.kernel.identity import (
    REVOKED,
    Identity,
    reset_identity,
    set_identity,
    verify_internal_token,
)
from services.kernel.telemetry import log
from services.kernel.tenancy import is_tenant, tenant_scope

logger = logging.getLogger("greenladder.rpc")

TOKEN = "x-gl-token"
TENANT = "x-gl-tenant"
LANG = "accept-language"
ERROR_CODE = "gl-error-code"
ERROR_PARAMS = "gl-error-params-bin"
ERROR_KIND = "gl-error-kind"  # the refusal's Kind: one gRPC status may stand for two (413, 429)
MAX_MESSAGE = 16 * 1024 * 1024

_lang: contextvars.ContextVar[str] = contextvars.ContextVar("lang", default="zh")


_token: contextvars.ContextVar[str] = contextvars.ContextVar("token", default="")


def current_language() -> str:
    return _lang.get()


def current_token() -> str:
    """The internal token of the call being served: a service asking another service on the
    caller's behalf forwards it, so the other service judges the same caller."""
    return _token.get()


Guard = Callable[[Any, grpc.aio.ServicerContext], AbstractAsyncContextManager[None]]


def _wrap(handler: grpc.RpcMethodHandler | None, guard: Guard) -> grpc.RpcMethodHandler | None:
    """``handler`` run inside ``guard`` (an interceptor's checks and scope for one call): a unary
    method's whole call, a server-streaming method's every message (a refusal before the first
    message is a clean status; the scope holds while it streams). A client-streaming method
    would pass unguarded, so there is none: it is refused here rather than served."""
    if handler is None:
        return handler
    if handler.unary_unary is not None:
        unary = handler.unary_unary

        async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async with guard(request, context):
                return await unary(request, context)

        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream is not None:
        stream = handler.unary_stream

        async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async with guard(request, context):
                async for message in stream(request, context):
                    yield message

        return grpc.unary_stream_rpc_method_handler(
            streaming,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    raise TypeError("client-streaming gRPC methods are not guarded by the kernel's interceptors")


def _metadata(details: grpc.HandlerCallDetails) -> dict[str, str]:
    return {k: v for k, v in (details.invocation_metadata or ()) if isinstance(v, str)}


def _internal(method: str) -> bool:
    return method.startswith("/grpc.")  # health, reflection


class IdentityInterceptor(grpc.aio.ServerInterceptor):
    """Verifies the internal token and maps every domain error of the call to a status."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ring = signing.load(settings.keys, "gateway", public_only=True)
        self._reloaded = time.monotonic()
        self._verified: dict[str, tuple[float, Identity, int]] = {}

    def _verify(self, token: str) -> Identity:
        # The gateway reuses a token for minutes: verify its signature once, then until expiry
        # (the expiry is checked against the platform clock on every call).
        if time.monotonic() - self._reloaded > 60:
            self._reload()  # a key removed from the folder stops being trusted within a minute
        cached = self._verified.get(token)
        if cached is not None and cached[0] > clock.now().timestamp():
            refuse(REVOKED.refusal(cached[1].subject, cached[2]))  # a logout ends it at once
            return cached[1]
        identity, expires, issued_ms = self._verify_signature(token)
        if len(self._verified) > 10000:
            self._verified.clear()
        self._verified[token] = (expires, identity, issued_ms)
        return identity

    def _verify_signature(self, token: str) -> tuple[Identity, float, int]:
        try:
            return verify_internal_token(self.ring, token)
        except DomainError as exc:
            # A rotated key the gateway started using after we loaded ours: reload once a second.
            if exc.code == "auth.token_invalid" and time.monotonic() - self._reloaded > 1:
                self._reload()
                return verify_internal_token(self.ring, token)
            raise

    def _reload(self) -> None:
        self._reloaded = time.monotonic()
        self.ring = signing.load(self.settings.keys, "gateway", public_only=True)
        self._verified.clear()

    async def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
        handler = await continuation(details)
        if _internal(details.method):
            return handler
        md = _metadata(details)
        lang = language(md.get(LANG))

        @asynccontextmanager
        async def guard(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
            _lang.set(lang)
            _token.set(md.get(TOKEN, ""))
            token_ctx = None
            try:
                if not md.get(TOKEN):
                    raise DomainError("auth.required", Kind.UNAUTHENTICATED)
                token_ctx = set_identity(self._verify(md[TOKEN]))
                refuse(text_refusal(request))
                yield
            except DomainError as exc:
                await _abort(context, exc, lang)
            except Exception:  # never leak internals; log them
                logger.exception("unhandled error in %s", details.method)
                await context.abort(grpc.StatusCode.INTERNAL, render("internal", lang),
                                    trailing_metadata=((ERROR_CODE, "internal"),))
            finally:
                if token_ctx is not None:
                    reset_identity(token_ctx)

        return _wrap(handler, guard)


def text_refusal(message: Message, prefix: str = "") -> Refusal | None:
    """The first string field of a request (nested messages, lists and maps included) holding a
    NUL character, refused by its path (``suppliers[0].name``): no service stores one, on any
    storage, whoever the caller."""
    for f, value in message.ListFields():
        name = f"{prefix}{f.name}"
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            entry = f.message_type.fields_by_name["value"]
            for key, item in value.items():
                path = f"{name}[{key!r}]"
                refusal = (nul_refusal(key, name) if isinstance(key, str) else None) or (
                    text_refusal(item, path + ".") if entry.message_type is not None
                    else nul_refusal(item, path) if isinstance(item, str) else None)
                if refusal:
                    return refusal
        elif f.message_type is None:  # a scalar: its text (not bytes) is checked
            items = value if f.is_repeated else [value]
            for i, item in enumerate(items):
                path = f"{name}[{i}]" if f.is_repeated else name
                refusal = nul_refusal(item, path) if isinstance(item, str) else None
                if refusal:
                    return refusal
        elif f.message_type is not None:
            items = value if f.is_repeated else [value]
            for i, item in enumerate(items):
                refusal = text_refusal(item, f"{name}[{i}]." if f.is_repeated else f"{name}.")
                if refusal:
                    return refusal
    return None


class TenantInterceptor(grpc.aio.ServerInterceptor):
    """The tenant of the call comes from metadata, and the identity must hold a grant there."""

    def __init__(self, tenants: Callable[[], tuple[str, ...]]) -> None:
        self.tenants = tenants

    async def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
        handler = await continuation(details)
        if _internal(details.method):
            return handler
        tenant = _metadata(details).get(TENANT, "")

        @asynccontextmanager
        async def guard(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
            from services.kernel.identity import current_identity

            if not is_tenant(tenant) or tenant not in self.tenants():
                raise DomainError("tenant.unknown", Kind.NOT_FOUND, tenant=tenant or "-")
            ident = current_identity()
            grants = ident.in_tenant(tenant)
            if not grants:
                raise DomainError("auth.wrong_tenant", Kind.FORBIDDEN, tenant=tenant)
            if all(g.tenant != tenant for g in grants):  # every crossing is logged (SPEC §2)
                crossing = crossing_for_read(grants[0].role, grants[0].tenant, tenant)
                log(logger, "cross-tenant call", crossing=crossing.name if crossing else "",
                    tenant=tenant, actor=ident.subject, method=details.method)
            with tenant_scope(tenant):
                yield

        return _wrap(handler, guard)


async def _abort(context: grpc.aio.ServicerContext, exc: DomainError, lang: str) -> None:
    params = json.dumps(exc.params, ensure_ascii=False, default=str).encode()
    await context.abort(
        exc.kind.grpc_status,
        exc.message(lang),
        trailing_metadata=((ERROR_CODE, exc.code), (ERROR_PARAMS, params),
                           (ERROR_KIND, exc.kind.name)),
    )


def create_server(settings: Settings, tenants: Callable[[], tuple[str, ...]]) -> grpc.aio.Server:
    return grpc.aio.server(
        interceptors=[metrics.ServerMetrics(), aio_server_interceptor(),
                      IdentityInterceptor(settings), TenantInterceptor(tenants)],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.max_send_message_length", MAX_MESSAGE),
        ],
    )


# --- client -------------------------------------------------------------------------------------


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
        self._stubs: dict[type, Any] = {}
        self.channel = channel or grpc.aio.insecure_channel(
            addr,
            interceptors=aio_client_interceptors(),
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
        metadata = ((TOKEN, token), (TENANT, tenant), (LANG, lang))
        start, code = time.perf_counter(), "CANCELLED"
        try:
            answer = await method(
                request, metadata=metadata, timeout=timeout or self.settings.rpc_timeout_seconds
            )
            code = "OK"
            return answer
        except grpc.aio.AioRpcError as err:
            code = err.code().name
            if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                log(logger, "service unavailable", logging.WARNING, service=self.service,
                    error=err.details())
            raise RemoteError.from_rpc(err, self.service, lang) from None
        finally:
            metrics.client_call(self.service, metrics.method_name(method), code,
                                time.perf_counter() - start)

    async def stream(
        self, method: Any, request: Any, *, token: str, tenant: str, lang: str = "zh",
        timeout: float | None = None,
    ) -> AsyncIterator[Any]:
        """A server-streaming call, message by message (``timeout`` bounds the whole stream); a
        refusal, before the first message or later, is a ``RemoteError`` as for ``call``. Left
        early (the consumer stops or is cancelled), the call is cancelled."""
        metadata = ((TOKEN, token), (TENANT, tenant), (LANG, lang))
        start, code = time.perf_counter(), "CANCELLED"  # left early: the call is cancelled
        call = method(request, metadata=metadata,
                      timeout=timeout or self.settings.rpc_timeout_seconds)
        try:
            async for message in call:
                yield message
            code = "OK"
        except grpc.aio.AioRpcError as err:
            code = err.code().name
            if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                log(logger, "service unavailable", logging.WARNING, service=self.service,
                    error=err.details())
            raise RemoteError.from_rpc(err, self.service, lang) from None
        finally:
            call.cancel()
            metrics.client_call(self.service, metrics.method_name(method), code,
                                time.perf_counter() - start)

    async def close(self) -> None:
        await self.channel.close()
