"""Sessions at the gateway (SPEC §1, decision 0009), on plain values and on the real ``Auth``
over its own SQLite accounts: logouts — at one gateway and heard by another —, revocations,
reset tokens and the reset mails' outbox, e-mail addresses."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_string, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlmodel import select

from gateway.auth import Accounts, Auth, authentication, mail, passwords, sessions
from gateway.auth.selfservice import SelfService
from gateway.auth.sessions import Bearer, RevokedJtis
from gateway.store import Account, AccountGrant, PasswordResetToken, ResetRequest
from generated.events.v1 import events_pb2 as ev
from services.kernel import clock, revocations, signing
from services.kernel.bus import Outbox, authentic
from services.kernel.config import Settings
from services.kernel.db import Database
from services.kernel.errors import DomainError
from services.kernel.identity import Grant, Identity, Revocations
from services.kernel.tenancy import NATIONAL

OPERATOR = Identity("op", (Grant("operator", "000000"),))
REVOKED_SUBJECT = "gl.000000.gateway.sessions.revoked"


def _code(fn, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as exc:
        fn(*args, **kwargs)
    return exc.value.code


@pytest.fixture
def settings(tmp_path: Path, clock_file: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    return Settings(var_dir=tmp_path, tenants=NATIONAL, otel_exporter="none",
                    smtp_host="127.0.0.1", public_url="https://gl.example")


@pytest.fixture
def auth(settings: Settings) -> Iterator[Auth]:
    """Gateway A: the real Auth on its own SQLite accounts, with one person's account (with an
    address) administered by the operator."""
    db = Database(service="gateway", settings=settings,
                  migrations=Path(authentication.__file__).resolve().parents[1] / "migrations")
    db.onboard([NATIONAL])
    a = gateway(db, settings)
    with a.session(write=True) as s:
        s.add(Account(id="acct-1", username="jiangsu", created_at=clock.now(),
                      updated_at=clock.now(), email="js@example.cn",
                      password_hash=passwords.hash_password("right-pass-1")))
        s.add(AccountGrant(account_id="acct-1", role="province", tenant="320000"))
    yield a
    db.dispose()


def gateway(db: Database, settings: Settings) -> Auth:
    """One gateway process's Auth on the shared database."""
    return Auth(db=db, ring=signing.ensure(settings.keys, "gateway"), session_hours=1,
                internal_seconds=60)


def outbox(auth: Auth) -> list[Outbox]:
    with auth.session() as s:
        return list(s.exec(select(Outbox).order_by(Outbox.seq)))


def hear(follower: revocations.Follower, row: Outbox, subject: str = REVOKED_SUBJECT,
         data: bytes | None = None) -> None:
    """Deliver an outbox row as the relay publishes it, through the follower's own step."""
    assert row.signature is not None
    follower._apply(data or authentic.wire(row.payload, row.key_id, row.signature), subject,
                    row.seq, 0)


# --- sessions: logout, revocation, reset tokens, e-mail addresses (decision 0009) --------------


def test_a_logged_out_token_is_refused_even_from_the_bearer_cache(auth: Auth) -> None:
    """The in-memory bearer cache must not let a logged-out token through: the first use caches
    it, the logout revokes its jti, the cached path then finds nothing and the full path refuses."""
    one, two = auth.login("jiangsu", "right-pass-1").token, auth.login("jiangsu", "right-pass-1").token
    assert auth.identity_of_bearer(one).subject == "acct-1"
    assert auth.cached_bearer(one) is not None               # warm: answered from memory
    assert auth.logout(one) is True
    assert auth.cached_bearer(one) is None
    assert _code(auth.identity_of_bearer, one) == "auth.token_revoked"
    assert auth.identity_of_bearer(two).subject == "acct-1"   # the other session goes on
    assert auth.logout(one) is False                          # twice: nothing more happens


