"""What a bench run sends: valid never-registered USCCs, and the request lists of each load."""

from __future__ import annotations

import json
import random

from bench.load import Req
from services.kernel.uscc import CHARSET, check_char

TENANT = "320000"  # where the registrations go
# The look-ups rotate over two provinces, each with its own official's token.
PROVINCES = {"320000": ("jiangsu", "demo-province-1", "91320100", "320102"),
             "330000": ("zhejiang", "demo-province-2", "91330100", "330102")}


def usccs(count: int, seed: int, prefix: str = "91320100") -> list[str]:
    """``count`` distinct valid factory codes registered in ``prefix`` (Nanjing: 91 3201 00 …).

    Nine organization-code characters from a counter written in base 31 over the USCC charset,
    offset by a random start so two runs against a shared database never meet; then the check
    character.
    """
    base = len(CHARSET)
    start = random.Random(seed).randrange(base**9 // 2)
    codes = []
    for i in range(count):
        n, body = start + i, []
        for _ in range(9):
            n, digit = divmod(n, base)
            body.append(CHARSET[digit])
        first17 = prefix + "".join(reversed(body))
        codes.append(first17 + check_char(first17))
    assert len(set(codes)) == count
    return codes


def registration_reqs(tenant: str, token: str, codes: list[str]) -> list[Req]:
    _user, _pw, _prefix, location = PROVINCES[tenant]
    return [Req("POST", f"/api/v1/tenants/{tenant}/units", token, json.dumps({
        "kind": "factory", "uscc": code, "name": f"基准测试工厂 {code[8:17]}",
        "location": location, "industry": "3311"}, ensure_ascii=False)) for code in codes]


def lookup_reqs(pairs: list[tuple[str, str]], tokens: dict[str, str]) -> list[Req]:
    return [Req("GET", f"/api/v1/tenants/{tenant}/units?uscc={code}", tokens[tenant])
            for tenant, code in pairs]
