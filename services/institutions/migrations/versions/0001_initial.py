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
    op.create_table('cap_counter',
    sa.Column('legal_rep_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('legal_rep_key', 'year')
    )
    op.create_table('engagement',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('institution_uscc', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('legal_rep_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('unit_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('unit_tenant', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('unit_uscc', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('unit_location', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('unit_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('unit_json', sa.Text(), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('engaged_on', sa.Date(), nullable=False),
    sa.Column('counted', sa.Boolean(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('cancelled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('cancel_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('evaluation_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('claimed_total', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('platform_total', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('deviation', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('created_by', 'request_id', name='uq_engagement_request')
    )
    with op.batch_alter_table('engagement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagement_institution_uscc'), ['institution_uscc'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagement_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagement_unit_tenant'), ['unit_tenant'], unique=False)

    op.create_table('filing',
    sa.Column('uscc', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('province', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('filed_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('filed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.PrimaryKeyConstraint('uscc', 'province')
    )
    op.create_table('institution',
    sa.Column('uscc', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('legal_representative', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('legal_rep_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('legal_rep_masked', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('parent_uscc', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('profile_json', sa.Text(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('verified_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('uscc')
    )
    with op.batch_alter_table('institution', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institution_legal_rep_key'), ['legal_rep_key'], unique=False)

    op.create_table('sanction',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('uscc', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sanction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sanction_uscc'), ['uscc'], unique=False)

    op.create_table('unit_removal',
    sa.Column('unit_tenant', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('unit_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('removed_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('unit_tenant', 'unit_id')
    )
    op.create_table('work_report',
    sa.Column('uscc', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('projects', sa.Integer(), nullable=False),
    sa.Column('content_json', sa.Text(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('submitted_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('submitted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uscc', 'year')
    )


def downgrade() -> None:
    op.drop_table('work_report')
    op.drop_table('unit_removal')
    with op.batch_alter_table('sanction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sanction_uscc'))

    op.drop_table('sanction')
    with op.batch_alter_table('institution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institution_legal_rep_key'))

    op.drop_table('institution')
    op.drop_table('filing')
    with op.batch_alter_table('engagement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_engagement_unit_tenant'))
        batch_op.drop_index(batch_op.f('ix_engagement_unit_id'))
        batch_op.drop_index(batch_op.f('ix_engagement_institution_uscc'))

    op.drop_table('engagement')
    op.drop_table('cap_counter')
    bus_tables.drop_v1()