def test_a_logout_survives_a_restart_of_the_gateway(auth: Auth) -> None:
    """The revoked jti is in the database: a fresh Auth (a restarted gateway) refuses it too."""
    token = auth.login("jiangsu", "right-pass-1").token
    auth.logout(token)
    fresh = Auth(db=auth.db, ring=auth.ring, session_hours=1, internal_seconds=60)
    assert _code(fresh.identity_of_bearer, token) == "auth.token_revoked"


def test_logout_everywhere_ends_every_session_and_records_a_signed_event(auth: Auth) -> None:
    from generated.events.v1 import events_pb2 as ev
    from services.kernel.bus import Outbox

    one, two = auth.login("jiangsu", "right-pass-1").token, auth.login("jiangsu", "right-pass-1").token
    auth.identity_of_bearer(two)
    assert auth.logout(one, everywhere=True)
    for token in (one, two):
        assert _code(auth.identity_of_bearer, token) == "auth.token_revoked"
    assert auth.logout(two, everywhere=True) is False  # a dead token ends nothing more
    with auth.session() as s:
        rows = list(s.exec(select(Outbox)))
    assert [r.type for r in rows] == ["sessions.revoked"] and rows[0].signature
    body = ev.SessionsRevoked()
    ev.Envelope.FromString(rows[0].payload).body.Unpack(body)
    assert (body.subject, body.reason) == ("acct-1", "logout_everywhere")


def test_the_gateway_mints_a_new_internal_token_after_a_logout(auth: Auth,
                                                             clock_file: Path) -> None:
    ident = auth.identity("acct-1")
    before = auth.internal_token(ident)
    assert auth.internal_token(ident) == before               # cached
    clock.set_clock(clock_file, at=clock.now() + timedelta(milliseconds=5))
    auth.logout(auth.login("jiangsu", "right-pass-1").token)
    after = auth.internal_token(ident)
    assert after != before
    claims = auth.ring.verify_jwt(after, audience="gl-internal")
    assert claims["iat_ms"] >= auth.revoked.not_before("acct-1")


def test_a_revocation_refuses_tokens_issued_before_it_only() -> None:
    r = Revocations()
    assert r.refusal("acct-1", 1_000) is None
    r.revoke("acct-1", 2_000, now_ms=2_000)
    assert r.refusal("acct-1", 1_999).code == "auth.token_revoked"   # type: ignore[union-attr]
    assert r.refusal("acct-1", 2_000) is None                        # issued after: fine
    assert r.refusal("acct-2", 1_000) is None                        # another account
    r.revoke("acct-1", 1_500, now_ms=2_000)                          # a replayed older one
    assert r.not_before("acct-1") == 2_000


def test_old_revocations_are_forgotten_once_no_token_from_before_can_live() -> None:
    r = Revocations(keep_ms=1_000)
    for i in range(1_001):
        r.revoke(f"old-{i}", 0, now_ms=0)
    r.revoke("new", 10_000, now_ms=10_000)
    assert r.not_before("old-1") == 0 and r.not_before("new") == 10_000
    assert len(r._not_before) == 1


