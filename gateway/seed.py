"""First-start accounts: the operator always; with GL_SEED_DEMO (make run) one demo account per
role, printed with the URL. Idempotent: an existing username is left alone."""

from __future__ import annotations

import os

from sqlmodel import select

from gateway.auth import Auth, audit, hash_password, new_password
from gateway.store import Account, AccountGrant
from services.kernel import clock
from services.kernel.config import Settings
from services.kernel.identity import Grant, Identity

SYSTEM = Identity(subject="system")

# username, password, grants — for the README tour; never used outside `make run`.
DEMO = [
    ("ministry", "demo-ministry-1", [Grant("ministry", "000000")]),
    ("jiangsu", "demo-province-1", [Grant("province", "320000")]),
    ("zhejiang", "demo-province-2", [Grant("province", "330000")]),
    ("nanjing", "demo-city-1", [Grant("city", "320000", city="320100")]),
    ("suzhou", "demo-city-2", [Grant("city", "320000", city="320500")]),
    ("factory", "demo-enterprise-1", [Grant("enterprise", "320000", org="91320100MA1N2P3Q43")]),
    ("institution", "demo-institution-1", [Grant("institution", "000000", org="91110108MA01XYA126")]),
    ("expert", "demo-expert-1", [Grant("expert", "000000")]),
    ("partner", "demo-partner-1", [Grant("partner", "000000")]),
]


def _create(auth: Auth, username: str, password: str, grants: list[Grant]) -> bool:
    with auth.session(write=True) as s:
        if s.exec(select(Account).where(Account.username == username)).first():
            return False
        now = clock.now()
        account = Account(id=f"seed-{username}", username=username, display_name=username,
                          password_hash=hash_password(password), created_by="system",
                          created_at=now, updated_at=now)
        s.add(account)
        for g in grants:
            s.add(AccountGrant(account_id=account.id, role=g.role, tenant=g.tenant, city=g.city,
                               org=g.org, verified=True, verified_by="system"))
        audit(s, "system", "account.seeded", account.id, username=username)
        return True


def ensure_operator(auth: Auth, settings: Settings) -> None:
    """The platform's first operator; its password is written once to var/operator-password."""
    password = new_password()
    if _create(auth, "operator", password, [Grant("operator", "000000")]):
        path = settings.var_dir / "operator-password"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # never readable by others
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")


def demo_accounts(auth: Auth, settings: Settings) -> None:
    for username, password, grants in DEMO:
        _create(auth, username, password, grants)
