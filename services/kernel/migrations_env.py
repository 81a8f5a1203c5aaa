"""What a service's ``migrations/env.py`` runs when a developer uses the Alembic CLI.

At run time services migrate every tenant in-process (``Database.onboard``); the CLI is only for
writing a new revision: ``make migration SERVICE=registry MSG="add x"`` autogenerates it against a
scratch SQLite file that holds the current head.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, create_engine


def run(metadata: MetaData) -> None:
    url = context.config.get_main_option("sqlalchemy.url") or "sqlite:///var/migration-scratch.db"
    engine = create_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