def test_an_internal_token_issued_before_a_revocation_is_refused_by_verification(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.kernel import identity

    monkeypatch.setattr(identity, "REVOKED", Revocations())
    ring = signing.ensure(tmp_path, "gateway")
    ident = Identity("acct-9", (Grant("province", "320000"),))
    old = identity.issue_internal_token(ring, ident, seconds=60)
    issued = identity.verify_internal_token(ring, old)[2]
    identity.REVOKED.revoke("acct-9", issued + 1)
    assert _code(identity.verify_internal_token, ring, old) == "auth.token_revoked"
    assert identity.issued_at_ms({"iat": 5}) == 5000 and identity.issued_at_ms({}) == 0


def bearer(jti: str = "j1", version: int = 0, issued_ms: int = 5_000) -> Bearer:
    return Bearer(expires=9e9, account_id="acct-1", version=version, jti=jti,
                  issued_ms=issued_ms)


@pytest.mark.parametrize(("token", "current", "logged_out", "not_before"), [
    (bearer(), 0, True, 0),                  # logged out (its jti)
    (bearer(version=0), 1, False, 0),        # the account's sessions ended: version moved on
    (bearer(jti="", version=2), 3, False, 0),
    (bearer(issued_ms=4_999), 0, False, 5_000)])  # heard from another gateway's event
def test_a_bearer_is_refused_when_logged_out_or_outdated(token, current, logged_out, not_before) -> None:  # type: ignore[no-untyped-def]
    refusal = sessions.bearer_refusal(token, current, logged_out=logged_out,
                                      not_before_ms=not_before)
    assert refusal is not None and refusal.code == "auth.token_revoked"


def test_a_live_bearer_passes() -> None:
    assert sessions.bearer_refusal(bearer(version=2), 2, logged_out=False,
                                   not_before_ms=0) is None
    assert sessions.bearer_refusal(bearer(jti=""), 0, logged_out=False, not_before_ms=0) is None
    # Issued in the very millisecond of the revocation (the fresh token a change answers).
    assert sessions.bearer_refusal(bearer(issued_ms=5_000), 0, logged_out=False,
                                   not_before_ms=5_000) is None


def test_a_reset_token_is_random_and_stored_only_as_its_hash() -> None:
    token, digest = sessions.new_reset_token()
    assert len(token) >= 43 and token not in digest and len(digest) == 64
    assert sessions.reset_token_digest(token) == digest
    assert sessions.new_reset_token()[0] != token


def test_a_reset_token_works_until_it_expires_and_unknown_ones_never() -> None:
    now = clock.now()
    assert sessions.reset_token_refusal(now + timedelta(seconds=1), now) is None
    for expires in (now, now - timedelta(minutes=1), None):
        assert sessions.reset_token_refusal(expires, now).code == "auth.reset_token_invalid"  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "parsed"), [
    ("", ""), ("  ", ""), ("li.ming@Example.CN", "li.ming@example.cn"),
    (" a+b@mail.gov.cn ", "a+b@mail.gov.cn")])
def test_an_email_address_is_normalised(text: str, parsed: str) -> None:
    assert sessions.parse_email(text) == parsed


@pytest.mark.parametrize("bad", [
    "no-at.cn", "a@b@c.cn", "a@localhost", "a\r\nBcc: x@evil.cn", "a@b\n.cn", "a b@c.cn",
    "张三@example.cn", ".a@b.cn", "a..b@c.cn", "a@-b.cn", "x" * 65 + "@b.cn",
    "a@" + "b" * 250 + ".cn", "a\x00@b.cn"])
def test_a_malformed_email_address_is_refused(bad: str) -> None:
    assert _code(sessions.parse_email, bad) == "account.email_invalid"


def test_the_reset_message_is_in_chinese_and_english_with_link_and_token() -> None:
    link = sessions.reset_link("https://gl.example/", "tok-123")
    assert link == "https://gl.example/reset-password?token=tok-123"
    msg = mail.reset_message(sender="gl@example.cn", to="a@b.cn", username="yangzhou",
                             link=link, token="tok-123", minutes=30)
    body = msg.get_content()
    assert msg["To"] == "a@b.cn" and "重设密码" in msg["Subject"] and "reset" in msg["Subject"]
    assert body.index("您好") < body.index("Hello") and body.count(link) == 2
    assert "30 分钟" in body and "30 minutes" in body and "\ntok-123\n" in body


def test_reset_by_mail_is_refused_when_no_mail_server_is_configured(auth: Auth) -> None:
    off = SelfService(auth, Settings(otel_exporter="none", smtp_host=""))
    assert _code(off.request_reset, "jiangsu") == "auth.reset_by_mail_off"
    assert _code(off.confirm_reset, "tok", "new-pass-1") == "auth.reset_by_mail_off"




