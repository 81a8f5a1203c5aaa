"""The NATS users the platform makes for its own nats-server (deploy/local/nats_auth.py): each
process may publish its own subjects and use the consumers it declares, nothing else."""

from __future__ import annotations

import pytest

from deploy.local import nats_auth
from services.kernel.bus import contract, stream_name


def matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` one token, ``>`` one or more trailing tokens."""
    p, s = pattern.split("."), subject.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or (token != "*" and token != s[i]):
            return False
    return len(p) == len(s)


def may_publish(process: str, subject: str, prefix: str = "gl") -> bool:
    allowed = nats_auth.permissions(prefix, process, nats_auth.declared_consumers(process))
    return any(matches(p, subject) for p in allowed["publish"]["allow"])


@pytest.mark.parametrize("process", [p for p in nats_auth.processes() if p in contract.CATALOGUES])
def test_a_publisher_may_publish_its_own_subjects_only(process: str) -> None:
    assert may_publish(process, f"gl.320000.{process}.some.event")
    assert may_publish(process, f"$JS.API.STREAM.CREATE.{stream_name('gl', process)}")
    for other in contract.CATALOGUES:
        if other != process:
            assert not may_publish(process, f"gl.320000.{other}.some.event")
            assert not may_publish(process, f"$JS.API.STREAM.UPDATE.{stream_name('gl', other)}")
            assert not may_publish(process, f"$JS.API.STREAM.DELETE.{stream_name('gl', other)}")


def test_the_registry_may_not_forge_an_evaluation_score() -> None:
    assert not may_publish("registry", "gl.320000.evaluation.evaluation.scored")
    assert may_publish("registry", "gl.320000.registry.unit.registered")


def test_the_gateway_publishes_only_its_own_events() -> None:
    for service in set(contract.CATALOGUES) - {"gateway"}:
        assert not may_publish("gateway", f"gl.320000.{service}.unit.registered")
    assert may_publish("gateway", "gl.000000.gateway.sessions.revoked")


@pytest.mark.parametrize("process", sorted(set(contract.CATALOGUES) - {"gateway"}))
def test_every_service_may_follow_ended_sessions_and_not_disturb_them(process: str) -> None:
    """The revocation follower (kernel.revocations): an ephemeral ordered consumer on the
    gateway's stream, delivered to the service's own inbox; it can read, not publish, pull
    from another's consumer, or delete one."""
    gateway = stream_name("gl", "gateway")
    for subject in (f"$JS.API.CONSUMER.CREATE.{gateway}", f"$JS.API.STREAM.INFO.{gateway}",
                    f"$JS.API.CONSUMER.INFO.{gateway}.abc", f"$JS.FC.{gateway}.abc.1"):
        assert may_publish(process, subject), subject
    for subject in ("gl.000000.gateway.sessions.revoked", f"$JS.API.STREAM.UPDATE.{gateway}",
                    f"$JS.API.CONSUMER.MSG.NEXT.{gateway}.abc",
                    f"$JS.API.CONSUMER.DELETE.{gateway}.abc", f"$JS.API.STREAM.PURGE.{gateway}",
                    f"$JS.API.STREAM.CREATE.{gateway}"):
        assert not may_publish(process, subject), subject


def test_every_gateway_follows_ended_sessions_too() -> None:
    """A logout at one gateway ends the token at every other (decision 0009): each gateway
    follows its own stream like a service does."""
    gateway = stream_name("gl", "gateway")
    for subject in (f"$JS.API.CONSUMER.CREATE.{gateway}", f"$JS.API.STREAM.INFO.{gateway}",
                    f"$JS.API.CONSUMER.INFO.{gateway}.abc", f"$JS.FC.{gateway}.abc.1"):
        assert may_publish("gateway", subject), subject
    assert not may_publish("gateway", f"$JS.API.CONSUMER.MSG.NEXT.{gateway}.abc")


@pytest.mark.parametrize("process", nats_auth.processes())
def test_every_declared_consumer_may_do_what_it_needs_and_no_more(process: str) -> None:
    consumes = nats_auth.declared_consumers(process)
    for c in consumes:
        stream, durable = stream_name("t1", c.service), f"t1-{c.name}"
        for subject in (f"$JS.API.CONSUMER.CREATE.{stream}.{durable}.t1.*.{c.service}.>",
                        f"$JS.API.CONSUMER.INFO.{stream}.{durable}",
                        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
                        f"$JS.ACK.{stream}.{durable}.1.2.3.1700000000.0",
                        f"t1-dlq.{c.name}.320000"):
            assert may_publish(process, subject, "t1"), subject
        assert not may_publish(process, f"$JS.API.CONSUMER.MSG.NEXT.{stream}.t1-other", "t1")
        assert not may_publish(process, f"$JS.API.CONSUMER.DELETE.{stream}.{durable}", "t1")
    heard = {c.service for c in consumes}
    for service in set(contract.CATALOGUES) - heard - {process}:
        stream = stream_name("t1", service)
        assert not may_publish(process, f"$JS.API.CONSUMER.CREATE.{stream}.spy", "t1")
        assert not may_publish(process, f"$JS.API.CONSUMER.MSG.NEXT.{stream}.spy", "t1")
    allowed = nats_auth.permissions("t1", process, consumes)
    assert allowed["subscribe"]["allow"] == [f"_INBOX.{process}.>"]


def test_the_consumers_are_the_ones_the_services_declare() -> None:
    assert {c.service for c in nats_auth.declared_consumers("gateway")} == {"registry"}
    assert {c.service for c in nats_auth.declared_consumers("institutions")} == {"evaluation",
                                                                                 "listing"}
    assert nats_auth.declared_consumers("listing") == ()  # no process yet: hears nothing


@pytest.mark.parametrize("process", nats_auth.processes())
def test_only_a_publisher_writes_where_its_format_two_began(process: str) -> None:
    """The record is signed anyway (a forged one only makes format 1 refused); still, no
    consumer may write any stream's record, and a publisher only its own."""
    bucket = "EVENT_FORMATS"
    for service in contract.CATALOGUES:
        key = stream_name("gl", service)
        allowed = may_publish(process, f"$KV.{bucket}.{key}")
        assert allowed == (process == service), (process, service)
