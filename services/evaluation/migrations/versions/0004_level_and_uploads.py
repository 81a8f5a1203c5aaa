"""the level applied for; every evidence upload keeps its own name (the file name joins the key);
an index for re-scoring in submission order

Downgrade: before 0004 an upload was keyed without its name, so the uploads of the same bytes for
the same indicator under different names cannot all stay. The downgrade keeps one per old key,
the earliest (by ``uploaded_at``, then by file name), and deletes the later ones before
re-keying: their names and uploaders are lost; the bytes (``evidence_blob``) stay.

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

OLD_KEY = ['evaluation_id', 'indicator_id', 'sha256']
NEW_KEY = [*OLD_KEY, 'filename']


def _table(key: list[str]) -> sa.Table:
    return sa.Table(
        'evidence_link', sa.MetaData(),
        sa.Column('evaluation_id', sa.String(36), nullable=False),
        sa.Column('indicator_id', sa.String(80), nullable=False),
        sa.Column('sha256', sa.String(64), nullable=False),
        sa.Column('filename', sa.String(200), nullable=False),
        sa.Column('uploaded_by', sa.String(100), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint(*key))


def _rekey(columns: list[str]) -> None:
    if op.get_bind().dialect.name == 'postgresql':
        # PostgreSQL named the unnamed key <table>_pkey and alters it in place
        op.drop_constraint('evidence_link_pkey', 'evidence_link', type_='primary')
        op.create_primary_key('evidence_link_pkey', 'evidence_link', columns)
        return
    # SQLite cannot alter a primary key: batch mode copies the rows into the table as given
    with op.batch_alter_table('evidence_link', recreate='always', copy_from=_table(columns)):
        pass


def upgrade() -> None:
    with op.batch_alter_table('evaluation') as batch:
        batch.add_column(sa.Column('level', sa.String(20), nullable=False, server_default=''))
    _rekey(NEW_KEY)
    # re-scoring streams a scheme's submitted evaluations in submission order
    op.create_index('ix_evaluation_rescoring', 'evaluation',
                    ['scheme_id', 'status', 'submitted_at', 'id'])


def _keep_the_earliest_upload_per_old_key() -> None:
    """Delete every upload for which an earlier one has the same old key (the same bytes for
    the same indicator of the same evaluation under another name), so the old key holds."""
    link = _table(NEW_KEY)
    other = link.alias('earlier')
    earlier = sa.exists().where(
        *(other.c[c] == link.c[c] for c in OLD_KEY),
        sa.or_(other.c.uploaded_at < link.c.uploaded_at,
               sa.and_(other.c.uploaded_at == link.c.uploaded_at,
                       other.c.filename < link.c.filename)))
    op.execute(link.delete().where(earlier))


def downgrade() -> None:
    op.drop_index('ix_evaluation_rescoring', table_name='evaluation')
    _keep_the_earliest_upload_per_old_key()
    _rekey(OLD_KEY)
    with op.batch_alter_table('evaluation') as batch:
        batch.drop_column('level')
