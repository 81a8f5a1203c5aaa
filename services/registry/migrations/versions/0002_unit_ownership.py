"""unit ownership: parent company and legal representative (SPEC §9 related parties)

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

COLUMNS = (("parent_uscc", 18), ("legal_representative", 100), ("legal_rep_key", 64),
           ("legal_rep_masked", 18))


def upgrade() -> None:
    with op.batch_alter_table('unit') as batch:
        for name, length in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('unit') as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
