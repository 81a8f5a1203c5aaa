"""Decisions about sessions and self-service, on plain values (no I/O): which login token is
revoked, which reset token still works, whether a reset mail is due, what an e-mail address
must look like (SPEC §1, decision 0009). ``authentication`` and ``selfservice`` apply them."""

from __future__ import annotations

import hashlib
import heapq
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.kernel.errors import DomainError, Kind, Refusal, invalid

RESET_TOKEN_BYTES = 32          # ≥ 256 bits: guessing one is hopeless, so no lock-out is needed
EMAIL_MAX = 254                 # RFC 5321: the longest path an SMTP server must accept
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_DOMAIN = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                     r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")

# Why sessions ended (the event's reason and the audit's action).
LOGOUT = "logout"
LOGOUT_EVERYWHERE = "logout_everywhere"
PASSWORD_CHANGED = "password_changed"
PASSWORD_RESET = "password_reset"
PASSWORD_RESET_BY_ADMIN = "password_reset_by_admin"
ACCOUNT_DISABLED = "account_disabled"


def new_jti() -> str:
    """A login token's id: what a logout revokes."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Bearer:
    """What an authentic login token says of itself."""

    expires: float      # epoch seconds
    account_id: str
    version: int        # the account's token version when it was issued
    jti: str            # "" in tokens from before login tokens had ids
    issued_ms: int      # epoch ms (``iat_ms``; ``iat`` × 1000 in older tokens)


def bearer_refusal(bearer: Bearer, current_version: int, *, logged_out: bool,
                   not_before_ms: int) -> Refusal | None:
    """A login token is refused when it was logged out (its ``jti``), when the account's token
    version moved on, or when it was issued before the account's sessions all ended (heard from
    another gateway's event before this one re-reads the version)."""
    if logged_out or not session_alive(bearer.version, current_version) \
            or bearer.issued_ms < not_before_ms:
        return Refusal("auth.token_revoked", Kind.UNAUTHENTICATED, {})
    return None


def session_alive(version: int, current_version: int) -> bool:
    """A session lives while its token version is the account's: every raise ends them all."""
    return version == current_version


def ends_every_session(jti: str, everywhere: bool) -> bool:
    """A logout ends every session of the account when asked to, or when the token has no
    ``jti`` (issued before login tokens had ids): the token version is its only handle."""
    return everywhere or not jti


def logged_out_until(not_before_ms: int, session_hours: int) -> float:
    """When a login token logged out at ``not_before_ms`` expires at the latest (epoch s): how
    long another gateway must remember its ``jti`` (the event does not carry the expiry)."""
    return not_before_ms / 1000 + session_hours * 3600


def reset_mail_due(*, exists: bool, machine: bool, email: str, status: str) -> bool:
    """A reset request mails a token only to an active person's account with an address; the
    request's answer and its work are the same either way (decision 0009)."""
    return exists and not machine and bool(email) and status == "active"


def mail_expired(created_at: datetime, now: datetime, minutes: int) -> bool:
    """A reset mail still undelivered when its token has expired is dropped, not sent."""
    return created_at + timedelta(minutes=minutes) <= now


def retry_after_seconds(attempts: int) -> float:
    """Back-off for a mail the server would not take: 2, 4, 8 … seconds, at most 5 minutes."""
    return float(min(2 ** max(attempts, 1), 300))


class RevokedJtis:
    """Logged-out login tokens (``jti`` → expiry), bounded: past ``cap`` the soonest to expire
    are dropped, and a token expiring by then (``may_have_forgotten``) is looked up in the
    database instead. Expired entries go first (they can never be presented again). Locked:
    the bus follower writes it on the event loop while requests read it in worker threads."""

    def __init__(self, cap: int = 100_000) -> None:
        self.cap = cap
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self.forgotten_until = 0.0
        self._lock = threading.Lock()

    def add(self, jti: str, expires: float, now: float) -> None:
        with self._lock:
            if not jti or jti in self._expiry:
                return
            self._expiry[jti] = expires
            heapq.heappush(self._heap, (expires, jti))
            while self._heap and (self._heap[0][0] <= now or len(self._expiry) > self.cap):
                until, dropped = heapq.heappop(self._heap)
                del self._expiry[dropped]
                if until > now:
                    self.forgotten_until = max(self.forgotten_until, until)

    def __contains__(self, jti: object) -> bool:
        return jti in self._expiry

    def __len__(self) -> int:
        return len(self._expiry)

    def may_have_forgotten(self, expires: float) -> bool:
        """Whether a token expiring at ``expires`` may have been dropped while still alive."""
        return expires <= self.forgotten_until


def new_reset_token() -> tuple[str, str]:
    """A one-time password-reset token and the only thing stored of it, its SHA-256."""
    token = secrets.token_urlsafe(RESET_TOKEN_BYTES)
    return token, reset_token_digest(token)


def reset_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def reset_token_refusal(expires_at: datetime | None, now: datetime) -> Refusal | None:
    """Unknown, used (deleted) and expired tokens are refused alike, with one code: the answer
    says nothing about which."""
    if expires_at is None or expires_at <= now:
        return Refusal("auth.reset_token_invalid", Kind.INVALID, {})
    return None


def parse_email(text: str) -> str:
    """An address a reset can be mailed to, or ``""`` (none). Bounded, one ``@``, no spaces or
    control characters (CR/LF would inject headers), a dotted domain; the domain in lower case.
    Internationalised addresses are not accepted (SMTPUTF8 is not assumed of the server)."""
    text = text.strip()
    if not text:
        return ""
    if len(text) > EMAIL_MAX or text.count("@") != 1:
        raise invalid("account.email_invalid")
    local, domain = text.split("@")
    if not _LOCAL.fullmatch(local) or local.startswith(".") or local.endswith(".") \
            or ".." in local or not _DOMAIN.fullmatch(domain):
        raise invalid("account.email_invalid")
    return f"{local}@{domain.lower()}"


def reset_link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/reset-password?token={token}"


def reset_mail_off() -> DomainError:
    """Reset by e-mail needs a mail server (``GL_SMTP_HOST``): without one, say so (409) and
    send the user to their administrator, rather than pretend a message went out."""
    return DomainError("auth.reset_by_mail_off", Kind.PRECONDITION)
