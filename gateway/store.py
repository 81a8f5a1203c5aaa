"""Gateway tables: accounts, grants, API keys, ended logins, reset tokens and reset requests (the
mail outbox), the audit log, and the national read model.

They live in the gateway's own database, in the national tenant's schema (file).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.kernel.bus import ChainHead, Inbox, Outbox  # noqa: F401 - part of this schema

metadata = SQLModel.metadata


class Account(SQLModel, table=True):
    __tablename__ = "account"
    id: str = Field(primary_key=True, max_length=36)
    username: str = Field(unique=True, max_length=80)
    display_name: str = Field(default="", max_length=200)
    password_hash: str = Field(default="", max_length=200)
    machine: bool = False                  # API-key clients (partners, institutions' systems)
    status: str = Field(default="active", max_length=20)   # active | disabled
    token_version: int = 0                 # raised by a password reset: older logins end
    email: str = Field(default="", max_length=254)   # for a password reset by e-mail; optional
    created_by: str = Field(default="", max_length=36)
    created_at: datetime
    updated_at: datetime


class AccountGrant(SQLModel, table=True):
    __tablename__ = "account_grant"
    __table_args__ = (UniqueConstraint("account_id", "role", "tenant", "city", "org",
                                       name="uq_grant"),)
    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=36, index=True)
    role: str = Field(max_length=20)
    tenant: str = Field(max_length=6)
    city: str = Field(default="", max_length=6)
    org: str = Field(default="", max_length=18)
    location: str = Field(default="", max_length=6)   # an enterprise's claimed location (sign-up)
    verified: bool = True                 # an enterprise's USCC claim stays False until confirmed
    verified_by: str = Field(default="", max_length=36)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    id: str = Field(primary_key=True, max_length=24)        # public part of the key
    account_id: str = Field(max_length=36, index=True)
    secret_sha256: str = Field(max_length=64)
    label: str = Field(default="", max_length=200)
    created_at: datetime
    revoked_at: datetime | None = None


class RevokedToken(SQLModel, table=True):
    """A login token ended by its logout (by its ``jti``); purged once the token has expired."""

    __tablename__ = "revoked_token"
    jti: str = Field(primary_key=True, max_length=36)
    account_id: str = Field(max_length=36, index=True)
    expires_at: datetime = Field(index=True)
    revoked_at: datetime


class PasswordResetToken(SQLModel, table=True):
    """The one live password-reset token of an account, stored only as its SHA-256."""

    __tablename__ = "password_reset_token"
    account_id: str = Field(primary_key=True, max_length=36)
    token_sha256: str = Field(unique=True, max_length=64)
    expires_at: datetime
    created_at: datetime


class ResetRequest(SQLModel, table=True):
    """A password-reset request, recorded whatever it found (the request's work is the same
    either way); ``message`` — the mail, token inside — only when one is due. The gateway's
    mail sender delivers it and deletes the row once the server took it, so the token's
    plaintext lives only until delivery; ``next_at`` is its next attempt (a back-off, and a
    claim: another gateway leaves it alone until then)."""

    __tablename__ = "reset_request"
    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(default="", max_length=36, index=True)
    recipient: str = Field(default="", max_length=254)
    message: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    attempts: int = 0
    created_at: datetime
    next_at: datetime = Field(index=True)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    actor: str = Field(max_length=36)
    action: str = Field(max_length=60)
    target: str = Field(default="", max_length=80)
    detail: str = Field(default="", max_length=4000)


class ViewUnit(SQLModel, table=True):
    """Read model: every unit of every tenant, from the registry's events (SPEC §11)."""

    __tablename__ = "view_unit"
    unit_id: str = Field(primary_key=True, max_length=36)
    tenant: str = Field(max_length=6, index=True)
    kind: str = Field(max_length=20)
    city: str = Field(max_length=6, index=True)
    location: str = Field(default="", max_length=6, index=True)
    industry: str = Field(default="", max_length=4)
    status: str = Field(default="active", max_length=20)
    registered_at: datetime