# --- several gateways: a logout at one ends the token at every one (review finding 1) ---------


def test_a_logout_at_one_gateway_ends_the_token_at_another_at_once(auth: Auth,
                                                                   settings: Settings) -> None:
    """Gateway B has the token warm in its caches; A logs it out; B hears A's signed event
    through the follower's own step and refuses the token on its very next call, cached or
    not — another session of the account goes on at B."""
    b = gateway(auth.db, settings)
    one, two = (auth.login("jiangsu", "right-pass-1").token for _ in range(2))
    assert b.identity_of_bearer(one).subject == b.identity_of_bearer(two).subject == "acct-1"
    assert b.cached_bearer(one) is not None
    assert auth.logout(one) is True
    follower = revocations.Follower(None, settings, b.apply_revocation)  # type: ignore[arg-type]
    hear(follower, outbox(auth)[-1])
    assert b.cached_bearer(one) is None
    assert _code(b.identity_of_bearer, one) == "auth.token_revoked"
    assert b.identity_of_bearer(two).subject == "acct-1"
    body = ev.SessionsRevoked()
    ev.Envelope.FromString(outbox(auth)[-1].payload).body.Unpack(body)
    assert body.jti and body.reason == "logout"
    assert b.logout(one) is False                             # ended: nothing more happens


def test_every_session_ended_at_one_gateway_ends_at_another_before_it_rereads(
        auth: Auth, settings: Settings) -> None:
    b = gateway(auth.db, settings)
    token = auth.login("jiangsu", "right-pass-1").token
    b.identity_of_bearer(token)
    assert auth.logout(token, everywhere=True)
    assert b.cached_bearer(token) is not None    # B has not heard yet: its cache still serves
    hear(revocations.Follower(None, settings, b.apply_revocation), outbox(auth)[-1])  # type: ignore[arg-type]
    assert b.cached_bearer(token) is None
    assert _code(b.identity_of_bearer, token) == "auth.token_revoked"
    assert b.revoked.not_before("acct-1") > 0    # its cached internal tokens are not reused


def test_two_logouts_of_one_token_at_once_answer_alike(auth: Auth, settings: Settings) -> None:
    """Six gateways log one token out at the same moment: one ends it, the others find it
    ended — none fails on the revoked table's key (it would answer 500)."""
    token = auth.login("jiangsu", "right-pass-1").token
    gateways = [gateway(auth.db, settings) for _ in range(6)]
    for g in gateways:
        g.identity_of_bearer(token)
    start = threading.Barrier(len(gateways))
    results: list[object] = []

    def logout(g: Auth) -> None:
        start.wait()
        try:
            results.append(g.logout(token))
        except Exception as exc:  # noqa: BLE001 - what is tested is that none is raised
            results.append(exc)

    threads = [threading.Thread(target=logout, args=(g,)) for g in gateways]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(repr, results)) == ["False"] * 5 + ["True"]


def test_the_logged_out_set_is_bounded_and_the_database_answers_beyond_it() -> None:
    jtis = RevokedJtis(cap=3)
    for jti, expires in (("a", 10.0), ("b", 20.0), ("c", 30.0), ("d", 40.0)):
        jtis.add(jti, expires, now=0.0)
    assert len(jtis) == 3 and "a" not in jtis and "d" in jtis
    assert jtis.may_have_forgotten(10.0) and not jtis.may_have_forgotten(20.5)
    jtis.add("e", 50.0, now=25.0)                  # the expired ones go first, not counted
    assert len(jtis) == 3 and "b" not in jtis and jtis.forgotten_until == 10.0


def test_a_logout_dropped_from_memory_is_still_refused(auth: Auth) -> None:
    auth._revoked_jtis = RevokedJtis(cap=1)
    one, two, three = (auth.login("jiangsu", "right-pass-1").token for _ in range(3))
    for token in (one, two, three):
        auth.identity_of_bearer(token)
    auth.logout(one)
    auth.logout(two)
    assert len(auth._revoked_jtis) == 1
    for token in (one, two):                        # one of them only in the database now
        assert auth.cached_bearer(token) is None
        assert _code(auth.identity_of_bearer, token) == "auth.token_revoked"
    assert auth.identity_of_bearer(three).subject == "acct-1"


