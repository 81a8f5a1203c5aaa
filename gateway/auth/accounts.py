"""Account administration (SPEC §1): who may create, verify, reset, disable whom, API keys for
machine clients, and the audit trail of every change.

Who is calling at all (logins, tokens, API keys, their caches) is ``gateway.auth.authentication``;
this module tells it to forget an account's cached identity whenever the account changes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager

from sqlmodel import Session, select

from gateway.auth.authentication import Auth, audit, drop_reset_tokens, raise_token_version
from gateway.auth.passwords import hash_password, new_password
from gateway.auth.sessions import ACCOUNT_DISABLED, PASSWORD_RESET_BY_ADMIN, parse_email
from gateway.store import Account, AccountGrant, ApiKey, AuditEntry
from services.kernel import clock
from services.kernel.errors import DomainError, Kind, bounded, forbidden, invalid, not_found
from services.kernel.identity import ROLES, Grant, Identity
from services.kernel.tenancy import NATIONAL, get_tenant, reporting_tenant, validate_location
from services.kernel.uscc import parse_uscc

USERNAME = re.compile(r"[A-Za-z0-9_.@-]{3,80}")


class Accounts:
    """The administration of accounts, in the gateway's own database (the national tenant)."""

    def __init__(self, auth: Auth) -> None:
        self.auth = auth

    def session(self, *, write: bool = False) -> AbstractContextManager[Session]:
        return self.auth.session(write=write)

    def create_account(self, admin: Identity, *, username: str, display_name: str,
                       grants: list[Grant], password: str = "", machine: bool = False,
                       verified: bool = True, location: str = "",
                       email: str = "") -> tuple[Account, str]:
        """Create an account; returns it and its initial password (generated when not given).
        ``email``: where a forgotten password may be reset (optional)."""
        username = username.strip()
        email = parse_email(email)
        if not USERNAME.fullmatch(username):
            raise invalid("account.username", value=username)
        if not grants:
            raise invalid("account.no_grant")
        checked = [check_grant(admin, g) if verified else validate_grant(g) for g in grants]
        if location:
            # Where an enterprise says it is decides which city may confirm it: in its tenant.
            location = validate_location(location)
            for g in checked:
                if reporting_tenant(location) != g.tenant:
                    raise invalid("unit.location_other_tenant", location=location,
                                  tenant=g.tenant, owner=reporting_tenant(location))
        password = password or ("" if machine else new_password())
        now = clock.now()
        account = Account(id=str(uuid.uuid4()), username=username, display_name=display_name.strip(),
                          password_hash=hash_password(password) if password else "", machine=machine,
                          email="" if machine else email,
                          created_by=admin.subject, created_at=now, updated_at=now)
        with self.session(write=True) as s:
            if s.exec(select(Account).where(Account.username == username)).first():
                raise DomainError("account.username_taken", Kind.CONFLICT, value=username)
            s.add(account)
            for g in checked:
                s.add(AccountGrant(account_id=account.id, role=g.role, tenant=g.tenant, city=g.city,
                                   org=g.org, location=location, verified=verified,
                                   verified_by=admin.subject if verified else ""))
            audit(s, admin.subject, "account.created", account.id, username=username,
                  grants=[g.as_claim() for g in checked], verified=verified)
        return account, password

    def verify_enterprise(self, admin: Identity, account_id: str) -> Account:
        """A province, or the city where the enterprise is, confirms its claim to a USCC."""
        with self.session(write=True) as s:
            account = s.get(Account, account_id)
            grants = s.exec(select(AccountGrant).where(AccountGrant.account_id == account_id,
                                                       AccountGrant.role == "enterprise")).all()
            if account is None or not grants:
                raise not_found("account.not_found", account_id=account_id)
            for g in grants:
                if not may_verify(admin, g):
                    raise forbidden("account.may_not_verify", tenant=g.tenant)
                g.verified, g.verified_by = True, admin.subject
                s.add(g)
            audit(s, admin.subject, "account.verified", account_id)
        self.auth.forget(account_id)
        return account

    def reset_password(self, admin: Identity, account_id: str) -> str:
        with self.session(write=True) as s:
            account, _ = self._administered(s, admin, account_id)
            if account.machine:
                raise invalid("account.machine_has_no_password", account_id=account_id)
            password = new_password()
            # Every session of the old password ends now, and any reset token mailed for it.
            raise_token_version(s, account_id, password_hash=hash_password(password))
            drop_reset_tokens(s, account_id)
            self.auth.end_sessions(s, account_id, PASSWORD_RESET_BY_ADMIN)  # at the services too
            audit(s, admin.subject, "account.password_reset", account_id)
        self.auth.forget(account_id)
        return password

    def set_status(self, admin: Identity, account_id: str, status: str) -> Account:
        if status not in ("active", "disabled"):
            raise invalid("account.status", value=status)
        with self.session(write=True) as s:
            account, _ = self._administered(s, admin, account_id)
            if status == "disabled":
                # Its sessions end for good (re-enabled, old tokens stay dead), a mailed reset
                # token with them; its captured internal tokens stop working at once too.
                raise_token_version(s, account_id, status=status)
                drop_reset_tokens(s, account_id)
                self.auth.end_sessions(s, account_id, ACCOUNT_DISABLED)
                s.refresh(account)
            else:
                account.status, account.updated_at = status, clock.now()
                s.add(account)
            audit(s, admin.subject, f"account.{status}", account_id)
        self.auth.forget(account_id)
        return account

    def create_api_key(self, admin: Identity, account_id: str, label: str) -> str:
        """A key for a machine account, issued by its administrator and shown once."""
        with self.session(write=True) as s:
            account, _ = self._administered(s, admin, account_id)
            if not account.machine:
                raise invalid("account.not_machine", account_id=account_id)
            key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(24).replace("_", "-")
            s.add(ApiKey(id=key_id, account_id=account_id, label=bounded(label, "label", 200),
                         secret_sha256=hashlib.sha256(secret.encode()).hexdigest(),
                         created_at=clock.now()))
            audit(s, admin.subject, "api_key.created", account_id, key_id=key_id)
        return f"glk_{key_id}_{secret}"

    def revoke_api_key(self, admin: Identity, account_id: str, key_id: str) -> None:
        with self.session(write=True) as s:
            self._administered(s, admin, account_id)
            key = s.get(ApiKey, key_id)
            if key is None or key.account_id != account_id:
                raise not_found("api_key.not_found", key_id=key_id)
            if key.revoked_at is None:
                key.revoked_at = clock.now()
                s.add(key)
                audit(s, admin.subject, "api_key.revoked", account_id, key_id=key_id)
        self.auth.forget_api_keys()

    def _administered(self, s: Session, admin: Identity,
                      account_id: str) -> tuple[Account, list[AccountGrant]]:
        account = s.get(Account, account_id)
        grants = list(s.exec(select(AccountGrant).where(AccountGrant.account_id == account_id)))
        if account is None:
            raise not_found("account.not_found", account_id=account_id)
        if not may_administer(admin, grants):
            raise forbidden("account.may_not_administer")
        return account, grants

    def audit_trail(self, admin: Identity, account_id: str, limit: int) -> list[AuditEntry]:
        """Account changes: all of them for the operator, one account's for its administrator."""
        with self.session() as s:
            q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)  # type: ignore[union-attr]
            if account_id:
                grants = list(s.exec(select(AccountGrant).where(AccountGrant.account_id == account_id)))
                if "operator" not in admin.roles() and not may_administer(admin, grants):
                    raise forbidden("account.may_not_administer")
                q = q.where(AuditEntry.target == account_id)
            elif "operator" not in admin.roles():
                raise forbidden("account.may_not_administer")
            return list(s.exec(q))

    def listed(self, admin: Identity,
               tenant: str | None) -> list[tuple[Account, list[AccountGrant]]]:
        """Accounts the admin administers (judged on all their grants) or may verify."""
        with self.session() as s:
            by_account: dict[str, list[AccountGrant]] = {}
            for g in s.exec(select(AccountGrant)):
                by_account.setdefault(g.account_id, []).append(g)
            out = []
            for account_id, grants in sorted(by_account.items()):
                if tenant and all(g.tenant != tenant for g in grants):
                    continue
                if may_administer(admin, grants) or any(
                        g.role == "enterprise" and may_verify(admin, g) for g in grants):
                    account = s.get(Account, account_id)
                    if account:
                        out.append((account, grants))
            return out


