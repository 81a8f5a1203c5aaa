"""Storage per tenant: a session always belongs to a tenant (ARCHITECTURE §4).

PostgreSQL: one database per service (``<prefix>_<service>``), one schema per tenant (``t_<id>``)
reached through ``schema_translate_map`` — models carry no schema. SQLite: one file per tenant
under ``var/data/<service>/``, WAL mode, and ``BEGIN IMMEDIATE`` for every write transaction so two
writers can never both read a chain head or a counter before either writes.

Onboarding a tenant migrates its schema (PostgreSQL) or copies a migrated template file (SQLite),
so all 38 tenants exist from the first start in a second or two.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from services.kernel.config import Settings
from services.kernel.errors import DomainError, Kind
from services.kernel.tenancy import is_tenant

WRITE = "gl_write"
AUTOCOMMIT = "gl_autocommit"  # a SQLite read of one statement: no BEGIN (``Database.reading``)


def new_id() -> str:
    """A record id: random, so it says nothing about the tenant or the order of writes."""
    return str(uuid.uuid4())


def schema_of(tenant: str) -> str:
    return f"t_{tenant}"


class Database:
    """The storage of one service: engines, tenant sessions, onboarding and migrations."""

    def __init__(self, *, service: str, settings: Settings, migrations: Path) -> None:
        self.service = service
        self.settings = settings
        self.migrations = migrations
        self.is_postgres = bool(settings.database_url)
        self.on_commit: Callable[[str], None] | None = None  # the relay's wake-up
        self._ready: set[str] = set()
        self._engines: dict[tuple[str, bool], Engine] = {}
        self._lock = threading.Lock()
        self._write_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._script = ScriptDirectory.from_config(self._alembic_config())
        if self.is_postgres:
            self._base = create_engine(
                self._pg_url(),
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
                pool_pre_ping=True,
            )
        else:
            self.dir = settings.var_dir / "data" / service
            self.dir.mkdir(parents=True, exist_ok=True)

    # --- sessions ---------------------------------------------------------------------------

    @contextmanager
    def session(self, tenant: str, *, write: bool = False) -> Iterator[Session]:
        """A session of one tenant, committed on success, rolled back on error."""
        if tenant not in self._ready:
            raise DomainError("tenant.not_onboarded", Kind.NOT_FOUND, tenant=tenant)
        # SQLite lets one writer in and makes the others sleep and retry with growing back-off;
        # queueing this process's writers on a lock instead keeps tail latency low.
        lock = self._write_locks[tenant] if write and not self.is_postgres else nullcontext()
        with lock, Session(self._engine(tenant, write), expire_on_commit=False) as session:
            with session.begin():
                yield session
            if session.info.pop("gl_events", False) and self.on_commit:
                self.on_commit(tenant)

    @contextmanager
    def reading(self, tenant: str) -> Iterator[Connection]:
        """A Core connection of one tenant for a hot read: no ORM session, identity map or
        unit of work (issue 11: they were a third of a look-up's time in the registry). On
        SQLite no transaction is opened (one statement is its own snapshot), so use it for
        reads of one statement; on PostgreSQL the connection's transaction is rolled back."""
        if tenant not in self._ready:
            raise DomainError("tenant.not_onboarded", Kind.NOT_FOUND, tenant=tenant)
        with self._engine(tenant, False).connect() as conn:
            yield conn.execution_options(**{AUTOCOMMIT: True}) if not self.is_postgres else conn

    def tenants(self) -> tuple[str, ...]:
        return tuple(sorted(self._ready))

    def _engine(self, tenant: str, write: bool) -> Engine:
        key = (tenant, write)
        engine = self._engines.get(key)
        if engine is None:
            with self._lock:
                engine = self._engines.get(key)
                if engine is None:
                    engine = self._make_engine(tenant, write)
                    self._engines[key] = engine
        return engine

    def _make_engine(self, tenant: str, write: bool) -> Engine:
        if self.is_postgres:
            return self._base.execution_options(
                schema_translate_map={None: schema_of(tenant)}, **{WRITE: write}
            )
        base = self._engines.get((tenant, not write))
        if base is None:
            base = _sqlite_engine(self._file(tenant))
        return base.execution_options(**{WRITE: write})

    def _file(self, tenant: str) -> Path:
        return self.dir / f"{schema_of(tenant)}.db"

    # --- onboarding and migrations -------------------------------------------------------------

    def onboard(self, tenants: tuple[str, ...] | list[str]) -> None:
        """Create and migrate each tenant's storage; idempotent, safe to run at every start."""
        for tenant in tenants:
            if not is_tenant(tenant):
                raise DomainError("tenant.unknown", Kind.NOT_FOUND, tenant=tenant)
        if self.is_postgres:
            with self._base.connect() as conn:
                for tenant in tenants:
                    with conn.begin():
                        schema = schema_of(tenant)
                        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                        conn.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')
                        self._migrate(conn, schema)
                    self._ready.add(tenant)
            return
        template = self.dir / "_template.db"
        self._migrate_file(template)
        for tenant in tenants:
            target = self._file(tenant)
            if not target.exists():
                tmp = target.with_suffix(".tmp")
                shutil.copyfile(template, tmp)
                tmp.rename(target)  # atomic: a crash never leaves a half-copied tenant
            else:
                self._migrate_file(target)
            self._ready.add(tenant)

    def _migrate_file(self, path: Path) -> None:
        engine = _sqlite_engine(path, pooled=False)
        try:
            with engine.connect() as conn:
                if self._current(conn) != self._script.get_current_head():
                    with conn.begin():
                        self._migrate(conn, None)
        finally:
            engine.dispose()

    def _current(self, conn: Connection) -> str | None:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:  # noqa: BLE001 - no version table yet: a new file
            return None
        finally:
            conn.rollback()  # the read began a transaction; the migration begins its own

    def _migrate(self, conn: Connection, schema: str | None) -> None:
        script = self._script

        def upgrade(rev, _context):  # type: ignore[no-untyped-def]
            return script._upgrade_revs("head", rev)

        cfg = self._alembic_config()
        with EnvironmentContext(cfg, script, fn=upgrade, destination_rev="head") as env:
            env.configure(connection=conn, version_table_schema=schema)
            env.run_migrations()

    def _alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(self.migrations))
        return cfg

    def _pg_url(self) -> str:
        url = make_url(self.settings.database_url).set(drivername="postgresql+psycopg")
        name = f"{self.settings.db_prefix}_{self.service}"
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                exists = conn.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                ).scalar()
                if not exists:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            admin.dispose()
        return url.set(database=name).render_as_string(hide_password=False)

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        if self.is_postgres:
            self._base.dispose()


def insert_new(session: Session, model: type, **values: object) -> None:
    """Insert a row unless one with its key is there already (committed or being committed by a
    concurrent writer): ``INSERT … ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite alike, so two
    writers of the same content-addressed or counted row never fail on the key."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.exec(insert(model).values(**values).on_conflict_do_nothing())  # type: ignore[call-overload]


def mark_events(session: Session) -> None:
    """Tell the database that this transaction wrote events, so the relay wakes on commit."""
    session.info["gl_events"] = True


def _sqlite_engine(path: Path, *, pooled: bool = True) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"timeout": 30, "check_same_thread": False},
        **({} if pooled else {"poolclass": NullPool}),
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        options = conn.get_execution_options()
        if options.get(AUTOCOMMIT):
            return  # pysqlite is in autocommit (isolation_level None): the statement stands alone
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE) else "BEGIN")

    return engine