def test_a_logout_without_a_jti_ends_every_session() -> None:
    assert sessions.ends_every_session("", everywhere=False)
    assert sessions.ends_every_session("j1", everywhere=True)
    assert not sessions.ends_every_session("j1", everywhere=False)
    assert sessions.session_alive(3, 3) and not sessions.session_alive(2, 3)
    assert sessions.logged_out_until(1_000_000, 12) == 1_000 + 12 * 3600


# --- the revocation follower (kernel.revocations) ---------------------------------------------


def test_the_replay_starts_as_far_back_as_an_internal_token_can_live() -> None:
    now = clock.now()
    s = Settings(otel_exporter="none", internal_token_seconds=300)
    assert revocations.replay_from(s, now) == now - timedelta(seconds=300 + 120)


def test_only_a_gateway_revocation_is_read_as_one() -> None:
    env = ev.Envelope(service="gateway", type="sessions.revoked")
    env.body.Pack(ev.SessionsRevoked(subject="acct-1", not_before_ms=5, jti="j1"))
    body = revocations.revocation_of(env)
    assert body is not None and (body.subject, body.jti) == ("acct-1", "j1")
    env.service = "registry"
    assert revocations.revocation_of(env) is None
    env = ev.Envelope(service="gateway")
    env.body.Pack(ev.SessionsRevoked(not_before_ms=5))   # no subject
    assert revocations.revocation_of(env) is None
    env.body.Pack(ev.UnitRegistered(unit_id="U-1"))
    assert revocations.revocation_of(env) is None


def test_an_unauthentic_revocation_is_ignored(auth: Auth, settings: Settings) -> None:
    heard: list[ev.SessionsRevoked] = []
    follower = revocations.Follower(None, settings, heard.append)  # type: ignore[arg-type]
    auth.logout(auth.login("jiangsu", "right-pass-1").token)
    row = outbox(auth)[-1]
    registry = signing.ensure(settings.keys, "registry")
    hear(follower, row, data=authentic.wire(row.payload, *authentic.seal(row.payload, registry)))
    hear(follower, row, data=row.payload)                              # format 1: unsigned
    hear(follower, row, subject="gl.320000.gateway.sessions.revoked")  # not where it was sent
    assert heard == [] and follower.caught_up.is_set()
    hear(follower, row)
    assert [b.subject for b in heard] == ["acct-1"]


# --- versions, reset tokens and ended accounts (review findings 3, 4, 5) -----------------------


def test_a_disabled_account_stays_logged_out_once_enabled_again(auth: Auth) -> None:
    token = auth.login("jiangsu", "right-pass-1").token
    auth.identity_of_bearer(token)
    accounts = Accounts(auth)
    assert accounts.set_status(OPERATOR, "acct-1", "disabled").status == "disabled"
    assert accounts.set_status(OPERATOR, "acct-1", "active").status == "active"
    assert _code(auth.identity_of_bearer, token) == "auth.token_revoked"
    assert auth.identity_of_bearer(auth.login("jiangsu", "right-pass-1").token).subject == "acct-1"


