"""institution path: the engaged institution, its engagement and its claimed score

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

COLUMNS = (("institution_uscc", 18), ("engagement_id", 36), ("claimed_total", 20))


def upgrade() -> None:
    with op.batch_alter_table('evaluation') as batch:
        for name, length in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length), nullable=False, server_default=''))
    # One evaluation per engagement: unique where set (PostgreSQL and SQLite partial indexes).
    op.create_index('uq_evaluation_engagement', 'evaluation', ['engagement_id'], unique=True,
                    postgresql_where=sa.text("engagement_id <> ''"),
                    sqlite_where=sa.text("engagement_id <> ''"))


def downgrade() -> None:
    op.drop_index('uq_evaluation_engagement', table_name='evaluation')
    with op.batch_alter_table('evaluation') as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
