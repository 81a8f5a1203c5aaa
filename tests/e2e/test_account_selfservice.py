"""A person's own account through the gateway (SPEC §1, issue 10 §3, decision 0009): logging out
ends the token at once — at the gateway and at every service —, changing the password ends the
other sessions, a logout at one gateway ends the token at another, and a forgotten password is
reset by e-mail through a real SMTP server (aiosmtpd in this process), delivered by the gateway
after the request — later, when the server was down."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import grpc
import httpx
import pytest
from aiosmtpd.controller import Controller

from deploy.local.stack import Stack, free_port
from generated.registry.v1 import registry_pb2 as pb
from services.kernel.identity import Grant
from tests.conftest import make_stack, running
from tests.helpers import Api, Registry, error_code, log_lines, login, token, wait_for

pytestmark = pytest.mark.stack
PROVINCE = (Grant("province", "320000"),)


class Inbox:
    """What the SMTP server received: (recipients, parsed message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], object]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos),
                                  message_from_bytes(envelope.original_content,
                                                     policy=policy.default)))
        return "250 OK"

    def to(self, address: str) -> list[object]:
        with self.lock:
            return [m for rcpt, m in self.messages if address in rcpt]


@pytest.fixture(scope="module")
def mail() -> Iterator[Inbox]:
    inbox = Inbox()
    inbox.port = free_port()  # type: ignore[attr-defined]
    inbox.server = Controller(inbox, hostname="127.0.0.1", port=inbox.port)  # type: ignore[attr-defined]
    inbox.server.start()  # type: ignore[attr-defined]
    try:
        yield inbox
    finally:
        inbox.server.stop()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mail: Inbox) -> Iterator[Stack]:
    """A stack of its own whose gateway mails through the test's SMTP server."""
    s = make_stack(Path(tmp_path_factory.mktemp("selfservice")), seed_demo=True)
    s.env.update({"GL_SMTP_HOST": "127.0.0.1", "GL_SMTP_PORT": str(mail.port),  # type: ignore[attr-defined]
                  "GL_PUBLIC_URL": "https://greenladder.example", "GL_MAIL_FROM": "gl@example.cn"})
    with running(s):
        yield s


@pytest.fixture(scope="module")
def gateway_b(site: Stack) -> Iterator[str]:
    """A second gateway process on the same database and bus (another port): its URL."""
    first = site.procs["gateway"]
    port = free_port()
    proc = site.start_process("gateway", GL_HTTP_PORT=str(port), GL_METRICS_PORT=str(free_port()))
    site.procs["gateway"] = first
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{url}/healthz"), timeout=60)
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


_n = iter(range(1, 10_000))


def new_city(site: Stack, password: str = "city-pass-1") -> tuple[str, str]:
    """A fresh city account of Jiangsu (username, id)."""
    username = f"self-city-{next(_n)}"
    r = login(site, "jiangsu").post("/api/v1/accounts", json={
        "username": username, "password": password,
        "grants": [{"role": "city", "tenant": "320000", "city": "320600"}]})
    assert r.status_code == 201, r.text
    return username, r.json()["id"]


def code(r: httpx.Response) -> str:
    return r.json()["error"]["code"]


def accepted(site: Stack, internal_token: str) -> str:
    """"ok", or the code the registry refuses a direct call with this internal token with."""
    registry = Registry(site)
    try:
        registry.call("FindUnits", pb.FindUnitsRequest(), tenant="320000", grants=None,
                      raw_token=internal_token)
        return "ok"
    except grpc.RpcError as err:
        return error_code(err)
    finally:
        registry.close()


def test_logout_ends_this_token_at_once_and_answers_the_same_twice(site):  # type: ignore[no-untyped-def]
    username, _ = new_city(site)
    first, second = login(site, username, "city-pass-1"), login(site, username, "city-pass-1")
    assert first.get("/api/v1/me").status_code == 200  # cached at the gateway now
    assert first.post("/api/v1/auth/logout").status_code == 204
    r = first.get("/api/v1/me")
    assert r.status_code == 401 and code(r) == "auth.token_revoked"
    assert first.post("/api/v1/auth/logout").status_code == 204  # idempotent
    assert second.get("/api/v1/me").status_code == 200           # another session goes on
    assert login(site, "jiangsu").get("/api/v1/me").status_code == 200