def test_token_versions_are_raised_in_sql_and_never_lost(auth: Auth) -> None:
    with auth.session(write=True) as s:
        assert authentication.raise_token_version(s, "acct-1") == 1
        assert authentication.raise_token_version(s, "acct-1", expected=0) is None
        assert authentication.raise_token_version(s, "nobody") is None
    start = threading.Barrier(4)

    def raise_once() -> None:
        start.wait()
        with auth.session(write=True) as s:
            authentication.raise_token_version(s, "acct-1")

    threads = [threading.Thread(target=raise_once) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with auth.session() as s:
        account = s.get(Account, "acct-1")
    assert account is not None and account.token_version == 5


class FakeMailer:
    """The mail server: down (refuses) or up (takes every message)."""

    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        if self.down:
            raise mail.MailRefused("connection refused")
        self.sent.append(message)


def requests(auth: Auth) -> list[ResetRequest]:
    with auth.session() as s:
        return list(s.exec(select(ResetRequest).order_by(ResetRequest.id)))


def mailed_token(message: str) -> str:
    """The token in a recorded message (its text as the sender hands it to the server)."""
    body = message_from_string(message, policy=policy.default).get_body(  # type: ignore[union-attr]
        preferencelist=("plain",)).get_content()
    found = re.search(r"reset-password\?token=([A-Za-z0-9_-]+)", body)
    assert found is not None
    return found.group(1)


@pytest.fixture
def selfservice(auth: Auth, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> SelfService:
    def no_smtp(self, message):  # type: ignore[no-untyped-def]
        raise AssertionError("a request must not talk to the mail server")

    monkeypatch.setattr(mail.Mailer, "send", no_smtp)
    return SelfService(auth, settings)


def test_a_reset_request_does_the_same_work_whatever_it_finds(selfservice: SelfService) -> None:
    """One recorded request each, never the mail server; the message only for a person's
    active account with an address; counted (throttled) whatever they find."""
    auth = selfservice.auth
    with auth.session(write=True) as s:
        s.add(Account(id="acct-2", username="noaddress", created_at=clock.now(),
                      updated_at=clock.now()))
    for name in ("nobody", "noaddress", "jiangsu"):
        selfservice.request_reset(name, "10.0.0.1")
    rows = requests(auth)
    assert [(r.account_id, bool(r.message)) for r in rows] == [
        ("", False), ("", False), ("acct-1", True)]
    assert rows[-1].recipient == "js@example.cn"
    with auth.session() as s:
        stored = s.get(PasswordResetToken, "acct-1")
    assert stored is not None
    assert stored.token_sha256 == sessions.reset_token_digest(mailed_token(rows[-1].message))
    for _ in range(4):
        selfservice.request_reset("nobody", "10.0.0.2")
    assert _code(selfservice.request_reset, "nobody", "10.0.0.3") == "auth.too_many_resets"


def test_a_reset_mail_is_delivered_later_and_retried_while_the_server_is_down(
        selfservice: SelfService, settings: Settings, clock_file: Path) -> None:
    auth = selfservice.auth
    selfservice.request_reset("nobody")
    selfservice.request_reset("jiangsu")
    down = FakeMailer(down=True)
    sender = mail.Sender(down, auth.session, minutes=30)  # type: ignore[arg-type]
    assert sender.deliver_due() == 0
    assert [(r.account_id, r.attempts) for r in requests(auth)] == [("acct-1", 1)]
    assert sender.deliver_due() == 0 and requests(auth)[0].attempts == 1  # backing off
    clock.set_clock(clock_file, at=clock.now() + timedelta(seconds=3))
    up = FakeMailer()
    restarted = mail.Sender(up, auth.session, minutes=30)  # type: ignore[arg-type]
    assert restarted.deliver_due() == 1
    assert requests(auth) == []                          # delivered: the plaintext is gone
    assert up.sent[0]["To"] == "js@example.cn"
    token = mailed_token(up.sent[0].as_string())
    selfservice.confirm_reset(token, "mailed-pass-2")


def test_an_undelivered_mail_whose_token_expired_is_dropped(
        selfservice: SelfService, clock_file: Path) -> None:
    selfservice.request_reset("jiangsu")
    clock.set_clock(clock_file, at=clock.now() + timedelta(minutes=31))
    up = FakeMailer()
    assert mail.Sender(up, selfservice.auth.session, minutes=30).deliver_due() == 0  # type: ignore[arg-type]
    assert up.sent == [] and requests(selfservice.auth) == []
    assert sessions.mail_expired(clock.now(), clock.now() + timedelta(minutes=30), 30)
    assert not sessions.mail_expired(clock.now(), clock.now() + timedelta(minutes=29), 30)
    assert [sessions.retry_after_seconds(n) for n in (1, 2, 3, 20)] == [2, 4, 8, 300]


def test_a_mail_claimed_by_one_gateway_is_left_alone_by_another(
        selfservice: SelfService) -> None:
    selfservice.request_reset("jiangsu")
    row = requests(selfservice.auth)[0]
    one = mail.Sender(FakeMailer(), selfservice.auth.session, minutes=30)  # type: ignore[arg-type]
    two = mail.Sender(FakeMailer(), selfservice.auth.session, minutes=30)  # type: ignore[arg-type]
    assert one._claim(row, clock.now()) is True
    assert two._claim(row, clock.now()) is False
    assert two.deliver_due() == 0


def mailed(selfservice: SelfService) -> str:
    """Request a reset for the account and read the token from the recorded message."""
    selfservice.request_reset("jiangsu")
    return mailed_token(requests(selfservice.auth)[-1].message)


@pytest.mark.parametrize("change", ["password", "email", "admin_reset", "disabled"])
def test_a_mailed_reset_token_dies_with_a_change_of_the_account(
        selfservice: SelfService, change: str) -> None:
    token = mailed(selfservice)
    ident = selfservice.auth.identity("acct-1")
    accounts = Accounts(selfservice.auth)
    if change == "password":
        selfservice.change_password(ident, current="right-pass-1", new="other-pass-2")
    elif change == "email":
        selfservice.set_email(ident, email="new@example.cn", password="right-pass-1")
    elif change == "admin_reset":
        accounts.reset_password(OPERATOR, "acct-1")
    else:
        accounts.set_status(OPERATOR, "acct-1", "disabled")
        accounts.set_status(OPERATOR, "acct-1", "active")
    assert requests(selfservice.auth) == []          # the undelivered mail went with it
    assert _code(selfservice.confirm_reset, token, "mailed-pass-2") == "auth.reset_token_invalid"


def test_a_changed_password_answers_a_token_that_works(selfservice: SelfService) -> None:
    auth = selfservice.auth
    old = auth.login("jiangsu", "right-pass-1").token
    done = selfservice.change_password(auth.identity("acct-1"), current="right-pass-1",
                                       new="other-pass-2")
    assert done.account.token_version == 1
    assert auth.identity_of_bearer(done.token).subject == "acct-1"
    assert _code(auth.identity_of_bearer, old) == "auth.token_revoked"


def test_two_confirms_with_one_token_set_the_password_once(
        selfservice: SelfService, settings: Settings) -> None:
    token = mailed(selfservice)
    other = SelfService(gateway(selfservice.auth.db, settings), settings)
    start = threading.Barrier(2)
    results: list[str] = []

    def confirm(service: SelfService, password: str) -> None:
        start.wait()
        try:
            service.confirm_reset(token, password)
            results.append("done")
        except DomainError as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=confirm, args=(s, p))
               for s, p in ((selfservice, "mailed-pass-2"), (other, "mailed-pass-3"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["auth.reset_token_invalid", "done"]
    with selfservice.auth.session() as s:
        account = s.get(Account, "acct-1")
    assert account is not None and account.token_version == 1


@pytest.mark.parametrize(("exists", "machine", "email", "status", "due"), [
    (True, False, "a@b.cn", "active", True), (False, False, "", "active", False),
    (True, True, "a@b.cn", "active", False), (True, False, "", "active", False),
    (True, False, "a@b.cn", "disabled", False)])
def test_a_reset_mail_is_due_only_to_an_active_persons_address(
        exists: bool, machine: bool, email: str, status: str, due: bool) -> None:
    assert sessions.reset_mail_due(exists=exists, machine=machine, email=email,
                                   status=status) is due
