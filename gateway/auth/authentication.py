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
import json
import logging
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from gateway.auth.passwords import password_matches
from gateway.auth.sessions import (
    LOGOUT,
    LOGOUT_EVERYWHERE,
    Bearer,
    RevokedJtis,
    bearer_refusal,
    ends_every_session,
    logged_out_until,
    new_jti,
    session_alive,
)
from gateway.auth.throttle import LoginThrottle
from gateway.store import (
    Account,
    AccountGrant,
    ApiKey,
    AuditEntry,
    PasswordResetToken,
    ResetRequest,
    RevokedToken,
)
from generated.events.v1 import events_pb2 as ev
from services.kernel import clock
from services.kernel.bus import record_event
from services.kernel.bus.contract import GATEWAY
from services.kernel.db import Database, insert_new
from services.kernel.errors import DomainError, Kind, refuse
from services.kernel.identity import (
    Grant,
    Identity,
    Revocations,
    epoch_ms,
    issue_internal_token,
    issued_at_ms,
)
from services.kernel.signing import KeyRing
from services.kernel.telemetry import log
from services.kernel.tenancy import NATIONAL

API_AUDIENCE = "gl-api"
logger = logging.getLogger("greenladder.gateway.auth")


def audit(session: Session, actor: str, action: str, target: str, **detail: object) -> None:
    """Every account change is audited (SPEC §1); never with a password or a token."""
    session.add(AuditEntry(at=clock.now(), actor=actor, action=action, target=target,
                           detail=json.dumps(detail, ensure_ascii=False, default=str)))


def raise_token_version(session: Session, account_id: str, *, expected: int | None = None,
                        **values: object) -> int | None:
    """End every session of an account: its token version goes up by one *in SQL* (two
    concurrent raises never lose one), with ``values`` set in the same statement; with
    ``expected``, only if the version is still that. Returns the new version, None when no row
    matched."""
    stmt = update(Account).where(col(Account.id) == account_id)
    if expected is not None:
        stmt = stmt.where(col(Account.token_version) == expected)
    stmt = stmt.values(token_version=col(Account.token_version) + 1, updated_at=clock.now(),
                       **values).returning(col(Account.token_version))
    version = session.execute(stmt.execution_options(synchronize_session=False)).scalar()
    return None if version is None else int(version)