def test_a_logout_at_one_gateway_ends_the_token_at_another(site, gateway_b):  # type: ignore[no-untyped-def]
    username, _ = new_city(site)
    first, second = login(site, username, "city-pass-1"), login(site, username, "city-pass-1")
    at_b = Api(gateway_b, first.http.headers["Authorization"][7:])
    assert at_b.get("/api/v1/me").status_code == 200          # warm in B's caches
    assert first.post("/api/v1/auth/logout").status_code == 204
    wait_for(lambda: at_b.get("/api/v1/me").status_code == 401, timeout=10)
    assert code(at_b.get("/api/v1/me")) == "auth.token_revoked"
    assert Api(gateway_b, second.http.headers["Authorization"][7:]).get(
        "/api/v1/me").status_code == 200                       # another session goes on


def test_logout_everywhere_ends_every_session_but_not_api_keys(site):  # type: ignore[no-untyped-def]
    username, _ = new_city(site)
    one, two = login(site, username, "city-pass-1"), login(site, username, "city-pass-1")
    assert two.get("/api/v1/me").status_code == 200
    assert one.post("/api/v1/auth/logout", json={"everywhere": True}).status_code == 204
    for api in (one, two):
        r = api.get("/api/v1/me")
        assert r.status_code == 401 and code(r) == "auth.token_revoked"
    assert login(site, username, "city-pass-1").get("/api/v1/me").status_code == 200
    # An API key is not a session: a logout does not take one, and leaves it working.
    op = login(site, "operator", (site.var_dir / "operator-password").read_text().strip())
    bank = op.post("/api/v1/accounts", json={"username": f"bank-{next(_n)}", "machine": True,
                                              "grants": [{"role": "partner",
                                                          "tenant": "000000"}]}).json()["id"]
    key = op.post(f"/api/v1/accounts/{bank}/api-keys", json={}).json()["api_key"]
    keyed = Api(site.gateway_url, api_key=key, lang="en")
    r = keyed.post("/api/v1/auth/logout")
    assert r.status_code == 401 and code(r) == "auth.logout_needs_login_token"
    assert "login token" in r.json()["error"]["message"]
    assert keyed.get("/api/v1/me").status_code == 200


def test_a_logout_revokes_the_accounts_internal_tokens_at_the_services(site):  # type: ignore[no-untyped-def]
    username, account_id = new_city(site)
    _, other_id = new_city(site)
    before = token(site, *PROVINCE, subject=account_id)
    others = token(site, *PROVINCE, subject=other_id)
    assert accepted(site, before) == "ok" and accepted(site, others) == "ok"
    session = login(site, username, "city-pass-1")
    assert session.post("/api/v1/auth/logout").status_code == 204
    # The signed event reaches the registry within moments: no fixed sleep, a bounded wait.
    wait_for(lambda: accepted(site, before) == "auth.token_revoked", timeout=20)
    assert accepted(site, others) == "ok"                       # another account: untouched
    after = token(site, *PROVINCE, subject=account_id)
    assert accepted(site, after) == "ok"                        # minted after: accepted
    # The account's next call through the gateway mints a fresh internal token: it works.
    again = login(site, username, "city-pass-1")
    assert again.get("/api/v1/tenants/320000/units").status_code == 200
    # A restarted service replays the recent revocations before it serves.
    site.restart("registry")
    assert accepted(site, before) == "auth.token_revoked"
    assert accepted(site, after) == "ok"


