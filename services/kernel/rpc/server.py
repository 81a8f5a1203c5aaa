"""Every service's gRPC server (ARCHITECTURE §1, §7): ``create_server`` and its ``Guard``.

Interceptors, outermost first: ``metrics.ServerMetrics`` (every call counted and timed by method
and status), then ``Guard``, which for every call of a service's own methods

1. continues the caller's trace (``telemetry.continued``: a span only when the trace is sampled);
2. verifies the gateway-signed internal token (its signature once per token, its expiry and any
   logout on every call) and refuses text holding a NUL;
3. checks the tenant named in metadata against the identity's grants (a crossing is logged);
4. runs the method as that identity, in that tenant and language, and turns a domain error into
   its status: the message in the caller's language, the stable code and parameters in trailing
   metadata. Anything else is logged and answered INTERNAL, never leaked.

Both interceptors wrap a method's handler once and keep it: what varies per call is read from
the call's own metadata, so a call pays no handler building or closure making (issue 11).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf.message import Message

from services.kernel import clock, metrics, signing
from services.kernel.config import Settings
from services.kernel.crossings import crossing_for_read
from services.kernel.errors import DomainError, Kind, Refusal, language, nul_refusal, refuse, render
from services.kernel.identity import (
    REVOKED,
    Identity,
    reset_identity,
    set_identity,
    verify_internal_token,
)
from services.kernel.rpc.calls import (
    ERROR_CODE,
    ERROR_KIND,
    ERROR_PARAMS,
    LANG,
    MAX_MESSAGE,
    TENANT,
    TOKEN,
    TRACEPARENT,
    language_var,
    token_var,
)
from services.kernel.telemetry import continued, log
from services.kernel.tenancy import is_tenant, tenant_scope

logger = logging.getLogger("greenladder.rpc")


def internal(method: str) -> bool:
    """gRPC's own services (health, reflection): served to anyone, unguarded, uncounted."""
    return method.startswith("/grpc.")


class Tokens:
    """The gateway's internal tokens, verified: a token's signature once, then until it expires
    (the expiry checked against the platform clock, and a logout, on every call)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ring = signing.load(settings.keys, "gateway", public_only=True)
        self._reloaded = time.monotonic()
        self._verified: dict[str, tuple[float, Identity, int]] = {}

    def identity(self, token: str) -> Identity:
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


class Call:
    """What one call's metadata says: token, tenant, language, trace."""

    __slots__ = ("lang", "parent", "tenant", "token")

    @classmethod
    def begin(cls, context: grpc.aio.ServicerContext) -> Call:
        """The call's metadata read, its language and token made current."""
        call = cls(context)
        language_var.set(call.lang)
        token_var.set(call.token)
        return call

    def __init__(self, context: grpc.aio.ServicerContext) -> None:
        token = tenant = lang = parent = ""
        for key, value in context.invocation_metadata() or ():
            if key == TOKEN:
                token = value
            elif key == TENANT:
                tenant = value
            elif key == LANG:
                lang = value
            elif key == TRACEPARENT:
                parent = value
        # A binary (-bin) value of a text key is bytes: as good as absent.
        self.token = token if isinstance(token, str) else ""
        self.tenant = tenant if isinstance(tenant, str) else ""
        self.lang = language(lang if isinstance(lang, str) else "")
        self.parent = parent if isinstance(parent, str) else ""


class Guard(grpc.aio.ServerInterceptor):
    """The checks and the scope of every call of a service's own methods (module docstring)."""

    def __init__(self, settings: Settings, tenants: Callable[[], tuple[str, ...]]) -> None:
        self.tokens = Tokens(settings)
        self.tenants = tenants
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
        guarded = self._handlers.get(details.method)
        if guarded is not None:
            return guarded
        handler = await continuation(details)
        if handler is None or internal(details.method):
            return handler  # unknown methods are not kept: their names are the caller's
        guarded = self._handlers[details.method] = _wrap(handler, self, details.method)
        return guarded

    def enter(self, call: Call, request: Message, method: str) -> Identity:
        """The caller's verified identity, once the call passed every check (else a refusal)."""
        if not call.token:
            raise DomainError("auth.required", Kind.UNAUTHENTICATED)
        identity = self.tokens.identity(call.token)
        refuse(text_refusal(request))
        tenant = call.tenant
        if not is_tenant(tenant) or tenant not in self.tenants():
            raise DomainError("tenant.unknown", Kind.NOT_FOUND, tenant=tenant or "-")
        grants = identity.in_tenant(tenant)
        if not grants:
            raise DomainError("auth.wrong_tenant", Kind.FORBIDDEN, tenant=tenant)
        if all(g.tenant != tenant for g in grants):  # every crossing is logged (SPEC §2)
            crossing = crossing_for_read(grants[0].role, grants[0].tenant, tenant)
            log(logger, "cross-tenant call", crossing=crossing.name if crossing else "",
                tenant=tenant, actor=identity.subject, method=method)
        return identity


def _wrap(handler: grpc.RpcMethodHandler, guard: Guard, method: str) -> grpc.RpcMethodHandler:
    """``handler`` run inside ``guard``: a unary method's whole call, a server-streaming method's
    every message (a refusal before the first message is a clean status; the scope holds while
    it streams). A client-streaming method would pass unguarded, so there is none: it is refused
    here rather than served."""
    if handler.unary_unary is not None:
        unary = handler.unary_unary

        async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
            call = Call.begin(context)
            with continued(method, call.parent):
                try:
                    token = set_identity(guard.enter(call, request, method))
                    try:
                        with tenant_scope(call.tenant):
                            return await unary(request, context)
                    finally:
                        reset_identity(token)
                except Exception as exc:  # noqa: BLE001 - a status, never a leak (_failed)
                    await _failed(context, exc, method, call.lang)

        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream is not None:
        stream = handler.unary_stream

        async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            call = Call.begin(context)
            with continued(method, call.parent):
                try:
                    token = set_identity(guard.enter(call, request, method))
                    try:
                        with tenant_scope(call.tenant):
                            async for message in stream(request, context):
                                yield message
                    finally:
                        reset_identity(token)
                except Exception as exc:  # noqa: BLE001
                    await _failed(context, exc, method, call.lang)

        return grpc.unary_stream_rpc_method_handler(
            streaming,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    raise TypeError("client-streaming gRPC methods are not guarded by the kernel's interceptors")


async def _failed(context: grpc.aio.ServicerContext, exc: Exception, method: str,
                  lang: str) -> None:
    """A domain error as its status; anything else logged with its traceback and answered
    INTERNAL — a bug is never turned into a refusal, nor its internals leaked."""
    if isinstance(exc, DomainError):
        await _abort(context, exc, lang)
        return
    logger.exception("unhandled error in %s", method)
    await context.abort(grpc.StatusCode.INTERNAL, render("internal", lang),
                        trailing_metadata=((ERROR_CODE, "internal"),))


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
        interceptors=[metrics.ServerMetrics(), Guard(settings, tenants)],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.max_send_message_length", MAX_MESSAGE),
        ],
    )
