"""Gateway tables: accounts, grants, API keys, the audit log, and the national read model.

They live in the gateway's own database, in the national tenant's schema (file).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
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
