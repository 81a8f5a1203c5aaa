"""Accounts, passwords, login tokens, API keys, and who may administer whom (SPEC §1).

People log in with a password and get a JWT (audience ``gl-api``); machines send an API key
(``X-API-Key: glk_<id>_<secret>``). Either way the caller becomes an ``Identity`` whose grants are
read from the database (cached for a few seconds, so a revoked grant stops working quickly);
the gateway then signs the short-lived internal token every service verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlmodel import Session, select

from gateway.store import Account, AccountGrant, ApiKey, AuditEntry
from services.kernel import clock
from services.kernel.db import Database
from services.kernel.errors import DomainError, Kind, forbidden, invalid, not_found
from services.kernel.identity import (
    ROLES,
    Grant,
    Identity,
    city_prefix,
    issue_internal_token,
)
from services.kernel.signing import KeyRing
from services.kernel.tenancy import NATIONAL, get_tenant, reporting_tenant, validate_location
from services.kernel.uscc import validate_uscc

API_AUDIENCE = "gl-api"
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("timing-equaliser")


def hash_password(password: str) -> str:
    if len(password) < 8 or password.isdigit() or password.isalpha():
        raise invalid("account.password_weak")
    return _hasher.hash(password)


def new_password() -> str:
    """A generated password that always passes the strength rule (letters and digits)."""
    return f"gl{secrets.token_urlsafe(12)}{secrets.randbelow(10)}"


def audit(session: Session, actor: str, action: str, target: str, **detail: object) -> None:
    """Every account change is audited (SPEC §1)."""
    session.add(AuditEntry(at=clock.now(), actor=actor, action=action, target=target,
                           detail=json.dumps(detail, ensure_ascii=False, default=str)))


class Auth:
    def __init__(self, *, db: Database, ring: KeyRing, session_hours: int,
                 internal_seconds: int) -> None:
        self.db = db
        self.ring = ring
        self.session_hours = session_hours
        self.internal_seconds = internal_seconds
        self._identities: dict[str, tuple[float, Identity]] = {}
        self._tokens: dict[Identity, tuple[float, str]] = {}
        self._bearers: dict[str, tuple[float, str]] = {}

    def session(self, *, write: bool = False):  # type: ignore[no-untyped-def]
        return self.db.session(NATIONAL, write=write)

    # --- who is calling -------------------------------------------------------------------------

    def login(self, username: str, password: str) -> tuple[str, Account]:
        with self.session() as s:
            account = s.exec(select(Account).where(Account.username == username.strip())).first()
        try:
            if account is None or account.machine:
                _hasher.verify(_DUMMY_HASH, password + "x")  # same time either way
            _hasher.verify(account.password_hash, password)  # type: ignore[union-attr]
        except (VerifyMismatchError, InvalidHashError, AttributeError):
            raise DomainError("auth.bad_credentials", Kind.UNAUTHENTICATED) from None
        if account.status != "active":
            raise DomainError("auth.account_disabled", Kind.FORBIDDEN)
        now = clock.now()
        token = self.ring.sign_jwt({
            "iss": self.ring.issuer, "aud": API_AUDIENCE, "sub": account.id,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(hours=self.session_hours)).timestamp()),
        })
        return token, account

    def account_of_bearer(self, token: str) -> str:
        """The account a login token names; its signature is checked once, its expiry always."""
        cached = self._bearers.get(token)
        if cached is not None and cached[0] > clock.now().timestamp():
            return cached[1]
        try:
            claims = self.ring.verify_jwt(token, audience=API_AUDIENCE)
        except jwt.ExpiredSignatureError:
            raise DomainError("auth.token_expired", Kind.UNAUTHENTICATED) from None
        except jwt.InvalidTokenError as exc:
            raise DomainError("auth.token_invalid", Kind.UNAUTHENTICATED, reason=str(exc)) from None
        if len(self._bearers) > 10000:
            self._bearers.clear()
        self._bearers[token] = (float(claims["exp"]), claims["sub"])
        return claims["sub"]

    def cached(self, key: str) -> Identity | None:
        """An identity still fresh in the cache (by account id or API key), else None."""
        hit = self._identities.get(key)
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def from_api_key(self, key: str) -> Identity:
        parts = key.split("_")
        if len(parts) != 3 or parts[0] != "glk":
            raise DomainError("auth.api_key_invalid", Kind.UNAUTHENTICATED)
        with self.session() as s:
            row = s.get(ApiKey, parts[1])
        digest = hashlib.sha256(parts[2].encode()).hexdigest()
        if row is None or row.revoked_at is not None or not hmac.compare_digest(
            digest, row.secret_sha256
        ):
            raise DomainError("auth.api_key_invalid", Kind.UNAUTHENTICATED)
        ident = self.identity(row.account_id)
        self._identities[key] = (time.monotonic() + 5, ident)
        return ident

    def identity(self, account_id: str) -> Identity:
        with self.session() as s:
            account = s.get(Account, account_id)
            if account is None or account.status != "active":
                raise DomainError("auth.account_disabled", Kind.UNAUTHENTICATED)
            grants = s.exec(select(AccountGrant).where(AccountGrant.account_id == account_id,
                                                       AccountGrant.verified)).all()
        ident = Identity(
            subject=account.id, name=account.display_name or account.username,
            grants=tuple(Grant(g.role, g.tenant, g.city, g.org) for g in grants),
        )
        self._identities[account_id] = (time.monotonic() + 5, ident)
        return ident

    def internal_token(self, ident: Identity) -> str:
        """The token services verify; re-signed when half its life has passed."""
        cached = self._tokens.get(ident)
        now = time.monotonic()
        if cached and cached[0] > now:
            return cached[1]
        token = issue_internal_token(self.ring, ident, seconds=self.internal_seconds)
        if len(self._tokens) > 10000:
            self._tokens.clear()
        self._tokens[ident] = (now + self.internal_seconds / 2, token)
        return token

    def forget(self, account_id: str) -> None:
        self._identities.pop(account_id, None)

    # --- administration -------------------------------------------------------------------------

    def create_account(self, admin: Identity, *, username: str, display_name: str,
                       grants: list[Grant], password: str = "", machine: bool = False,
                       verified: bool = True, location: str = "") -> tuple[Account, str]:
        """Create an account; returns it and its initial password (generated when not given)."""
        username = username.strip()
        if not 3 <= len(username) <= 80 or not username.replace("-", "").replace("_", "").replace(".", "").replace("@", "").isalnum():
            raise invalid("account.username", value=username)
        if not grants:
            raise invalid("account.no_grant")
        checked = [self.check_grant(admin, g) if verified else validate_grant(g) for g in grants]
        password = password or ("" if machine else new_password())
        now = clock.now()
        account = Account(id=str(uuid.uuid4()), username=username, display_name=display_name.strip(),
                          password_hash=hash_password(password) if password else "", machine=machine,
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

    def check_grant(self, admin: Identity, grant: Grant) -> Grant:
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

    def may_administer(self, admin: Identity, grants: list[AccountGrant]) -> bool:
        """The account's administrator: whoever could have created it; a city for the
        enterprises in its city (verification only, see ``verify``)."""
        try:
            for g in grants:
                self.check_grant(admin, Grant(g.role, g.tenant, g.city, g.org))
        except DomainError:
            return False
        return bool(grants)

    def verify_enterprise(self, admin: Identity, account_id: str) -> Account:
        """A province, or the city where the enterprise is, confirms its claim to a USCC."""
        with self.session(write=True) as s:
            account = s.get(Account, account_id)
            grants = s.exec(select(AccountGrant).where(AccountGrant.account_id == account_id,
                                                       AccountGrant.role == "enterprise")).all()
            if account is None or not grants:
                raise not_found("account.not_found", account_id=account_id)
            for g in grants:
                competent = any(
                    (a.role == "province" and a.tenant == g.tenant)
                    or (a.role == "city" and a.tenant == g.tenant and g.location
                        and g.location.startswith(city_prefix(a.city)))
                    for a in admin.grants
                )
                if not competent:
                    raise forbidden("account.may_not_verify", tenant=g.tenant)
                g.verified, g.verified_by = True, admin.subject
                s.add(g)
            audit(s, admin.subject, "account.verified", account_id)
        self.forget(account_id)
        return account

    def reset_password(self, admin: Identity, account_id: str) -> str:
        with self.session(write=True) as s:
            account = s.get(Account, account_id)
            grants = list(s.exec(select(AccountGrant).where(AccountGrant.account_id == account_id)))
            if account is None or account.machine:
                raise not_found("account.not_found", account_id=account_id)
            if not self.may_administer(admin, grants):
                raise forbidden("account.may_not_administer")
            password = new_password()
            account.password_hash = hash_password(password)
            account.updated_at = clock.now()
            s.add(account)
            audit(s, admin.subject, "account.password_reset", account_id)
        return password

    def set_status(self, admin: Identity, account_id: str, status: str) -> Account:
        if status not in ("active", "disabled"):
            raise invalid("account.status", value=status)
        with self.session(write=True) as s:
            account = s.get(Account, account_id)
            grants = list(s.exec(select(AccountGrant).where(AccountGrant.account_id == account_id)))
            if account is None:
                raise not_found("account.not_found", account_id=account_id)
            if not self.may_administer(admin, grants):
                raise forbidden("account.may_not_administer")
            account.status, account.updated_at = status, clock.now()
            s.add(account)
            audit(s, admin.subject, f"account.{status}", account_id)
        self.forget(account_id)
        return account

    def create_api_key(self, admin: Identity, account_id: str, label: str) -> str:
        with self.session(write=True) as s:
            account = s.get(Account, account_id)
            grants = list(s.exec(select(AccountGrant).where(AccountGrant.account_id == account_id)))
            if account is None:
                raise not_found("account.not_found", account_id=account_id)
            if account_id != admin.subject and not self.may_administer(admin, grants):
                raise forbidden("account.may_not_administer")
            key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(24).replace("_", "-")
            s.add(ApiKey(id=key_id, account_id=account_id, label=label.strip(),
                         secret_sha256=hashlib.sha256(secret.encode()).hexdigest(),
                         created_at=clock.now()))
            audit(s, admin.subject, "api_key.created", account_id, key_id=key_id)
        return f"glk_{key_id}_{secret}"

    def audit_trail(self, admin: Identity, account_id: str, limit: int) -> list[AuditEntry]:
        """Account changes: all of them for the operator, one account's for its administrator."""
        with self.session() as s:
            q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)  # type: ignore[union-attr]
            if account_id:
                grants = list(s.exec(select(AccountGrant).where(AccountGrant.account_id == account_id)))
                if "operator" not in admin.roles() and not self.may_administer(admin, grants):
                    raise forbidden("account.may_not_administer")
                q = q.where(AuditEntry.target == account_id)
            elif "operator" not in admin.roles():
                raise forbidden("account.may_not_administer")
            return list(s.exec(q))

    def accounts(self, admin: Identity, tenant: str | None) -> list[tuple[Account, list[AccountGrant]]]:
        with self.session() as s:
            q = select(AccountGrant)
            if tenant:
                q = q.where(AccountGrant.tenant == tenant)
            by_account: dict[str, list[AccountGrant]] = {}
            for g in s.exec(q):
                by_account.setdefault(g.account_id, []).append(g)
            out = []
            for account_id, grants in sorted(by_account.items()):
                if self.may_administer(admin, grants) or _may_verify(admin, grants):
                    account = s.get(Account, account_id)
                    if account:
                        out.append((account, grants))
            return out


def _may_verify(admin: Identity, grants: list[AccountGrant]) -> bool:
    return any(
        g.role == "enterprise" and any(
            a.role == "city" and a.tenant == g.tenant and g.location.startswith(city_prefix(a.city))
            for a in admin.grants)
        for g in grants
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
        org = validate_uscc(grant.org, override_reason="account").code
    return Grant(grant.role, grant.tenant, city, org)
