"""One typed settings object, read from the environment and validated at start.

The embedded default needs no variable at all: SQLite files and keys under ``var/``. The launcher
(`deploy/local/launch.py`) passes the addresses it chose to the processes it starts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]

# Default gRPC ports of the services; the launcher may choose others and pass them on.
DEFAULT_PORTS = {
    "registry": 50161,
    "evaluation": 50162,
    "review": 50163,
    "listing": 50164,
    "supervision": 50165,
    "institutions": 50166,
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GL_", extra="ignore", frozen=True)

    var_dir: Path = ROOT / "var"
    # Empty: SQLite, one file per tenant under var/data/<service>/. Otherwise a PostgreSQL URL
    # (postgresql+psycopg://user@host:5432/); each service uses database <db_prefix>_<service>.
    database_url: str = Field("", validation_alias=AliasChoices("DATABASE_URL", "GL_DATABASE_URL"))
    db_prefix: str = "gl"
    # Small on purpose: seven processes share PostgreSQL's default 100 connections.
    db_pool_size: int = 4
    db_max_overflow: int = 4

    nats_url: str = Field(
        "nats://127.0.0.1:14222", validation_alias=AliasChoices("NATS_URL", "GL_NATS_URL")
    )
    # This process's NATS user (ARCHITECTURE §5: each service its own, allowed only its subjects).
    # `make run` and the test stacks pass them; on an external NATS the operator does. Without
    # them the process connects anonymously and warns (events are still signed and verified).
    nats_user: str = ""
    nats_password: str = ""
    nats_password_file: Path | None = None  # read at connect; wins over nats_password
    # Subject and stream prefix; test stacks use their own so they never meet on a shared server.
    bus_prefix: str = "gl"
    relay_poll_seconds: float = 20.0
    consumer_max_deliver: int = 5
    # How long messages handed to a consumer that died wait before redelivery.
    consumer_ack_wait_seconds: float = 30.0

    grpc_host: str = "127.0.0.1"
    grpc_port: int = 0                      # 0: the service's default port from DEFAULT_PORTS
    rpc_timeout_seconds: float = 10.0

    # Tenants to onboard at start; empty = all 38. Test stacks name the few they need.
    tenants: str = ""

    keys_dir: Path | None = None            # default var/keys
    person_key_secret: str = ""             # HMAC secret for ID-number keys; default <keys>/person-key
    internal_token_seconds: int = 300

    log_level: str = "INFO"
    log_file: Path | None = None
    otel_exporter: Literal["console", "otlp", "none"] = "console"  # anything else: refused
    otel_file: Path | None = None           # where the console exporter writes (default stderr)
    otel_endpoint: str = ""                 # otlp: the collector's gRPC address (default localhost:4317)
    # share of new traces recorded (a trace once sampled, or not, stays so in every process)
    otel_sample_ratio: float = Field(0.01, ge=0.0, le=1.0)
    # Every process: the HTTP port of its Prometheus /metrics (0: its gRPC or HTTP port + 1000,
    # docs/operator-guide.md), on an address of its own, internal by default.
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    access_log: bool = True                 # the gateway's HTTP access log (JSON lines)

    # gateway
    http_host: str = "127.0.0.1"
    http_port: int = 8800
    max_body_bytes: int = 5 * 1024 * 1024
    registry_addr: str = ""
    evaluation_addr: str = ""
    institutions_addr: str = ""
    session_hours: int = 12
    seed_demo: bool = False
    # Password reset by e-mail (SPEC §1): off while smtp_host is empty.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "greenladder@localhost"
    public_url: str = "http://127.0.0.1:8800"   # where the links in e-mails point
    password_reset_minutes: int = 30

    fault: str = ""                         # test-only fault injection, e.g. relay_exit_after_publish

    @field_validator("database_url")
    @classmethod
    def _pg_only(cls, v: str) -> str:
        if v and not v.startswith(("postgresql", "postgres")):
            raise ValueError("DATABASE_URL must be a PostgreSQL URL (or empty for SQLite)")
        return v

    @property
    def keys(self) -> Path:
        return self.keys_dir or self.var_dir / "keys"

    @property
    def tenant_list(self) -> tuple[str, ...]:
        from services.kernel.tenancy import tenant_ids

        if not self.tenants.strip():
            return tenant_ids()
        wanted = {t.strip() for t in self.tenants.split(",") if t.strip()}
        return tuple(t for t in tenant_ids() if t in wanted)

    def service_addr(self, service: str) -> str:
        explicit = getattr(self, f"{service}_addr", "")
        return explicit or f"127.0.0.1:{DEFAULT_PORTS[service]}"

    def port_of(self, service: str) -> int:
        return self.grpc_port or DEFAULT_PORTS[service]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
