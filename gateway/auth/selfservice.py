"""What a person does to their own account (SPEC §1): change the password, set the e-mail
address a reset is mailed to, and reset a forgotten password by e-mail.

Every change ends the account's other sessions the way an administrator's reset does — the
token version moves on and a signed ``SessionsRevoked`` event tells every service
(``Auth.end_sessions``, decision 0009) — and is audited, never with a password, token or address.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from datetime import timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from gateway.auth.authentication import (
    Auth,
    Login,
    audit,
    drop_reset_tokens,
    raise_token_version,
)
from gateway.auth.mail import Mailer, Sender, reset_message
from gateway.auth.passwords import hash_password, password_matches
from gateway.auth.sessions import (
    PASSWORD_CHANGED,
    PASSWORD_RESET,
    new_reset_token,
    parse_email,
    reset_link,
    reset_mail_due,
    reset_mail_off,
    reset_token_digest,
    reset_token_refusal,
)
from gateway.auth.throttle import LoginThrottle
from gateway.store import Account, PasswordResetToken, ResetRequest
from services.kernel import clock
from services.kernel.config import Settings
from services.kernel.db import insert_new
from services.kernel.errors import DomainError, Kind, invalid, refuse
from services.kernel.identity import Identity
from services.kernel.telemetry import log

logger = logging.getLogger("greenladder.gateway.auth")
# Reset requests, counted whether or not they send anything: a mailbox is not to be flooded.
RESET_REQUESTS = {"user": 5, "client": 50}


class SelfService:
    """A person's own account: password, e-mail address, reset by e-mail."""

    def __init__(self, auth: Auth, settings: Settings) -> None:
        self.auth = auth
        self.settings = settings
        self.mailer = Mailer.of(settings)
        # Delivers the mails requests record; the gateway runs it (``Sender.run``).
        self.sender = (Sender(self.mailer, auth.session, settings.password_reset_minutes)
                       if self.mailer else None)
        self.reset_throttle = LoginThrottle(limits=RESET_REQUESTS, code="auth.too_many_resets")

    def session(self, *, write: bool = False) -> AbstractContextManager[Session]:
        return self.auth.session(write=write)

    def _proven(self, ident: Identity, password: str, client: str) -> Account:
        """The caller's account once its current password is proven, throttled like a login
        (the same counts: changing a password is no way around a lock-out)."""
        with self.session() as s:
            account = s.get(Account, ident.subject)
        if account is None or account.machine:
            raise invalid("account.machine_has_no_password", account_id=ident.subject)
        keys = self.auth.throttle.keys(account.username, client)
        attempt = self.auth.throttle.reserve(keys)
        try:
            matches = password_matches(account.password_hash, password)
        except BaseException:
            self.auth.throttle.release(attempt)
            raise
        if not matches:
            log(logger, "current password refused", logging.WARNING, account=account.id,
                client=client)
            raise DomainError("auth.wrong_password", Kind.FORBIDDEN)
        self.auth.throttle.release(attempt)
        return account

    def change_password(self, ident: Identity, *, current: str, new: str,
                        client: str = "") -> Login:
        """Set a new password; every other session ends (and any mailed reset token); a fresh
        login token is answered."""
        account = self._proven(ident, current, client)
        hashed = hash_password(new)  # the strength rule refuses before anything changes
        with self.session(write=True) as s:
            if raise_token_version(s, account.id, password_hash=hashed) is None:
                raise DomainError("auth.account_disabled", Kind.UNAUTHENTICATED)
            drop_reset_tokens(s, account.id)
            self.auth.end_sessions(s, account.id, PASSWORD_CHANGED)
            audit(s, account.id, "account.password_changed", account.id)
            row = s.get(Account, account.id, populate_existing=True)
        self.auth.forget(account.id)
        if row is None:
            raise DomainError("auth.account_disabled", Kind.UNAUTHENTICATED)
        return self.auth.issue_login(row)

    def set_email(self, ident: Identity, *, email: str, password: str,
                  client: str = "") -> str:
        """Set (or, empty, remove) the address a reset is mailed to. The current password is
        asked for: a stolen session must not be able to redirect the account's resets — and a
        token already mailed to the old address stops working."""
        email = parse_email(email)
        account = self._proven(ident, password, client)
        with self.session(write=True) as s:
            row = s.get(Account, account.id)
            if row is None:
                raise DomainError("auth.account_disabled", Kind.UNAUTHENTICATED)
            row.email, row.updated_at = email, clock.now()
            s.add(row)
            drop_reset_tokens(s, row.id)
            audit(s, row.id, "account.email_changed", row.id, has_email=bool(email))
        return email

    def request_reset(self, username: str, client: str = "") -> None:
        """Record a reset request; when a mail is due (``reset_mail_due``) the request carries
        the message with a fresh one-time token, which the ``Sender`` delivers afterwards. The
        work and the answer are the same whatever the request found — one write, no mail server
        — so neither tells whether the account exists (decision 0009). 409 when mail is off."""
        if self.mailer is None or self.sender is None:
            raise reset_mail_off()
        username = username.strip()
        self.reset_throttle.reserve(self.reset_throttle.keys(username, client))  # never given back
        with self.session() as s:
            account = s.exec(select(Account).where(Account.username == username)).first()
        due = account is not None and reset_mail_due(
            exists=True, machine=account.machine, email=account.email, status=account.status)
        token, digest = new_reset_token()   # made either way: the same work
        now = clock.now()
        minutes = self.settings.password_reset_minutes
        message = reset_message(sender=self.settings.mail_from,
                                to=account.email if account and due else "",
                                username=account.username if account and due else username,
                                link=reset_link(self.settings.public_url, token), token=token,
                                minutes=minutes).as_string()
        with self.session(write=True) as s:
            request = ResetRequest(created_at=now, next_at=now)
            if account is not None and due:
                request.account_id, request.recipient = account.id, account.email
                request.message = message
                insert_new(s, PasswordResetToken, account_id=account.id, token_sha256=digest,
                           expires_at=now, created_at=now)
                s.execute(update(PasswordResetToken)   # one live token per account: replaced
                          .where(col(PasswordResetToken.account_id) == account.id)
                          .values(token_sha256=digest, created_at=now,
                                  expires_at=now + timedelta(minutes=minutes)))
                audit(s, "anonymous", "account.password_reset_requested", account.id,
                      client=client)
            s.add(request)
        self.sender.notify()

    def confirm_reset(self, token: str, new_password: str) -> None:
        """Set the password with a mailed token, which is used up; every session ends.
        Unknown, used and expired tokens are one refusal (``auth.reset_token_invalid``). The
        token is used up by deleting its row in the transaction that sets the password, and only
        the one call that deleted it goes on: two confirms with one token set it once."""
        if self.mailer is None:
            raise reset_mail_off()
        digest = reset_token_digest(token)
        with self.session() as s:
            row = s.exec(select(PasswordResetToken)
                         .where(PasswordResetToken.token_sha256 == digest)).first()
        refuse(reset_token_refusal(row.expires_at if row else None, clock.now()))
        account_id = row.account_id if row else ""
        hashed = hash_password(new_password)  # a weak password keeps the token for a retry
        with self.session(write=True) as s:
            used = s.execute(delete(PasswordResetToken).where(
                col(PasswordResetToken.account_id) == account_id,
                col(PasswordResetToken.token_sha256) == digest,
                col(PasswordResetToken.expires_at) > clock.now())).rowcount
            if used != 1 or raise_token_version(s, account_id, password_hash=hashed) is None:
                refuse(reset_token_refusal(None, clock.now()))  # used (or replaced) meanwhile
            drop_reset_tokens(s, account_id)
            self.auth.end_sessions(s, account_id, PASSWORD_RESET)
            audit(s, account_id, "account.password_reset_by_mail", account_id)
        self.auth.forget(account_id)