def drop_reset_tokens(session: Session, account_id: str) -> None:
    """A mailed reset token must not outlive a change of the password, of the address it was
    mailed to, an administrator's reset or a disabled account: its row goes, and so does any
    mail not yet delivered (its plaintext with it)."""
    session.execute(delete(PasswordResetToken)
                    .where(col(PasswordResetToken.account_id) == account_id))
    session.execute(delete(ResetRequest).where(col(ResetRequest.account_id) == account_id))


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
                 internal_seconds: int, bus_prefix: str = "gl") -> None:
        self.db = db
        self.ring = ring
        self.session_hours = session_hours
        self.internal_seconds = internal_seconds
        self.bus_prefix = bus_prefix
        # account id or API key → (fresh until, identity, the account's token version)
        self._identities: dict[str, tuple[float, Identity, int]] = {}
        # identity → (fresh until, internal token, issued at ms)
        self._tokens: dict[Identity, tuple[float, str, int]] = {}
        # login token → what it says of itself (signature checked once)
        self._bearers: dict[str, Bearer] = {}
        self._revoked_jtis = RevokedJtis()  # logged-out login tokens, here and at other gateways
        # Accounts whose sessions ended, and when: no internal token from before is reused …
        self.revoked = Revocations(keep_ms=(internal_seconds + 120) * 1000)
        # … and, when every session ended, no login token from before passes, even before the
        # token version is read again (another gateway's event; kept a little past that).
        self.ended = Revocations(keep_ms=(internal_seconds + 120) * 1000)
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
        return self.issue_login(account)

    def issue_login(self, account: Account) -> Login:
        """A login token for the account as it is now: its token version, a fresh ``jti``."""
        now = clock.now()
        expires = now + timedelta(hours=self.session_hours)
        token = self.ring.sign_jwt({
            "iss": self.ring.issuer, "aud": API_AUDIENCE, "sub": account.id,
            "ver": account.token_version, "jti": new_jti(), "iat": int(now.timestamp()),
            "iat_ms": epoch_ms(now.timestamp()), "exp": int(expires.timestamp()),
        })
        return Login(token=token, account=account, expires_at=expires)

    def cached_bearer(self, token: str) -> Identity | None:
        """The identity behind a login token, when everything about it is cached and fresh —
        never for a token logged out (its ``jti``, here or at another gateway), whose account's
        sessions ended since, or whose ``jti`` may have left the bounded memory (then the full
        path looks it up in the database)."""
        bearer = self._bearers.get(token)
        if bearer is None or bearer.expires <= clock.now().timestamp() \
                or self._revoked_jtis.may_have_forgotten(bearer.expires):
            return None
        hit = self._identities.get(bearer.account_id)
        if hit and hit[0] > time.monotonic() and bearer_refusal(
                bearer, hit[2], logged_out=bearer.jti in self._revoked_jtis,
                not_before_ms=self.ended.not_before(bearer.account_id)) is None:
            return hit[1]
        return None

    def bearer(self, token: str) -> Bearer:
        """What an authentic login token says: signature checked once, expiry always. A token
        verified here for the first time is looked up in the revoked table (this process may
        have been restarted since its logout, or it was logged out at another gateway)."""
        bearer = self._bearers.get(token)
        if bearer is None or bearer.expires <= clock.now().timestamp():
            try:
                claims = self.ring.verify_jwt(token, audience=API_AUDIENCE)
            except jwt.ExpiredSignatureError:
                raise DomainError("auth.token_expired", Kind.UNAUTHENTICATED) from None
            except jwt.InvalidTokenError:
                raise DomainError("auth.token_invalid", Kind.UNAUTHENTICATED) from None
            jti = claims.get("jti", "")
            bearer = Bearer(expires=float(claims["exp"]), account_id=claims["sub"],
                            version=int(claims.get("ver", 0)),
                            jti=jti if isinstance(jti, str) else "",
                            issued_ms=issued_at_ms(claims))
            if bearer.jti and bearer.jti not in self._revoked_jtis:
                self._look_up_logout(bearer)
            if len(self._bearers) > 10000:
                self._bearers.clear()
            self._bearers[token] = bearer
        return bearer

    def _look_up_logout(self, bearer: Bearer) -> bool:
        """Whether the token's ``jti`` is in the revoked table (then remembered here too)."""
        with self.session() as s:
            found = s.get(RevokedToken, bearer.jti) is not None
        if found:
            self._revoked_jtis.add(bearer.jti, bearer.expires, clock.now().timestamp())
        return found

    def _logged_out(self, bearer: Bearer) -> bool:
        """Checked on every call: the ``jti`` set (filled by this gateway's logouts and by the
        events of every other one), and the database when the set may have dropped it."""
        if not bearer.jti:
            return False
        if bearer.jti in self._revoked_jtis:
            return True
        return self._revoked_jtis.may_have_forgotten(bearer.expires) \
            and self._look_up_logout(bearer)

    def identity_of_bearer(self, token: str) -> Identity:
        """The identity behind a login token; refused when it was logged out, or when the
        account's sessions all ended since it was issued (a password changed or reset, a
        disabled account, a logout everywhere: the token version moved on)."""
        bearer = self.bearer(token)
        if self._logged_out(bearer):  # before the account: a logout answers as such
            raise DomainError("auth.token_revoked", Kind.UNAUTHENTICATED)
        ident, version = self._load(bearer.account_id)
        refuse(bearer_refusal(bearer, version, logged_out=False,
                              not_before_ms=self.ended.not_before(bearer.account_id)))
        return ident

    # --- ending sessions --------------------------------------------------------------------

    def logout(self, token: str, *, everywhere: bool = False) -> bool:
        """End the session of a login token (its ``jti``), or with ``everywhere`` every session
        of its account (the token version). Whatever the token, the account's internal tokens
        issued until now are revoked at every service (``end_sessions``). Idempotent: a token
        already ended (or of an account disabled since) changes nothing and answers the same —
        it carries no authority to end other sessions; two logouts of one token at once both
        answer alike (the second finds the row there). Returns whether anything ended."""
        bearer = self.bearer(token)
        if self._logged_out(bearer):
            return False
        everywhere = ends_every_session(bearer.jti, everywhere)
        with self.session(write=True) as s:
            account = s.get(Account, bearer.account_id)
            if account is None or not session_alive(bearer.version, account.token_version):
                return False
            if everywhere:
                if raise_token_version(s, bearer.account_id, expected=bearer.version) is None:
                    return False  # ended meanwhile by another call
            else:
                if s.get(RevokedToken, bearer.jti) is not None:
                    return False  # logged out meanwhile (at this gateway or another)
                now = clock.now()
                insert_new(s, RevokedToken, jti=bearer.jti, account_id=bearer.account_id,
                           revoked_at=now,
                           expires_at=datetime.fromtimestamp(bearer.expires, now.tzinfo))
                # Rows of expired tokens are of no use any more: a logout purges them.
                s.execute(delete(RevokedToken).where(col(RevokedToken.expires_at) < now))
            self.end_sessions(s, bearer.account_id, LOGOUT_EVERYWHERE if everywhere else LOGOUT,
                              jti="" if everywhere else bearer.jti)
            audit(s, bearer.account_id, "account.logged_out", bearer.account_id,
                  everywhere=everywhere)
        if not everywhere:
            self._revoked_jtis.add(bearer.jti, bearer.expires, clock.now().timestamp())
        self._bearers.pop(token, None)
        self.forget(bearer.account_id)
        return True

    def end_sessions(self, session: Session, account_id: str, reason: str,
                     jti: str = "") -> int:
        """Inside the transaction that ends them: revoke the account's internal tokens issued
        until now — here at once (no cached one is reused), and at every service and every
        other gateway through the signed ``SessionsRevoked`` event recorded in the gateway's
        outbox (decision 0009). ``jti``: a single logout (only that login token ends); without
        it every login token of the account from before ends. Returns the instant (ms)."""
        body = ev.SessionsRevoked(subject=account_id, reason=reason, jti=jti,
                                  not_before_ms=epoch_ms(clock.now().timestamp()))
        self.apply_revocation(body)
        record_event(session, tenant=NATIONAL, service=GATEWAY.service, prefix=self.bus_prefix,
                     event_type=GATEWAY.type_of(ev.SessionsRevoked()), body=body,
                     reason=reason, signer=self.ring)
        return body.not_before_ms

    def apply_revocation(self, body: ev.SessionsRevoked) -> None:
        """What this gateway learns from a revocation — its own, or another gateway's heard by
        its follower (``kernel.revocations``): the account's internal tokens from before are not
        reused, and the logged-out ``jti`` (or, without one, every login token of the account
        issued before) is refused on every call, cached or not."""
        self.revoked.revoke(body.subject, body.not_before_ms)
        if body.jti:
            self._revoked_jtis.add(body.jti, logged_out_until(body.not_before_ms,
                                                              self.session_hours),
                                   clock.now().timestamp())
        else:
            self.ended.revoke(body.subject, body.not_before_ms)
            self.forget(body.subject)  # the next call reads the token version again

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
        """The token services verify; re-signed when half its life (platform clock) has passed,
        and when its account's sessions ended after it was issued (the services refuse it)."""
        cached = self._tokens.get(ident)
        now = clock.now().timestamp()
        if cached and cached[0] > now and cached[2] >= self.revoked.not_before(ident.subject):
            return cached[1]
        issued = epoch_ms(now)
        token = issue_internal_token(self.ring, ident, seconds=self.internal_seconds)
        if len(self._tokens) > 10000:
            self._tokens.clear()
        self._tokens[ident] = (now + self.internal_seconds / 2, token, issued)
        return token

    def forget(self, account_id: str) -> None:
        """Drop the cached identity of a changed account: the next call reads it again."""
        self._identities.pop(account_id, None)

    def forget_api_keys(self) -> None:
        """Drop every identity cached by API key (one was revoked)."""
        self._identities = {k: v for k, v in self._identities.items() if not k.startswith("glk_")}
