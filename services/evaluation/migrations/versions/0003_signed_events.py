"""signed events: the outbox's format, key id and signature (decision 0007)

Revision ID: 0003
Revises: 0002
"""
from collections.abc import Sequence

from services.kernel import bus_tables

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    bus_tables.add_signatures_v2()


def downgrade() -> None:
    bus_tables.drop_signatures_v2()
