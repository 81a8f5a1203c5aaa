"""A tenant's storage made by an earlier release is brought to the current head at start."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

from services.kernel.config import Settings
from services.kernel.db import Database

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "services" / "registry" / "migrations"


def _version(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_a_sqlite_tenant_below_head_is_migrated_at_start(tmp_path: Path) -> None:
    """An earlier release: the same migrations without the newest revision."""
    older = tmp_path / "older-migrations"
    shutil.copytree(MIGRATIONS, older, ignore=shutil.ignore_patterns("__pycache__"))
    newest = sorted((older / "versions").glob("0*.py"))[-1]
    newest.unlink()
    settings = Settings(var_dir=tmp_path / "var", tenants="320000")
    before = Database(service="registry", settings=settings, migrations=older)
    before.onboard(["320000"])
    before.dispose()
    tenant_file = tmp_path / "var" / "data" / "registry" / "t_320000.db"
    old_head = _version(tenant_file)

    after = Database(service="registry", settings=settings, migrations=MIGRATIONS)
    after.onboard(["320000"])  # a restart of the new release on the old files
    after.dispose()
    source = (MIGRATIONS / "versions" / newest.name).read_text()
    head = re.search(r"^revision(?:: str)? = ['\"]([^'\"]+)", source, re.MULTILINE)
    assert head is not None and old_head != head.group(1)
    assert _version(tenant_file) == head.group(1)
