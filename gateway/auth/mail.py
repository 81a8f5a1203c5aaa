"""Mail for a forgotten password (SPEC §1): the message, in zh-CN and English, and the SMTP
client that hands it to the operator's server (``GL_SMTP_*``).

The client is blocking ``smtplib``, always with a timeout; it runs only in the ``Sender``'s own
thread, so a slow or dead mail server holds neither the event loop nor a request.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from gateway.auth.sessions import mail_expired, retry_after_seconds
from gateway.store import ResetRequest
from services.kernel import clock
from services.kernel.config import Settings
from services.kernel.telemetry import log

logger = logging.getLogger("greenladder.gateway.mail")
TIMEOUT_SECONDS = 10.0


def reset_message(*, sender: str, to: str, username: str, link: str, token: str,
                  minutes: int) -> EmailMessage:
    """The reset message: the link and the token itself (to paste where a link cannot be
    followed), how long it works, and what to do if the reader did not ask for it."""
    msg = EmailMessage()
    msg["From"], msg["To"] = sender, to
    msg["Subject"] = "绿色工厂平台：重设密码 / GreenLadder: reset your password"
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    msg.set_content(
        f"您好，{username}：\n\n"
        f"有人（希望是您本人）请求重设您在绿色工厂梯度培育及管理平台的密码。\n"
        f"请在 {minutes} 分钟内打开以下链接设置新密码：\n\n{link}\n\n"
        f"或在重设密码页面填写此令牌：\n{token}\n\n"
        f"令牌只能使用一次。如果不是您本人请求，请忽略本邮件，您的密码不会改变。\n\n"
        f"----\n\n"
        f"Hello {username},\n\n"
        f"Someone (hopefully you) asked to reset your GreenLadder password.\n"
        f"Open this link within {minutes} minutes to choose a new one:\n\n{link}\n\n"
        f"or enter this token on the reset page:\n{token}\n\n"
        f"The token works once. If you did not ask for this, ignore this message: your "
        f"password stays as it is.\n",
        charset="utf-8",
    )
    return msg


class MailRefused(Exception):
    """The mail server could not be reached, or would not take the message."""


@dataclass(frozen=True)
class Mailer:
    """The operator's SMTP server, as configured; ``None`` from ``of`` when there is none."""

    host: str
    port: int
    user: str = ""
    password: str = ""
    starttls: bool = False
    sender: str = "greenladder@localhost"
    timeout: float = TIMEOUT_SECONDS

    @classmethod
    def of(cls, settings: Settings) -> Mailer | None:
        if not settings.smtp_host:
            return None
        return cls(host=settings.smtp_host, port=settings.smtp_port, user=settings.smtp_user,
                   password=settings.smtp_password, starttls=settings.smtp_starttls,
                   sender=settings.mail_from)

    def send(self, message: EmailMessage) -> None:
        """Hand the message to the server; ``MailRefused`` when it would not take it."""
        self._session(lambda smtp: smtp.send_message(message))

    def _session(self, act: Callable[[smtplib.SMTP], object]) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password)
                act(smtp)
        except (OSError, smtplib.SMTPException) as exc:
            log(logger, "mail server unavailable", logging.WARNING, host=self.host,
                port=self.port, error=repr(exc)[:300])
            raise MailRefused(repr(exc)[:300]) from None


class Sender:
    """Delivers the reset mails requests recorded (``ResetRequest``), apart from the requests:
    a request answers after one write whatever it found, so neither its time nor its answer
    tells whether a mail went out (decision 0009), and a slow or dead mail server holds no
    request and no worker of the shared pool — the SMTP sessions run one at a time on this
    sender's own thread. A message the server would not take is tried again with a growing
    back-off; one the server took is deleted (the token's plaintext with it); one whose token
    expired meanwhile is dropped. Rows survive a restart; a row being sent is claimed
    (``next_at`` moved ahead), so two gateways do not both send it."""

    LEASE = timedelta(seconds=120)   # a claim outlives any SMTP session (10 s per operation)
    BATCH = 20

    def __init__(self, mailer: Mailer, session: Callable[..., AbstractContextManager[Session]],
                 minutes: int, poll_seconds: float = 2.0) -> None:
        self.mailer = mailer
        self.session = session
        self.minutes = minutes
        self.poll_seconds = poll_seconds
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gl-mail")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def notify(self) -> None:
        """A request was recorded: deliver now rather than at the next poll (any thread)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            loop.call_soon_threadsafe(wake.set)

    async def run(self) -> None:
        """Never ends on its own; the poll also picks up retries and other gateways' rows."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        try:
            while True:
                self._wake.clear()
                try:
                    await self._loop.run_in_executor(self.executor, self.deliver_due)
                except Exception as exc:  # noqa: BLE001 - the database away: try again later
                    log(logger, "reset mail delivery failed", logging.ERROR, error=repr(exc))
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                except TimeoutError:
                    pass
        finally:
            self.executor.shutdown(wait=False, cancel_futures=True)

    def deliver_due(self) -> int:
        """One pass over the rows due now; returns how many messages the server took."""
        now = clock.now()
        with self.session() as s:
            rows = list(s.exec(select(ResetRequest)
                               .where(col(ResetRequest.next_at) <= now)
                               .order_by(col(ResetRequest.id)).limit(self.BATCH)))
        sent = 0
        for row in rows:
            if not self._claim(row, now):
                continue
            if not row.message or mail_expired(row.created_at, now, self.minutes):
                self._done(row)   # nothing to send, or a token no longer good
                continue
            try:
                self.mailer.send(message_from_string(row.message, policy=policy.default))
            except MailRefused:
                self._retry(row)
                continue
            self._done(row)
            sent += 1
            log(logger, "password reset mailed", account=row.account_id)
        return sent

    def _claim(self, row: ResetRequest, now: datetime) -> bool:
        with self.session(write=True) as s:
            claimed = s.execute(update(ResetRequest)
                                .where(col(ResetRequest.id) == row.id,
                                       col(ResetRequest.next_at) <= now)
                                .values(next_at=now + self.LEASE)).rowcount
        return claimed == 1

    def _done(self, row: ResetRequest) -> None:
        with self.session(write=True) as s:
            s.execute(delete(ResetRequest).where(col(ResetRequest.id) == row.id))

    def _retry(self, row: ResetRequest) -> None:
        attempts = row.attempts + 1
        with self.session(write=True) as s:
            s.execute(update(ResetRequest).where(col(ResetRequest.id) == row.id).values(
                attempts=attempts,
                next_at=clock.now() + timedelta(seconds=retry_after_seconds(attempts))))