def test_change_password_ends_other_sessions_and_answers_a_fresh_token(site):  # type: ignore[no-untyped-def]
    username, account_id = new_city(site)
    old = login(site, username, "city-pass-1")
    internal = token(site, *PROVINCE, subject=account_id)
    r = old.post("/api/v1/auth/password", json={"current_password": "wrong-pass-1",
                                                "new_password": "new-pass-22"})
    assert r.status_code == 403 and code(r) == "auth.wrong_password"
    r = old.post("/api/v1/auth/password", json={"current_password": "city-pass-1",
                                                "new_password": "short"})
    assert r.status_code == 422 and code(r) == "account.password_weak"
    r = old.post("/api/v1/auth/password", json={"current_password": "city-pass-1",
                                                "new_password": "new-pass-22"})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["account_id"] == account_id and 0 < answer["expires_in"] <= 12 * 3600
    assert code(old.get("/api/v1/me")) == "auth.token_revoked"
    fresh = Api(site.gateway_url, answer["access_token"])
    assert fresh.get("/api/v1/me").status_code == 200
    url = f"{site.gateway_url}/api/v1/auth/login"
    assert httpx.post(url, json={"username": username, "password": "city-pass-1"}).status_code == 401
    assert httpx.post(url, json={"username": username, "password": "new-pass-22"}).status_code == 200
    wait_for(lambda: accepted(site, internal) == "auth.token_revoked", timeout=20)
    audit = login(site, "jiangsu").get("/api/v1/accounts/audit",
                                       params={"account_id": account_id}).json()
    assert "account.password_changed" in {a["action"] for a in audit}
    assert "new-pass-22" not in str(audit)


