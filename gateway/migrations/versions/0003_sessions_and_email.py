"""account sessions: revoked login tokens, password-reset tokens and requests, the account's e-mail

Revision ID: 0003
Revises: 0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('account', sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254),
                                       nullable=False, server_default=''))
    op.create_table('revoked_token',
    sa.Column('jti', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('jti')
    )
    op.create_index(op.f('ix_revoked_token_account_id'), 'revoked_token', ['account_id'],
                    unique=False)
    op.create_index(op.f('ix_revoked_token_expires_at'), 'revoked_token', ['expires_at'],
                    unique=False)
    op.create_table('password_reset_token',
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('token_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('account_id'),
    sa.UniqueConstraint('token_sha256')
    )
    op.create_table('reset_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('next_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_reset_request_account_id'), 'reset_request', ['account_id'],
                    unique=False)
    op.create_index(op.f('ix_reset_request_next_at'), 'reset_request', ['next_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_reset_request_next_at'), table_name='reset_request')
    op.drop_index(op.f('ix_reset_request_account_id'), table_name='reset_request')
    op.drop_table('reset_request')
    op.drop_table('password_reset_token')
    op.drop_index(op.f('ix_revoked_token_expires_at'), table_name='revoked_token')
    op.drop_index(op.f('ix_revoked_token_account_id'), table_name='revoked_token')
    op.drop_table('revoked_token')
    op.drop_column('account', 'email')
