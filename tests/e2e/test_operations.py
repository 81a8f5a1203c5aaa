"""Operating the platform (issue 10 §4): readiness beside liveness."""

from __future__ import annotations

import time

import httpx
import pytest

pytestmark = pytest.mark.stack


def test_ready_names_the_service_that_is_not(own_stack) -> None:  # type: ignore[no-untyped-def]
    own_stack.start()
    url = own_stack.gateway_url
    ready = httpx.get(f"{url}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "services": {
        "registry": "serving", "evaluation": "serving", "institutions": "serving"}}

    own_stack.stop_process("registry")
    down = httpx.get(f"{url}/readyz", timeout=10)
    assert down.status_code == 503
    assert down.json()["services"]["registry"] == "unavailable"
    assert down.json()["services"]["evaluation"] == "serving"
    assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200  # alive, not ready

    own_stack.start_process("registry")
    own_stack.wait_healthy("registry")
    # the gateway's channel reconnects with gRPC's backoff (a second or so after a failure)
    deadline = time.monotonic() + 30
    while httpx.get(f"{url}/readyz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "the gateway did not become ready again"
        time.sleep(0.2)