# --- who may administer whom: rules on plain values -------------------------------------------


def check_grant(admin: Identity, grant: Grant) -> Grant:
    """May ``admin`` hand out ``grant``? operator → provinces, ministry, partners; province →
    its cities and enterprises; ministry → experts and institutions."""
    roles = admin.roles()
    allowed = (
        ("operator" in roles and grant.role in ("province", "ministry", "operator", "partner"))
        or ("ministry" in roles and grant.role in ("expert", "institution"))
        or (grant.role in ("city", "enterprise") and any(
            g.role == "province" and g.tenant == grant.tenant for g in admin.grants))
    )
    if not allowed:
        raise forbidden("account.may_not_grant", role=grant.role, tenant=grant.tenant)
    return validate_grant(grant)


def may_administer(admin: Identity, grants: Sequence[AccountGrant]) -> bool:
    """The account's administrator: whoever could have created it; a city for the
    enterprises in its city (verification only, see ``Accounts.verify_enterprise``)."""
    try:
        for g in grants:
            check_grant(admin, Grant(g.role, g.tenant, g.city, g.org))
    except DomainError:
        return False
    return bool(grants)


def may_verify(admin: Identity, claim: AccountGrant) -> bool:
    """The authority that confirms an enterprise's USCC claim: its province, or the city (or
    county) where the enterprise says it is."""
    return any(
        a.tenant == claim.tenant and (
            a.role == "province" or (a.role == "city" and bool(claim.location)
                                     and a.covers_location(claim.location)))
        for a in admin.grants
    )


def validate_grant(grant: Grant) -> Grant:
    """A grant that makes sense on its own: known role and tenant, a city inside the tenant,
    a valid USCC for an enterprise."""
    if grant.role not in ROLES or grant.role == "public":
        raise invalid("account.role", value=grant.role)
    get_tenant(grant.tenant)
    national = grant.role in ("ministry", "operator", "partner", "expert", "institution")
    if national and grant.tenant != NATIONAL and grant.role in ("ministry", "operator"):
        raise invalid("account.national_role", role=grant.role)
    if not national and grant.tenant == NATIONAL:
        raise invalid("account.tenant_role", role=grant.role)
    city, org = grant.city, grant.org
    if grant.role == "city":
        city = validate_location(grant.city)
        if reporting_tenant(city) != grant.tenant:
            raise invalid("account.city_outside_tenant", city=city, tenant=grant.tenant)
    if grant.role in ("enterprise", "institution"):
        org = parse_uscc(grant.org).code  # a claim to a code; registration checks the checksum
    return Grant(grant.role, grant.tenant, city, org)
