"""The gateway: the only door (ARCHITECTURE §1). One HTTP API for every role, OpenAPI at /docs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from opentelemetry import propagate, trace

from gateway import docs, errors, seed, views
from gateway.auth import Accounts, Auth
from gateway.errors import error_response
from gateway.limits import BodyLimits
from gateway.routes import accounts, evaluation, institutions, public, registry
from services.kernel import bus, signing, telemetry
from services.kernel.config import Settings, get_settings
from services.kernel.db import Database
from services.kernel.errors import language, load_messages, render
from services.kernel.rpc import ServiceClient
from services.kernel.runtime import Runtime
from services.kernel.tenancy import NATIONAL

logger = logging.getLogger("greenladder.gateway")
HERE = Path(__file__).parent
CALLED = ("registry", "evaluation", "institutions")  # the services the gateway calls

load_messages(HERE / "data" / "messages.yaml")


class Middleware:
    """Pure ASGI: one server span per request (continuing an incoming ``traceparent``), and the
    route's body-size limit (``gateway.limits``: the general one, or a route's own figure such as
    the evidence file limit) that holds for chunked uploads too."""

    def __init__(self, app, limits: BodyLimits) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.limits = limits
        self.tracer = trace.get_tracer("greenladder.gateway")

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        lang = language(headers.get("accept-language"))
        limit = self.limits.of(scope["method"], scope["path"])
        too_large = error_response(413, limit.code, render(limit.code, lang, **limit.params),
                                   {"max": limit.figure})
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit.allowed:
            return await too_large(scope, receive, send)
        seen, exceeded = 0, False

        async def limited_receive():  # type: ignore[no-untyped-def]
            nonlocal seen, exceeded
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit.allowed:
                exceeded = True
                raise _TooLarge
            return message

        async def guarded_send(message):  # type: ignore[no-untyped-def]
            if not exceeded:  # whatever the app answers to a cut-off body, the answer is 413
                await send(message)

        ctx = propagate.extract(headers)
        with self.tracer.start_as_current_span(
            f"{scope['method']} {scope['path']}", context=ctx, kind=trace.SpanKind.SERVER
        ):
            try:
                await self.app(scope, limited_receive, guarded_send)
            except _TooLarge:
                pass
            if exceeded:
                await too_large(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        telemetry.setup("gateway", settings)
        db = Database(service="gateway", settings=settings, migrations=HERE / "migrations")
        await asyncio.to_thread(db.onboard, [NATIONAL])
        ring = signing.ensure(settings.keys, "gateway")
        app.state.settings = settings
        app.state.auth = Auth(db=db, ring=ring, session_hours=settings.session_hours,
                              internal_seconds=settings.internal_token_seconds)
        app.state.accounts = Accounts(app.state.auth)
        for name in CALLED:
            setattr(app.state, name, ServiceClient(name, settings.service_addr(name), settings))
        await asyncio.to_thread(seed.ensure_operator, app.state.auth, settings)
        if settings.seed_demo:
            await asyncio.to_thread(seed.demo_accounts, app.state.auth, settings)
        nc = await bus.connect(settings, "gateway")
        consumer = bus.Consumer(
            js=nc.jetstream(), settings=settings,
            session_for=lambda _tenant: db.session(NATIONAL, write=True),
            subscriptions=views.SUBSCRIPTIONS,
            runtime=Runtime("gateway", settings, db, bus.Catalogue("gateway", {})),
        )
        task = asyncio.create_task(consumer.run())
        app.state.db = db
        telemetry.log(logger, "gateway started", port=settings.http_port)
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await nc.close()
            for name in CALLED:
                await getattr(app.state, name).close()
            db.dispose()

    app = FastAPI(
        title="GreenLadder API",
        version="1",
        description=(
            "绿色工厂梯度培育及管理平台 — one API for every role. Errors are "
            '`{"error": {"code", "message", "params"}}`; messages are zh-CN unless '
            "`Accept-Language` prefers English. Tenant data lives under `/api/v1/tenants/{tenant}/`."
        ),
        lifespan=lifespan,
        dependencies=[Depends(errors.refuse_nul)],  # every string of every route, one check
        docs_url=None, redoc_url=None,  # their pages load from a CDN: gateway.docs serves its own
    )
    errors.install(app)
    docs.install(app)
    app.include_router(public.router)
    app.include_router(accounts.router)
    app.include_router(registry.router)
    app.include_router(evaluation.router)
    app.include_router(institutions.router)
    app.include_router(institutions.public)
    app.include_router(views.router)
    app.add_middleware(Middleware, limits=BodyLimits(
        settings.max_body_bytes, (*evaluation.BODY_LIMITS, *public.BODY_LIMITS)))
    return app