def test_a_forgotten_password_is_reset_by_email(site, mail):  # type: ignore[no-untyped-def]
    username, account_id = new_city(site)
    session = login(site, username, "city-pass-1")
    r = session.put("/api/v1/me/email", json={"email": "a\r\nBcc: x@evil.cn",
                                              "current_password": "city-pass-1"})
    assert r.status_code == 422 and code(r) == "account.email_invalid"
    r = session.put("/api/v1/me/email", json={"email": "yz@example.cn",
                                              "current_password": "wrong-pass-1"})
    assert r.status_code == 403 and code(r) == "auth.wrong_password"
    address = f"{username}@Example.CN"
    r = session.put("/api/v1/me/email", json={"email": address, "current_password": "city-pass-1"})
    assert r.status_code == 200 and r.json()["email"] == f"{username}@example.cn"

    url = f"{site.gateway_url}/api/v1/auth/password-reset"
    known = httpx.post(url, json={"username": username})
    unknown = httpx.post(url, json={"username": "nobody-at-all"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()                       # no enumeration
    message = wait_for(lambda: mail.to(f"{username}@example.cn"), timeout=10)[-1]
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "重设密码" in message["Subject"] and "reset your password" in message["Subject"]
    reset_token = re.search(r"reset-password\?token=([A-Za-z0-9_-]+)", body).group(1)
    assert body.startswith("您好") and f"\n{reset_token}\n" in body
    assert "https://greenladder.example/reset-password?token=" in body

    confirm = f"{url}/confirm"
    r = httpx.post(confirm, json={"token": reset_token, "new_password": "weak"})
    assert r.status_code == 422 and code(r) == "account.password_weak"  # the token survives
    r = httpx.post(confirm, json={"token": reset_token, "new_password": "mailed-pass-3"})
    assert r.status_code == 204, r.text
    r = httpx.post(confirm, json={"token": reset_token, "new_password": "mailed-pass-4"},
                   headers={"Accept-Language": "en"})
    assert r.status_code == 422 and code(r) == "auth.reset_token_invalid"
    assert "has been used" in r.json()["error"]["message"]
    login_url = f"{site.gateway_url}/api/v1/auth/login"
    assert httpx.post(login_url, json={"username": username,
                                       "password": "city-pass-1"}).status_code == 401
    assert code(session.get("/api/v1/me")) == "auth.token_revoked"
    assert login(site, username, "mailed-pass-3").get("/api/v1/me").status_code == 200
    audit = login(site, "jiangsu").get("/api/v1/accounts/audit",
                                       params={"account_id": account_id}).json()
    assert {"account.password_reset_requested", "account.password_reset_by_mail"} <= {
        a["action"] for a in audit}
    assert reset_token not in str(audit)


def test_two_confirms_with_one_token_set_the_password_once(site, mail):  # type: ignore[no-untyped-def]
    username, _ = new_city(site)
    address = f"{username}@example.cn"
    login(site, username, "city-pass-1").put("/api/v1/me/email", json={
        "email": address, "current_password": "city-pass-1"})
    url = f"{site.gateway_url}/api/v1/auth/password-reset"
    assert httpx.post(url, json={"username": username}).status_code == 202
    reset_token = mailed_token(wait_for(lambda: mail.to(address), timeout=10)[-1])
    start = threading.Barrier(2)
    answers: list[int] = []

    def confirm(password: str) -> None:
        start.wait()
        answers.append(httpx.post(f"{url}/confirm", json={"token": reset_token,
                                                          "new_password": password}).status_code)

    threads = [threading.Thread(target=confirm, args=(p,)) for p in ("race-pass-1", "race-pass-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [204, 422]


def test_a_reset_requested_while_the_mail_server_is_down_is_mailed_when_it_is_back(site, mail):  # type: ignore[no-untyped-def]
    username, _ = new_city(site)
    address = f"{username}@example.cn"
    login(site, username, "city-pass-1").put("/api/v1/me/email", json={
        "email": address, "current_password": "city-pass-1"})
    mail.server.stop()
    try:
        r = httpx.post(f"{site.gateway_url}/api/v1/auth/password-reset",
                       json={"username": username})
        assert r.status_code == 202 and r.json() == {"status": "accepted"}
        wait_for(lambda: any(line.get("msg") == "mail server unavailable"
                             for line in log_lines(site, "gateway")), timeout=20)  # tried: down
    finally:
        mail.server = Controller(mail, hostname="127.0.0.1", port=mail.port)
        mail.server.start()
    message = wait_for(lambda: mail.to(address), timeout=60)[-1]
    assert mailed_token(message)


def mailed_token(message) -> str:  # type: ignore[no-untyped-def]
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"reset-password\?token=([A-Za-z0-9_-]+)", body).group(1)


def test_reset_requests_are_throttled_per_username(site):  # type: ignore[no-untyped-def]
    url = f"{site.gateway_url}/api/v1/auth/password-reset"
    codes = [httpx.post(url, json={"username": "flood-target"}).status_code for _ in range(6)]
    assert codes == [202] * 5 + [429]
    r = httpx.post(url, json={"username": "flood-target"}, headers={"Accept-Language": "en"})
    assert code(r) == "auth.too_many_resets" and "reset requests" in r.json()["error"]["message"]


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/auth/password-reset", {"username": "a\x00b"}),
    ("/api/v1/auth/password-reset", {"username": 5}),
    ("/api/v1/auth/password-reset", {"username": "x" * 100_000}),
    ("/api/v1/auth/password-reset", {}),
    ("/api/v1/auth/password-reset/confirm", {"token": "t" * 201, "new_password": "abc12345"}),
    ("/api/v1/auth/password-reset/confirm", {"token": "\x00", "new_password": "abc12345"}),
    ("/api/v1/auth/password-reset/confirm", {"token": ["x"], "new_password": "abc12345"}),
    ("/api/v1/auth/password-reset/confirm", {"token": "not-a-token", "new_password": "abc12345"}),
])
def test_bad_input_is_refused_with_a_4xx_in_the_callers_language(site, path, body):  # type: ignore[no-untyped-def]
    zh = httpx.post(f"{site.gateway_url}{path}", json=body)
    en = httpx.post(f"{site.gateway_url}{path}", json=body, headers={"Accept-Language": "en"})
    assert 400 <= zh.status_code < 500 and zh.status_code == en.status_code, zh.text
    assert zh.json()["error"]["message"] != en.json()["error"]["message"]


def test_bad_input_from_a_logged_in_caller_is_refused(site):  # type: ignore[no-untyped-def]
    username, _ = new_city(site)
    session = login(site, username, "city-pass-1", lang="en")
    for path, method, body in (
            ("/api/v1/auth/logout", "post", {"everywhere": "perhaps"}),
            ("/api/v1/auth/password", "post", {"current_password": "city-pass-1",
                                               "new_password": "x" * 201}),
            ("/api/v1/auth/password", "post", {"current_password": None, "new_password": "a1"}),
            ("/api/v1/me/email", "put", {"email": "a@b@c.cn", "current_password": "city-pass-1"}),
            ("/api/v1/me/email", "put", {"email": "é" * 300, "current_password": "city-pass-1"})):
        r = getattr(session, method)(path, json=body)
        assert r.status_code == 422, (path, r.text)
    assert session.get("/api/v1/me").status_code == 200  # none of them ended the session
