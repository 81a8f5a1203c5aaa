"""Who is calling (SPEC §1): logins, login tokens, API keys, and the caches in front of them.

People log in with a password and get a JWT (audience ``gl-api``); machines send an API key
(``X-API-Key: glk_<id>_<secret>``). Either way the caller becomes an ``Identity`` whose grants are
read from the database (cached for a few seconds, so a revoked grant stops working quickly);
the gateway then signs the short-lived internal token every service verifies. Account
administration (who may create, verify, reset whom) is ``gateway.auth.accounts``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from sqlmodel import Session, select

from gateway.auth.passwords import password_matches
from gateway.auth.throttle import LoginThrottle
from gateway.store import Account, AccountGrant, ApiKey
from services.kernel import clock
from services.kernel.db import Database
from services.kernel.errors import DomainError, Kind
from services.kernel.identity import Grant, Identity, issue_internal_token
from services.kernel.signing import KeyRing
from services.kernel.telemetry import log
from services.kernel.tenancy import NATIONAL

API_AUDIENCE = "gl-api"
logger = logging.getLogger("greenladder.gateway.auth")


@dataclass(frozen=True)
class Login:
    """A successful login: the token, whose it is, and when it stops working."""

    token: str
    account: Account
    expires_at: datetime


class Auth:
    """Turns what a request presents (a login token, an API key) into an ``Identity``, and an
    ``Identity`` into the internal token the services verify, caching each step."""

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
        self.throttle = LoginThrottle()

    def session(self, *, write: bool = False) -> AbstractContextManager[Session]:
        """The gateway's tables live in the national tenant's database."""
        return self.db.session(NATIONAL, write=write)

    # --- who is calling -------------------------------------------------------------------------

    def login(self, username: str, password: str, client: str = "") -> Login:
        """A login token for a person's account and when it expires; failures are throttled
        (``throttle``): the attempt is counted before the password is evaluated, so concurrent
        wrong passwords are refused once the bound is reached, and given back when the password
        matched. Refused logins and lock-outs are logged (never the password)."""
        username = username.strip()
        keys = self.throttle.keys(username, client)
        try:
            attempt = self.throttle.reserve(keys)
        except DomainError:
            log(logger, "login locked out", logging.WARNING, username=username[:100],
                client=client)
            raise
        try:
            with self.session() as s:
                account = s.exec(select(Account).where(Account.username == username)).first()
            # No account, or a machine's: a dummy hash is checked, so the answer takes as long.
            hashed = account.password_hash if account is not None and not account.machine else ""
            matches = password_matches(hashed, password)
        except BaseException:
            self.throttle.release(attempt)  # not evaluated: not a failed password
            raise
        if account is None or not matches:
            log(logger, "login refused", logging.WARNING, username=username[:100],
                client=client, known=account is not None)
            raise DomainError("auth.bad_credentials", Kind.UNAUTHENTICATED)
        self.throttle.release(attempt)
        if account.status != "active":
            log(logger, "login refused", logging.WARNING, username=username[:100],
                client=client, known=True, status=account.status)
            raise DomainError("auth.account_disabled", Kind.FORBIDDEN)
        now = clock.now()
        expires = now + timedelta(hours=self.session_hours)
        token = self.ring.sign_jwt({
            "iss": self.ring.issuer, "aud": API_AUDIENCE, "sub": account.id,
            "ver": account.token_version, "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        })
        return Login(token=token, account=account, expires_at=expires)

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
        """Drop the cached identity of a changed account: the next call reads it again."""
        self._identities.pop(account_id, None)

    def forget_api_keys(self) -> None:
        """Drop every identity cached by API key (one was revoked)."""
        self._identities = {k: v for k, v in self._identities.items() if not k.startswith("glk_")}
