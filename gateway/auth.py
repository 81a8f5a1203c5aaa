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
import re
import secrets
import threading
import time
import uuid
from collections import defaultdict, deque
from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlmodel import Session, select

from gateway.store import Account, AccountGrant, ApiKey, AuditEntry
from services.kernel import clock
from services.kernel.db import Database
from services.kernel.errors import DomainError, Kind, bounded, forbidden, invalid, not_found
from services.kernel.identity import (
    ROLES,
    Grant,
    Identity,
    issue_internal_token,
)
from services.kernel.signing import KeyRing
from services.kernel.tenancy import NATIONAL, get_tenant, reporting_tenant, validate_location
from services.kernel.uscc import parse_uscc

API_AUDIENCE = "gl-api"
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("timing-equaliser")
# Each argon2 run takes ~64 MiB: a flood of logins must queue, not exhaust memory.
_HASHING = threading.BoundedSemaphore(4)
USERNAME = re.compile(r"[A-Za-z0-9_.@-]{3,80}")
# Failed logins allowed per window: per username, and per client address (a province's offices
# may share one address, so that bound is wider).
LOGIN_FAILURES = {"user": 10, "client": 100}
LOGIN_WINDOW = 15 * 60


def hash_password(password: str) -> str:
    if (len(password) < 8 or not any(c.isdigit() for c in password)
            or not any(c.isalpha() for c in password)):
        raise invalid("account.password_weak")
    with _HASHING:
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
        # account id or API key → (fresh until, identity, the account's token version)
        self._identities: dict[str, tuple[float, Identity, int]] = {}
        self._tokens: dict[Identity, tuple[float, str]] = {}
        self._bearers: dict[str, tuple[float, str, int]] = {}
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def session(self, *, write: bool = False):  # type: ignore[no-untyped-def]
        return self.db.session(NATIONAL, write=write)

    # --- who is calling -------------------------------------------------------------------------

    def login(self, username: str, password: str, client: str = "") -> tuple[str, Account]:
        username = username.strip()
        keys = (f"user:{username}", f"client:{client}")
        self._throttle(keys)
        with self.session() as s:
            account = s.exec(select(Account).where(Account.username == username)).first()
        try:
            with _HASHING:
                if account is None or account.machine or not account.password_hash:
                    _hasher.verify(_DUMMY_HASH, password + "x")  # same time either way: refuses
                _hasher.verify(account.password_hash, password)  # type: ignore[union-attr]
        except (VerifyMismatchError, InvalidHashError):
            self._fail(keys)
            raise DomainError("auth.bad_credentials", Kind.UNAUTHENTICATED) from None
        if account.status != "active":
            raise DomainError("auth.account_disabled", Kind.FORBIDDEN)
        now = clock.now()
        token = self.ring.sign_jwt({
            "iss": self.ring.issuer, "aud": API_AUDIENCE, "sub": account.id,
            "ver": account.token_version, "iat": int(now.timestamp()),
            "exp": int((now + timedelta(hours=self.session_hours)).timestamp()),
        })
        return token, account

    def _throttle(self, keys: tuple[str, ...]) -> None:
        """At most LOGIN_FAILURES failed logins per user and per client in LOGIN_WINDOW."""
        horizon = time.monotonic() - LOGIN_WINDOW
        for key in keys:
            failures = self._failures[key]
            while failures and failures[0] < horizon:
                failures.popleft()
            if len(failures) >= LOGIN_FAILURES[key.split(":", 1)[0]]:
                raise DomainError("auth.too_many_attempts", Kind.RATE_LIMITED,
                                  minutes=LOGIN_WINDOW // 60)

    def _fail(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            self._failures[key].append(time.monotonic())
        if len(self._failures) > 100000:
            self._failures.clear()

    def cached_bearer(self, token: str) -> Identity | None:
        """The identity behind a login token, when everything about it is cached and fresh."""
        bearer = self._bearers.get(token)
        if bearer is None or bearer[0] <= clock.now().timestamp():
            return None
        hit = self._identities.get(bearer[1])
        if hit and hit[0] > time.monotonic() and hit[2] == bearer[2]:
            return hit[1]
        return None

    def identity_of_bearer(self, token: str) -> Identity:
        """The identity behind a login token: signature checked once, expiry always, and the
        account's token version, so a password reset ends every session at once."""
        bearer = self._bearers.get(token)
        if bearer is None or bearer[0] <= clock.now().timestamp():
            try:
                claims = self.ring.verify_jwt(token, audience=API_AUDIENCE)
            except jwt.ExpiredSignatureError:
                raise DomainError("auth.token_expired", Kind.UNAUTHENTICATED) from None
            except jwt.InvalidTokenError:
                raise DomainError("auth.token_invalid", Kind.UNAUTHENTICATED) from None
            if len(self._bearers) > 10000:
                self._bearers.clear()
            bearer = (float(claims["exp"]), claims["sub"], int(claims.get("ver", 0)))
            self._bearers[token] = bearer
        ident, version = self._load(bearer[1])
        if version != bearer[2]:
            raise DomainError("auth.token_revoked", Kind.UNAUTHENTICATED)
        return ident

    def cached(self, key: str) -> Identity | None:
        """An identity still fresh in the cache (by API key), else None."""
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
        ident, version = self._load(row.account_id)
        self._identities[key] = (time.monotonic() + 5, ident, version)
        return ident

    def identity(self, account_id: str) -> Identity:
        return self._load(account_id)[0]

    def _load(self, account_id: str) -> tuple[Identity, int]:
        """The account's verified grants, read again at most every 5 s: a disabled account or a
        withdrawn grant stops working within seconds."""
        hit = self._identities.get(account_id)
        if hit and hit[0] > time.monotonic():
            return hit[1], hit[2]
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
        self._identities[account_id] = (time.monotonic() + 5, ident, account.token_version)
        return ident, account.token_version

    def internal_token(self, ident: Identity) -> str:
        """The token services verify; re-signed when half its life (platform clock) has passed."""
        cached = self._tokens.get(ident)
        now = clock.now().timestamp()
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
        if not USERNAME.fullmatch(username):
            raise invalid("account.username", value=username)
        if not grants:
            raise invalid("account.no_grant")
        checked = [self.check_grant(admin, g) if verified else validate_grant(g) for g in grants]
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
                if not _competent(admin, g):
                    raise forbidden("account.may_not_verify", tenant=g.tenant)
                g.verified, g.verified_by = True, admin.subject
                s.add(g)
            audit(s, admin.subject, "account.verified", account_id)
        self.forget(account_id)
        return account

    def reset_password(self, admin: Identity, account_id: str) -> str:
        with self.session(write=True) as s:
            account, _ = self._administered(s, admin, account_id)
            if account.machine:
                raise invalid("account.machine_has_no_password", account_id=account_id)
            password = new_password()
            account.password_hash = hash_password(password)
            account.token_version += 1  # every session of the old password ends now
            account.updated_at = clock.now()
            s.add(account)
            audit(s, admin.subject, "account.password_reset", account_id)
        self.forget(account_id)
        return password

    def set_status(self, admin: Identity, account_id: str, status: str) -> Account:
        if status not in ("active", "disabled"):
            raise invalid("account.status", value=status)
        with self.session(write=True) as s:
            account, _ = self._administered(s, admin, account_id)
            account.status, account.updated_at = status, clock.now()
            s.add(account)
            audit(s, admin.subject, f"account.{status}", account_id)
        self.forget(account_id)
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
        self._identities = {k: v for k, v in self._identities.items() if not k.startswith("glk_")}

    def _administered(self, s: Session, admin: Identity,
                      account_id: str) -> tuple[Account, list[AccountGrant]]:
        account = s.get(Account, account_id)
        grants = list(s.exec(select(AccountGrant).where(AccountGrant.account_id == account_id)))
        if account is None:
            raise not_found("account.not_found", account_id=account_id)
        if not self.may_administer(admin, grants):
            raise forbidden("account.may_not_administer")
        return account, grants

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
        """Accounts the admin administers (judged on all their grants) or may verify."""
        with self.session() as s:
            by_account: dict[str, list[AccountGrant]] = {}
            for g in s.exec(select(AccountGrant)):
                by_account.setdefault(g.account_id, []).append(g)
            out = []
            for account_id, grants in sorted(by_account.items()):
                if tenant and all(g.tenant != tenant for g in grants):
                    continue
                if self.may_administer(admin, grants) or any(
                        g.role == "enterprise" and _competent(admin, g) for g in grants):
                    account = s.get(Account, account_id)
                    if account:
                        out.append((account, grants))
            return out


def _competent(admin: Identity, claim: AccountGrant) -> bool:
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
