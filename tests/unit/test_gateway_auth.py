"""The gateway's account rules on plain values: passwords, login throttling, who may hand out
which grant and administer which account, which grants make sense on their own."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from gateway.auth import Auth, authentication, passwords, throttle
from gateway.auth.accounts import check_grant, may_administer, may_verify, validate_grant
from gateway.auth.throttle import LoginThrottle
from gateway.store import Account, AccountGrant
from services.kernel import clock, signing
from services.kernel.config import Settings
from services.kernel.db import Database
from services.kernel.errors import DomainError
from services.kernel.identity import Grant, Identity
from services.kernel.tenancy import NATIONAL

OPERATOR = Identity("op", (Grant("operator", "000000"),))
MINISTRY = Identity("mi", (Grant("ministry", "000000"),))
JIANGSU = Identity("js", (Grant("province", "320000"),))
NANJING = Identity("nj", (Grant("city", "320000", city="320100"),))
USCC = "91320100MA1N2P3Q43"


def _code(fn, *args) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as exc:
        fn(*args)
    return exc.value.code


# --- passwords ----------------------------------------------------------------------------------


@pytest.mark.parametrize("weak", ["short1", "onlyletters", "1234567890"])
def test_a_weak_password_is_refused(weak: str) -> None:
    assert _code(passwords.hash_password, weak) == "account.password_weak"


def test_a_password_matches_its_hash_only() -> None:
    hashed = passwords.hash_password("good-pass-1")
    assert passwords.password_matches(hashed, "good-pass-1")
    assert not passwords.password_matches(hashed, "good-pass-2")
    assert not passwords.password_matches("", "good-pass-1")  # no account: refused all the same
    assert not passwords.password_matches(None, "")


def test_a_generated_password_passes_the_strength_rule() -> None:
    generated = [passwords.new_password() for _ in range(200)]
    assert all(any(c.isdigit() for c in p) and any(c.isalpha() for c in p) and len(p) >= 8
               for p in generated)
    passwords.hash_password(generated[0])


# --- throttling ---------------------------------------------------------------------------------


def test_logins_are_throttled_per_user_after_ten_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(throttle.time, "monotonic", lambda: now[0])
    t = LoginThrottle()
    keys = t.keys("expert", "10.0.0.1")
    for _ in range(10):
        t.check(keys)
        t.failed(keys)
    assert _code(t.check, keys) == "auth.too_many_attempts"
    t.check(t.keys("jiangsu", "10.0.0.1"))  # another user from the same address: not yet
    now[0] += throttle.LOGIN_WINDOW + 1
    t.check(keys)  # the window has passed


def test_a_client_address_gets_a_wider_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle.time, "monotonic", lambda: 5.0)
    t = LoginThrottle()
    for i in range(throttle.LOGIN_FAILURES["client"]):
        t.failed(t.keys(f"user-{i}", "10.0.0.2"))
    assert _code(t.check, t.keys("someone-new", "10.0.0.2")) == "auth.too_many_attempts"


def test_an_attempt_is_counted_before_it_is_evaluated_and_given_back_on_success(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle.time, "monotonic", lambda: 7.0)
    t = LoginThrottle()
    keys = t.keys("expert", "10.0.0.3")
    attempts = [t.reserve(keys) for _ in range(throttle.LOGIN_FAILURES["user"])]
    assert _code(t.reserve, keys) == "auth.too_many_attempts"   # ten in flight: no eleventh
    t.release(attempts[0])                                       # one of them was right
    t.release(attempts[0])                                       # given back once only
    t.reserve(keys)
    assert _code(t.check, keys) == "auth.too_many_attempts"


@pytest.fixture
def auth(tmp_path: Path, clock_file: Path, monkeypatch: pytest.MonkeyPatch) -> Auth:
    """The gateway's real Auth on its own SQLite accounts, with one person's account (hashed
    with a cheap argon2 setting: what is tested is the counting, not the hash)."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    settings = Settings(var_dir=tmp_path, tenants=NATIONAL, otel_exporter="none")
    db = Database(service="gateway", settings=settings,
                  migrations=Path(authentication.__file__).resolve().parents[1] / "migrations")
    db.onboard([NATIONAL])
    a = Auth(db=db, ring=signing.ensure(settings.keys, "gateway"), session_hours=1,
             internal_seconds=60)
    with a.session(write=True) as s:
        s.add(Account(id="acct-1", username="jiangsu", created_at=clock.now(),
                      updated_at=clock.now(),
                      password_hash=passwords.hash_password("right-pass-1")))
        s.add(AccountGrant(account_id="acct-1", role="province", tenant="320000"))
    yield a
    db.dispose()


def test_concurrent_wrong_passwords_are_evaluated_no_more_than_the_limit(
        auth: Auth, monkeypatch: pytest.MonkeyPatch) -> None:
    """30 wrong passwords for one account at once: 10 are evaluated, 20 refused with 429 before
    any hashing — the attempt is counted when it starts, not when its hash comes back."""
    evaluated: list[str] = []
    real = authentication.password_matches

    def counted(hashed: str, password: str) -> bool:
        evaluated.append(password)
        time.sleep(0.05)          # as long as a real hash takes: the attempts overlap
        return real(hashed, password)

    monkeypatch.setattr(authentication, "password_matches", counted)
    start = threading.Barrier(30)
    outcomes: list[str] = []

    def attempt(i: int) -> None:
        start.wait()
        try:
            auth.login("jiangsu", f"wrong-pass-{i}", "10.0.0.9")
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(outcomes) == {"auth.bad_credentials": 10, "auth.too_many_attempts": 20}
    assert len(evaluated) == throttle.LOGIN_FAILURES["user"] == 10
    # The right password is refused too now: the account's bound is used up.
    assert _code(auth.login, "jiangsu", "right-pass-1", "10.0.0.10") == "auth.too_many_attempts"


