"""The tables of ``services/kernel/bus.py`` as migration steps, shared by every service's first
revision: the outbox, the chain head and the inbox (ARCHITECTURE §5).

Migrations are history: once released, these functions do not change. A later change to the bus
tables is a new function here, called by a new revision in every service:

- ``create_v1``: the first revision of every service and of the gateway;
- ``add_signatures_v2``: format 2 of events, signed (decision 0007).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_v1() -> None:
    op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '')")
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=80), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("traceparent", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])


def drop_v1() -> None:
    op.drop_index("ix_outbox_published_at", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_table("chain_head")


def add_signatures_v2() -> None:
    """Format 2 of events (decision 0007): each outbox row has a format (rows already stored are
    format 1), and the key id and signature of its envelope."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("format", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("key_id", sa.String(length=80), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("signature", sa.LargeBinary(), nullable=True))


def drop_signatures_v2() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("signature")
        batch.drop_column("key_id")
        batch.drop_column("format")
