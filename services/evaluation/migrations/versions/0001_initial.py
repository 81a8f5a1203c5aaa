"""initial

Revision ID: 0001
Revises: 
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from services.kernel import bus_tables


revision: str = '0001'
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    bus_tables.create_v1()
    op.create_table('evaluation',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('unit_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('unit_uscc', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('unit_location', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('unit_json', sa.Text(), nullable=False),
    sa.Column('scheme_id', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('scheme_version', sa.Integer(), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('assisted_by', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('values_json', sa.Text(), nullable=False),
    sa.Column('basic_json', sa.Text(), nullable=False),
    sa.Column('result_json', sa.Text(), nullable=False),
    sa.Column('total', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('vetoed', sa.Boolean(), nullable=False),
    sa.Column('report_json', sa.Text(), nullable=False),
    sa.Column('report_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('submitted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('created_by', 'request_id', name='uq_evaluation_request')
    )
    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_unit_uscc'), ['unit_uscc'], unique=False)

    op.create_table('evidence_blob',
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table('evidence_link',
    sa.Column('evaluation_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('indicator_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('uploaded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('evaluation_id', 'indicator_id', 'sha256')
    )


def downgrade() -> None:
    op.drop_table('evidence_link')
    op.drop_table('evidence_blob')
    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_unit_uscc'))
        batch_op.drop_index(batch_op.f('ix_evaluation_unit_id'))

    op.drop_table('evaluation')
    bus_tables.drop_v1()
