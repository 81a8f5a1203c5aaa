"""The gateway: the only door (ARCHITECTURE §1). One HTTP API for every role, OpenAPI at /docs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from gateway import docs, errors, observe, seed, views
from gateway.auth import Accounts, Auth
from gateway.auth.selfservice import SelfService
from gateway.errors import error_response
from gateway.limits import BodyLimits
from gateway.routes import accounts, evaluation, institutions, public, registry, selfservice
from services.kernel import bus, metrics, revocations, signing, telemetry
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
    """Pure ASGI: one server span per request (continuing an incoming ``traceparent``, named by
    the route's template once routed), the route's body-size limit (``gateway.limits``: the
    general one, or a route's own figure such as the evidence file limit) that holds for chunked
    uploads too, and one measurement of the request for its metrics and access-log line
    (``gateway.observe``)."""

    def __init__(self, app, limits: BodyLimits, access_log: bool = True) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.limits = limits
        self.access_log = access_log

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        exchange = observe.Exchange()
        root_path = scope.get("root_path", "")
        method = scope["method"]
        length = parent = accept = ""
        chunked = False
        for key, value in scope["headers"]:  # only what it needs, not a dict of them all
            if key == b"content-length":
                length = value.decode("latin-1")
            elif key == b"transfer-encoding":
                chunked = True
            elif key == b"traceparent":
                parent = value.decode("latin-1")
            elif key == b"accept-language":
                accept = value.decode("latin-1")
        limit = self.limits.of(method, scope["path"])
        seen, exceeded = 0, False

        def too_large():  # type: ignore[no-untyped-def]
            return error_response(413, limit.code,
                                  render(limit.code, language(accept), **limit.params),
                                  {"max": limit.figure})

        async def counted_send(message):  # type: ignore[no-untyped-def]
            exchange.saw(message)
            await send(message)

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
                await counted_send(message)

        with telemetry.continued(f"{method} {scope['path']}", parent, edge=True) as span:
            try:
                if not length and not chunked:  # no body (RFC 9112 §6.3): nothing to limit
                    return await self.app(scope, receive, counted_send)
                if length.isdigit() and int(length) > limit.allowed:
                    return await too_large()(scope, receive, counted_send)
                try:
                    await self.app(scope, limited_receive, guarded_send)
                except _TooLarge:
                    pass
                if exceeded:
                    await too_large()(scope, receive, counted_send)
            finally:
                route = observe.route_of(scope, root_path)
                span.update_name(f"{method} {route}")
                observe.record(exchange, method=method, route=route,
                               client=scope.get("client"), access_log=self.access_log)


class _TooLarge(Exception):
    pass


def watch(name: str) -> Callable[[asyncio.Task], None]:
    """A done-callback for a background task of the gateway: one that ended by an exception
    (its loop gave up) is logged as CRITICAL, so an alert on the log sees it. The gateway is not
    stopped for it — it still answers everything but what that task feeds (the read model or its
    own events) — unlike a service (``services.kernel.service``), whose every task is its work."""

    def died(task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            telemetry.log(logger, "background task died", logging.CRITICAL, task=name,
                          error=repr(task.exception()))

    return died


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
                              internal_seconds=settings.internal_token_seconds,
                              bus_prefix=settings.bus_prefix)
        app.state.accounts = Accounts(app.state.auth)
        app.state.selfservice = SelfService(app.state.auth, settings)
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
        task.add_done_callback(watch("read-model consumer"))
        # Its own events (ended sessions, decision 0009): its outbox, published by a relay.
        await bus.ensure_stream(nc.jetstream(), settings.bus_prefix, "gateway")
        relay = asyncio.create_task(bus.Relay(db=db, js=nc.jetstream(), settings=settings).run())
        relay.add_done_callback(watch("relay"))
        # Every gateway hears the others' logouts (decision 0009), replayed before it serves.
        follower = await revocations.start(nc.jetstream(), settings,
                                           app.state.auth.apply_revocation)
        sender = app.state.selfservice.sender  # reset mails, on its own thread (None: mail off)
        follower.add_done_callback(watch("revocation follower"))
        mails = asyncio.create_task(sender.run()) if sender else None
        if mails is not None:
            mails.add_done_callback(watch("mail sender"))
        app.state.db = db
        # /metrics on a port of its own, internal by default: never the public API port.
        metrics_port, stop_metrics = metrics.start(settings.metrics_host, settings.metrics_port,
                                                   settings.http_port)
        telemetry.log(logger, "gateway started", port=settings.http_port,
                      metrics_port=metrics_port)
        try:
            yield
        finally:
            background = [t for t in (task, relay, follower, mails) if t is not None]
            for t in background:
                t.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await nc.close()
            await asyncio.to_thread(stop_metrics)
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
        docs_url=None, redoc_url=None,  # their pages load from a CDN: gateway.docs serves its own
        # FastAPI's own spans would double the Middleware's server span and add one per
        # dependency; the Middleware's is the request's span (named by the route's template).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.router.route_class = errors.CheckedRoute  # the app's own routes (/docs) too
    errors.install(app)
    docs.install(app)
    docs.secure_tenant_routes(app)
    app.include_router(public.router)
    app.include_router(accounts.router)
    app.include_router(selfservice.router)
    app.include_router(selfservice.page)
    app.include_router(registry.router)
    app.include_router(evaluation.router)
    app.include_router(institutions.router)
    app.include_router(institutions.public)
    app.include_router(views.router)
    app.add_middleware(Middleware, access_log=settings.access_log, limits=BodyLimits(
        settings.max_body_bytes, (*evaluation.BODY_LIMITS, *public.BODY_LIMITS)))
    return app
