"""The fast request path stays honest (issue 11): a look-up through the gateway makes exactly one
registry gRPC call — no answer comes from a cache in front of the registry. (That the registry
still checks the caller and the tenant of every call: tests/integration/test_registry_service.py
and test_rpc_guards.py.)"""

from __future__ import annotations

import pytest

from tests.e2e.test_metrics import sample, scrape
from tests.helpers import factory

pytestmark = pytest.mark.stack
T = "/api/v1/tenants/320000"
FIND = "/greenladder.registry.v1.Registry/FindUnits"


def test_each_look_up_makes_exactly_one_registry_call(stack, as_user) -> None:  # type: ignore[no-untyped-def]
    province = as_user("jiangsu")
    unit = factory()
    assert province.post(f"{T}/units", json=unit).status_code == 201
    gateway_before, registry_before = scrape(stack, "gateway"), scrape(stack, "registry")
    looks = 25
    for _ in range(looks):  # the same look-up again and again: a cache would answer these
        answer = province.get(f"{T}/units", params={"uscc": unit["uscc"]})
        assert answer.status_code == 200 and answer.json()["units"][0]["uscc"] == unit["uscc"]
    gateway_after, registry_after = scrape(stack, "gateway"), scrape(stack, "registry")

    def grew(before: dict, after: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
        return (sample(after, name, **labels) or 0) - (sample(before, name, **labels) or 0)

    assert grew(gateway_before, gateway_after, "greenladder_http_requests_total",
                route="/api/v1/tenants/{tenant}/units", method="GET", status="200") == looks
    assert grew(gateway_before, gateway_after, "greenladder_grpc_client_requests_total",
                service="registry", method=FIND, code="OK") == looks
    assert grew(registry_before, registry_after, "greenladder_grpc_server_requests_total",
                method=FIND, code="OK") == looks
