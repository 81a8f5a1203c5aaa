"""Operating the platform (issue 10 §4): Prometheus metrics of the gateway and of each service, each
on a metrics port of its own (the gateway's never on its API port), and the gateway's access log,
against a real stack."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import factory, log_lines, wait_for

pytestmark = pytest.mark.stack
T = "/api/v1/tenants/320000"
REGISTER = "/greenladder.registry.v1.Registry/RegisterUnit"


def scrape(stack, process: str) -> dict[tuple[str, frozenset], float]:  # type: ignore[no-untyped-def]
    """Every sample of a process's /metrics: (name, labels) → value."""
    answer = httpx.get(stack.metrics_url(process), timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def sample(samples: dict, name: str, **labels: str) -> float | None:  # type: ignore[type-arg]
    return samples.get((name, frozenset(labels.items())))


def named(samples: dict, name: str) -> list[dict[str, str]]:  # type: ignore[type-arg]
    return [dict(labels) for (n, labels) in samples if n == name]


def test_the_gateways_metrics_are_on_their_own_port_not_the_api(stack) -> None:  # type: ignore[no-untyped-def]
    url = httpx.URL(stack.metrics_url("gateway"))
    assert url.port == stack.metrics_ports["gateway"] != stack.ports["gateway"]
    assert sample(scrape(stack, "gateway"), "greenladder_process_info", service="gateway") == 1
    started = [line for line in log_lines(stack, "gateway") if line.get("msg") == "gateway started"]
    assert started and started[-1]["metrics_port"] == url.port
    answer = httpx.get(f"{stack.gateway_url}/metrics", timeout=10)
    assert answer.status_code == 404  # like any unknown path
    assert "greenladder_" not in answer.text


def test_the_gateway_counts_a_request_under_its_route_template(stack, as_user) -> None:  # type: ignore[no-untyped-def]
    province = as_user("jiangsu")
    missing = f"{T}/units/no-such-unit-4711"
    before = scrape(stack, "gateway")
    assert province.get(f"{T}/units").status_code == 200
    assert province.get(missing).status_code == 404
    after = scrape(stack, "gateway")

    route = "/api/v1/tenants/{tenant}/units"
    name = "greenladder_http_requests_total"
    listed = sample(after, name, route=route, method="GET", status="200")
    assert listed is not None and listed >= (sample(before, name, route=route, method="GET",
                                                    status="200") or 0) + 1
    assert (sample(after, name, route=route + "/{unit_id}", method="GET", status="404") or 0) >= 1
    routes = {labels["route"] for labels in named(after, name)}
    assert not any("320000" in r or "no-such-unit" in r for r in routes), routes
    assert sample(after, "greenladder_http_request_duration_seconds_count", route=route,
                  method="GET") is not None
    # the gRPC call behind it, as the gateway saw it
    clients = named(after, "greenladder_grpc_client_requests_total")
    assert {"service": "registry", "method": "/greenladder.registry.v1.Registry/FindUnits",
            "code": "OK"} in clients
    assert sample(after, "greenladder_process_info", service="gateway") == 1


def test_a_registration_is_served_published_and_leaves_no_backlog(stack, as_user) -> None:  # type: ignore[no-untyped-def]
    before = scrape(stack, "registry")
    published = sum(v for (n, _), v in before.items() if n == "greenladder_events_published_total")
    answer = as_user("jiangsu").post(f"{T}/units", json=factory())
    assert answer.status_code == 201, answer.text

    after = scrape(stack, "registry")
    name = "greenladder_grpc_server_requests_total"
    served = sample(after, name, method=REGISTER, code="OK")
    assert served is not None
    assert served >= (sample(before, name, method=REGISTER, code="OK") or 0) + 1
    assert sample(after, "greenladder_process_info", service="registry") == 1

    def settled() -> dict | None:  # type: ignore[type-arg]
        now = scrape(stack, "registry")
        out = sum(v for (n, _), v in now.items() if n == "greenladder_events_published_total")
        backlog = [v for (n, _), v in now.items() if n == "greenladder_outbox_backlog_events"]
        return now if out > published and backlog and sum(backlog) == 0 else None

    now = wait_for(settled, timeout=30)
    tenants = {labels["tenant"] for labels in named(now, "greenladder_outbox_backlog_events")}
    assert "320000" in tenants


def test_consumers_report_dead_letters_and_lag(stack) -> None:  # type: ignore[no-untyped-def]
    gateway = scrape(stack, "gateway")
    consumer = {"consumer": "gateway-views-registry"}
    assert sample(gateway, "greenladder_dead_letters_total", **consumer) is not None
    assert sample(gateway, "greenladder_events_applied_total", **consumer) is not None
    lag = wait_for(lambda: sample(scrape(stack, "gateway"),
                                  "greenladder_consumer_pending_messages", **consumer)
                   is not None, timeout=20)
    assert lag
    registry = scrape(stack, "registry")
    assert named(registry, "greenladder_dead_letters_total")  # its own consumers' series


def test_the_access_log_has_the_request_without_its_credentials(stack, as_user) -> None:  # type: ignore[no-untyped-def]
    province = as_user("jiangsu")
    token = province.headers["Authorization"].removeprefix("Bearer ")
    answer = province.get(f"{T}/units", params={"secret": "hunter2"})
    assert answer.status_code == 200

    def logged() -> list[dict]:  # type: ignore[type-arg]
        return [line for line in log_lines(stack, "gateway")
                if line.get("logger") == "greenladder.gateway.access"
                and line.get("route") == "/api/v1/tenants/{tenant}/units"
                and line.get("status") == 200 and line.get("method") == "GET"]

    lines = wait_for(logged)
    line = lines[-1]
    assert line["msg"] == "request" and line["duration_ms"] >= 0
    assert line["bytes_out"] == len(answer.content) or any(
        entry["bytes_out"] == len(answer.content) for entry in lines)
    assert line["client"] == "127.0.0.1"
    assert len(line["trace_id"]) == 32
    text = (stack.var_dir / "log" / "gateway.log").read_text(encoding="utf-8")
    assert token not in text and "hunter2" not in text
