"""One clock for the whole stack: a test moves it for every process at once (ARCHITECTURE §6)."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.kernel.clock import CST, set_clock
from tests.helpers import login
from tests.helpers import factory

pytestmark = pytest.mark.stack


def test_moving_the_clock_moves_every_process(own_stack):  # type: ignore[no-untyped-def]
    set_clock(own_stack.clock_file, at=datetime(2026, 3, 2, 9, 0, tzinfo=CST))
    stack = own_stack.start()
    js = login(stack, "jiangsu")
    t = "/api/v1/tenants/320000"
    unit = js.post(f"{t}/units", json=factory()).json()["unit"]
    assert unit["created_at"].startswith("2026-03-02T09:00")           # the registry's clock
    target = js.post(f"{t}/targets", json={"unit_id": unit["id"], "category": "factory"}).json()
    assert (target["valid_from"], target["valid_until"]) == ("2026-03-02", "2029-03-01")

    def active(api) -> set[str]:  # type: ignore[no-untyped-def]  # "today" as the registry sees it
        r = api.get(f"{t}/targets")
        assert r.status_code == 200, r.text
        return {x["unit_id"] for x in r.json().get("targets", [])}

    assert unit["id"] in active(js)
    # On its last day it is still valid; the day after, it has lapsed — and the gateway's login
    # and its internal token have expired with the moved clock, not the machine's.
    set_clock(own_stack.clock_file, at=datetime(2029, 3, 1, 23, 0, tzinfo=CST))
    expired = js.get(f"{t}/targets")
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "auth.token_expired"
    js = login(stack, "jiangsu")
    assert unit["id"] in active(js)
    set_clock(own_stack.clock_file, at=datetime(2029, 3, 2, 0, 30, tzinfo=CST))
    assert unit["id"] not in active(js)