def test_a_right_password_gives_its_attempt_back(auth: Auth) -> None:
    for _ in range(9):
        assert _code(auth.login, "jiangsu", "wrong-pass-1", "10.0.0.9") == "auth.bad_credentials"
    for _ in range(5):    # successes do not use up the bound
        done = auth.login("jiangsu", "right-pass-1", "10.0.0.9")
        assert done.token and done.account.id == "acct-1"
    assert _code(auth.login, "jiangsu", "wrong-pass-1", "10.0.0.9") == "auth.bad_credentials"
    assert _code(auth.login, "jiangsu", "right-pass-1", "10.0.0.9") == "auth.too_many_attempts"


def test_a_login_says_when_it_expires_and_refusals_are_logged(
        auth: Auth, caplog: pytest.LogCaptureFixture) -> None:
    done = auth.login("jiangsu", "right-pass-1", "10.0.0.7")
    assert done.expires_at - clock.now() == timedelta(hours=auth.session_hours)
    with caplog.at_level("WARNING", logger="greenladder.gateway.auth"):
        assert _code(auth.login, "jiangsu", "wrong-pass-1", "10.0.0.7") == "auth.bad_credentials"
        for _ in range(12):
            _code(auth.login, "jiangsu", "wrong-pass-1", "10.0.0.7")
    said = [r.getMessage() for r in caplog.records]
    assert "login refused" in said and "login locked out" in said
    assert not any("wrong-pass" in str(r.__dict__) for r in caplog.records)  # never the password


# --- who may hand out which grant ---------------------------------------------------------------


@pytest.mark.parametrize(("admin", "grant"), [
    (OPERATOR, Grant("province", "330000")), (OPERATOR, Grant("partner", "000000")),
    (MINISTRY, Grant("expert", "000000")), (MINISTRY, Grant("institution", "000000", org=USCC)),
    (JIANGSU, Grant("city", "320000", city="320100")),
    (JIANGSU, Grant("enterprise", "320000", org=USCC)),
])
def test_an_administrator_hands_out_the_grants_below_it(admin: Identity, grant: Grant) -> None:
    assert check_grant(admin, grant).role == grant.role


@pytest.mark.parametrize(("admin", "grant"), [
    (NANJING, Grant("city", "320000", city="320200")),         # a city creates no accounts
    (JIANGSU, Grant("city", "330000", city="330100")),         # nor a province elsewhere
    (JIANGSU, Grant("province", "320000")),                    # nor its own peers
    (MINISTRY, Grant("province", "320000")),
])
def test_no_one_hands_out_a_grant_above_or_beside_it(admin: Identity, grant: Grant) -> None:
    assert _code(check_grant, admin, grant) == "account.may_not_grant"


@pytest.mark.parametrize(("grant", "code"), [
    (Grant("wizard", "320000"), "account.role"),
    (Grant("public", "320000"), "account.role"),
    (Grant("ministry", "320000"), "account.national_role"),
    (Grant("province", "000000"), "account.tenant_role"),
    (Grant("city", "320000", city="330100"), "account.city_outside_tenant"),
])
def test_a_grant_must_make_sense_on_its_own(grant: Grant, code: str) -> None:
    assert _code(validate_grant, grant) == code


def test_the_administrator_of_an_account_could_have_created_all_its_grants() -> None:
    city = [AccountGrant(account_id="a", role="city", tenant="320000", city="320100")]
    both = city + [AccountGrant(account_id="a", role="province", tenant="320000")]
    assert may_administer(JIANGSU, city)
    assert not may_administer(JIANGSU, both)  # a province does not administer a province
    assert not may_administer(NANJING, city) and not may_administer(JIANGSU, [])


def test_an_enterprise_claim_is_confirmed_by_its_province_or_its_city() -> None:
    claim = AccountGrant(account_id="e", role="enterprise", tenant="320000", org=USCC,
                         location="320102")
    suzhou = Identity("sz", (Grant("city", "320000", city="320500"),))
    assert may_verify(JIANGSU, claim) and may_verify(NANJING, claim)
    assert not may_verify(suzhou, claim)
    assert not may_verify(NANJING, AccountGrant(account_id="e", role="enterprise",
                                                tenant="320000", org=USCC))  # no location given
    assert not may_verify(Identity("zj", (Grant("province", "330000"),)), claim)


def test_a_flood_of_other_names_does_not_lift_a_lock_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused attempts leave no entry behind, and making room never forgets a lock-out in force:
    before, 100,001 junk names from a locked address cleared every count."""
    monkeypatch.setattr(throttle.time, "monotonic", lambda: 50.0)
    t = LoginThrottle()
    for _ in range(10):
        t.reserve(t.keys("jiangsu", "10.0.0.9"))
    for i in range(throttle.LOGIN_FAILURES["client"] - 10):  # the address's wider bound too
        t.reserve(t.keys(f"name-{i}", "10.0.0.9"))
    entries = len(t._failures)
    for i in range(100_001):  # all refused: the address is locked
        with pytest.raises(DomainError):
            t.reserve(t.keys(f"junk-{i}", "10.0.0.9"))
    assert len(t._failures) == entries
    for i in range(100_001):  # live failures from many addresses force the table to make room
        t._failures[f"user:x{i}"].append((50.0, i))
    t.reserve(t.keys("someone", "10.0.0.10"))
    assert _code(t.reserve, t.keys("jiangsu", "1.2.3.4")) == "auth.too_many_attempts"
