"""Evaluation storage made before migration 0004 keeps its evidence and takes uploads of the same
bytes under other names (SQLite, and PostgreSQL when the CI leg gives one)."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic.runtime.environment import EnvironmentContext
from sqlalchemy import Connection, insert, inspect, select, text

from services.evaluation.store import Evaluation, EvidenceLink
from services.kernel.config import Settings
from services.kernel.db import Database, _sqlite_engine, schema_of
from tests.conftest import DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "services" / "evaluation" / "migrations"
# Core statements on the tables, so PostgreSQL's schema per tenant is applied to them
LINK = EvidenceLink.__table__


def _link(name: str, who: str, *, days: int = 0, sha256: str = "a" * 64) -> object:
    return insert(LINK).values(evaluation_id="e1", indicator_id="water_reuse", sha256=sha256,
                               filename=name, uploaded_by=who,
                               uploaded_at=datetime(2026, 1, 5, tzinfo=UTC) + timedelta(days=days))


def test_uploads_made_before_0004_are_kept_and_names_become_part_of_the_key(
        tmp_path: Path) -> None:
    older = tmp_path / "older-migrations"
    shutil.copytree(MIGRATIONS, older, ignore=shutil.ignore_patterns("__pycache__"))
    for newer in sorted((older / "versions").glob("0*.py")):
        if newer.name >= "0004":
            newer.unlink()
    prefix = f"glm{uuid.uuid4().hex[:8]}"
    settings = Settings(var_dir=tmp_path / "var", tenants="320000", database_url=DATABASE_URL,
                        db_prefix=prefix)
    before = Database(service="evaluation", settings=settings, migrations=older)
    try:
        before.onboard(["320000"])
        with before.session("320000", write=True) as s:
            s.execute(_link("meter.pdf", "ent1"))
    finally:
        before.dispose()

    after = Database(service="evaluation", settings=settings, migrations=MIGRATIONS)
    try:
        after.onboard(["320000"])
        with after.session("320000", write=True) as s:
            s.execute(_link("meter-copy.pdf", "ent2"))
            level = s.execute(select(Evaluation.__table__.c.level)).all()
        with after.session("320000") as s:
            rows = s.execute(select(LINK.c.filename, LINK.c.uploaded_by)
                             .order_by(LINK.c.filename)).all()
        assert [tuple(r) for r in rows] == [("meter-copy.pdf", "ent2"), ("meter.pdf", "ent1")]
        assert level == []
    finally:
        after.dispose()
        if DATABASE_URL:
            _drop(prefix)


def test_the_downgrade_keeps_the_earliest_upload_of_each_old_key(tmp_path: Path) -> None:
    """Review (low): the same bytes uploaded for one indicator under two names could not go back
    under the old key (name not part of it): the downgrade failed on the duplicate key. Now it
    keeps the earliest upload per old key and deletes the later ones, then re-keys; the storage
    then upgrades again."""
    prefix = f"glm{uuid.uuid4().hex[:8]}"
    settings = Settings(var_dir=tmp_path / "var", tenants="320000", database_url=DATABASE_URL,
                        db_prefix=prefix)
    db = Database(service="evaluation", settings=settings, migrations=MIGRATIONS)
    try:
        db.onboard(["320000"])
        with db.session("320000", write=True) as s:
            s.execute(_link("meter-copy.pdf", "ent2", days=1))   # later, sorts first by name
            s.execute(_link("meter.pdf", "ent1"))                # the earliest: kept
            s.execute(_link("meter-scan.pdf", "ent3", days=2))
            s.execute(_link("other.pdf", "ent4", days=3, sha256="b" * 64))  # another key
        _migrate(db, "320000", "0003")
        with db.session("320000") as s:
            rows = s.execute(select(LINK.c.sha256, LINK.c.filename, LINK.c.uploaded_by)
                             .order_by(LINK.c.sha256)).all()
            columns = {c["name"] for c in inspect(s.connection()).get_columns(
                "evaluation", schema=schema_of("320000") if DATABASE_URL else None)}
        assert [tuple(r) for r in rows] == [("a" * 64, "meter.pdf", "ent1"),
                                            ("b" * 64, "other.pdf", "ent4")]
        assert "level" not in columns
        _migrate(db, "320000", "head")
        with db.session("320000", write=True) as s:   # names are part of the key again
            s.execute(_link("meter-copy.pdf", "ent2", days=4))
            assert s.execute(select(LINK.c.filename).where(LINK.c.sha256 == "a" * 64)
                             .order_by(LINK.c.filename)).scalars().all() == [
                "meter-copy.pdf", "meter.pdf"]
    finally:
        db.dispose()
        if DATABASE_URL:
            _drop(prefix)


def _migrate(db: Database, tenant: str, to: str) -> None:
    """Migrate one tenant's storage down (or up) to revision ``to``, as onboarding does."""
    script = db._script

    def step(rev, _context):  # type: ignore[no-untyped-def]
        if to == "head":
            return script._upgrade_revs(to, rev)
        return script._downgrade_revs(to, rev)

    def run(conn: Connection, schema: str | None) -> None:
        with EnvironmentContext(db._alembic_config(), script, fn=step, destination_rev=to) as env:
            env.configure(connection=conn, version_table_schema=schema)
            env.run_migrations()

    if db.is_postgres:
        with db._base.connect() as conn, conn.begin():
            schema = schema_of(tenant)
            conn.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')
            run(conn, schema)
        return
    engine = _sqlite_engine(db._file(tenant), pooled=False)
    try:
        with engine.connect() as conn, conn.begin():
            run(conn, None)
    finally:
        engine.dispose()


def _drop(prefix: str) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(DATABASE_URL).set(drivername="postgresql+psycopg", database="postgres")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for name in conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                     {"p": f"{prefix}_%"}).scalars().all():
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()
