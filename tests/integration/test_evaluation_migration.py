"""Evaluation storage made before migration 0004 keeps its evidence and takes uploads of the same
bytes under other names (SQLite, and PostgreSQL when the CI leg gives one)."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select, text

from services.evaluation.store import Evaluation, EvidenceLink
from services.kernel.config import Settings
from services.kernel.db import Database
from tests.conftest import DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "services" / "evaluation" / "migrations"
# Core statements on the tables, so PostgreSQL's schema per tenant is applied to them
LINK = EvidenceLink.__table__


def _link(name: str, who: str) -> object:
    return insert(LINK).values(evaluation_id="e1", indicator_id="water_reuse", sha256="a" * 64,
                               filename=name, uploaded_by=who,
                               uploaded_at=datetime(2026, 1, 5, tzinfo=UTC))


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
