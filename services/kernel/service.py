"""The process skeleton every service shares: storage, bus, gRPC server, its Prometheus
``/metrics`` on an HTTP port of its own (``metrics.port_for``), graceful shutdown.

A service's ``__main__`` names itself, its migrations, its servicers and its subscriptions;
this module does the rest, in the same order every time.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import uvloop
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from generated.common.v1 import common_pb2, common_pb2_grpc
from services.kernel import bus, metrics, revocations, signing, telemetry
from services.kernel.config import Settings, get_settings
from services.kernel.db import Database
from services.kernel.errors import load_messages
from services.kernel.identity import authorize, current_identity
from services.kernel.rpc import create_server
from services.kernel.runtime import Runtime
from services.kernel.tenancy import current_tenant

logger = logging.getLogger("greenladder.service")


@dataclass
class ServiceSpec:
    name: str
    root: Path                                               # services/<name>
    register: Callable[[grpc.aio.Server, Runtime], list[str]]  # adds servicers; returns their full names
    publishes: bus.Catalogue                                 # the events it records (events.py)
    subscriptions: list[bus.Subscription] = field(default_factory=list)  # what it hears


class AuditServicer(common_pb2_grpc.AuditServicer):
    """Verifies this service's event chain in the caller's tenant (SPEC §13)."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    async def VerifyChain(self, request, context):  # type: ignore[no-untyped-def]
        tenant = current_tenant()
        authorize(current_identity(), tenant, ("city", "province", "ministry", "operator"))

        def check() -> bus.ChainCheck:
            with self.rt.db.session(tenant) as s:
                return bus.verify_chain(s, tenant)

        c = await asyncio.to_thread(check)
        return common_pb2.VerifyChainResponse(
            ok=c.ok, length=c.length, head_hash=c.head_hash,
            first_broken_seq=c.first_broken_seq, problem=c.problem,
        )


async def serve(spec: ServiceSpec, settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    telemetry.setup(spec.name, settings)
    messages = spec.root / "data" / "messages.yaml"
    if messages.exists():
        load_messages(messages)
    db = Database(service=spec.name, settings=settings, migrations=spec.root / "migrations")
    await asyncio.to_thread(db.onboard, settings.tenant_list)
    runtime = Runtime(spec.name, settings, db, spec.publishes)
    # Its event signing key, created on first start: the public half is what consumers verify.
    signing.signer(settings.keys, spec.name)

    nc = await bus.connect(settings, spec.name)
    js = nc.jetstream()
    await bus.ensure_stream(js, settings.bus_prefix, spec.name)
    revoked = await revocations.start(js, settings)  # ended sessions, replayed first (0009)
    relay = bus.Relay(db=db, js=js, settings=settings)
    consumer = bus.Consumer(
        js=js, settings=settings, session_for=lambda t: db.session(t, write=True),
        subscriptions=spec.subscriptions, runtime=runtime,
    )

    server = create_server(settings, db.tenants)
    names = spec.register(server, runtime)
    common_pb2_grpc.add_AuditServicer_to_server(AuditServicer(runtime), server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        [*names, common_pb2.DESCRIPTOR.services_by_name["Audit"].full_name,
         health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
        server,
    )
    port = server.add_insecure_port(f"{settings.grpc_host}:{settings.port_of(spec.name)}")
    metrics_port, stop_metrics = metrics.start(settings.metrics_host, settings.metrics_port,
                                               settings.port_of(spec.name))
    await server.start()
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    telemetry.log(logger, "service started", service=spec.name, port=port,
                  metrics_port=metrics_port,
                  tenants=len(db.tenants()), postgres=db.is_postgres)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run()), revoked]
    died: list[BaseException] = []

    def watch(task: asyncio.Task) -> None:
        # A relay or consumer that ended on its own leaves the service half-alive: stop, so the
        # supervisor restarts the whole process.
        if not task.cancelled() and task.exception() is not None:
            died.append(task.exception())  # type: ignore[arg-type]
            telemetry.log(logger, "background task died", logging.CRITICAL,
                          error=repr(task.exception()))
            stop.set()

    for task in tasks:
        task.add_done_callback(watch)
    await stop.wait()

    await health.enter_graceful_shutdown()
    await server.stop(5)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await nc.close()  # publishes are acked one by one: nothing is buffered to drain
    await asyncio.to_thread(stop_metrics)
    db.dispose()
    telemetry.log(logger, "service stopped", service=spec.name)
    if died:
        raise SystemExit(1)


def main(spec: ServiceSpec) -> None:
    # uvloop, as the gateway runs under uvicorn: grpc's asyncio server costs ~25 % less CPU per
    # call on it than on the standard loop (issue 11, docs/performance.md).
    uvloop.run(serve(spec))
