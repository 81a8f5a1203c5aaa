"""NATS with authentication, wherever the platform starts its own server (ARCHITECTURE §5).

Each process connects as its own NATS user, allowed to publish only its own subjects and to read
only the streams it consumes; nobody connects anonymously. These tests always run on a stack with
its own nats-server (the wheel's), also when GL_TEST_NATS_URL names an external server: on an
external NATS the platform makes no users (its operator does), so there is nothing of the
platform's to test there except the warning, which ``test_without_credentials_…`` checks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.js.api import ConsumerConfig

from deploy.local.stack import Stack, nats_binary
from services.kernel.bus import streams
from services.kernel.config import Settings
from tests.conftest import DATABASE_URL, TEST_TENANTS
from tests.helpers import factory, log_lines, login, nats_connect, wait_for

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def auth_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack with its own, authenticated nats-server, whatever GL_TEST_NATS_URL says."""
    s = Stack.isolated(tmp_path_factory.mktemp("natsauth"), tag="a", database_url=DATABASE_URL,
                       nats_url="", tenants=TEST_TENANTS, seed_demo=True)
    try:
        s.start()
        yield s
    finally:
        s.stop()
        s.drop_shared()


def _run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def _errors_of(stack: Stack, user: str) -> tuple[nats.NATS, list[str]]:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats_connect(stack, user, name="probe", error_cb=on_error, allow_reconnect=False)
    return nc, errors


def test_an_anonymous_client_cannot_connect(auth_stack: Stack) -> None:
    assert auth_stack.own_nats and auth_stack.nats_passwords

    async def anonymous() -> None:
        await nats.connect(auth_stack.nats_url, allow_reconnect=False, connect_timeout=2)

    with pytest.raises(Exception, match="Authorization Violation"):
        _run(anonymous())

    async def wrong_password() -> None:
        await nats.connect(auth_stack.nats_url, user="registry", password="guess",
                           allow_reconnect=False, connect_timeout=2)

    with pytest.raises(Exception, match="Authorization Violation"):
        _run(wrong_password())


def test_a_service_cannot_publish_on_another_services_subject(auth_stack: Stack) -> None:
    """The registry's credentials publish on the registry's subjects, not on evaluation's."""
    prefix = auth_stack.bus_prefix
    foreign = f"{prefix}.320000.evaluation.evaluation.scored"
    own = f"{prefix}.320000.registry.probe.sent"

    async def probe() -> tuple[object, list[str], int]:
        nc, errors = await _errors_of(auth_stack, "registry")
        js = nc.jetstream()
        ack = await js.publish(own, b"own subject", timeout=5)
        with pytest.raises(nats.errors.TimeoutError):  # the server drops it: no stream acks it
            await js.publish(foreign, b"forged score", timeout=2)
        await nc.close()
        admin = await nats_connect(auth_stack)
        stored = (await admin.jetstream().stream_info(
            streams.stream_name(prefix, "evaluation"), subjects_filter=foreign)).state.messages
        await admin.close()
        return ack, errors, stored

    ack, errors, stored = _run(probe())
    assert ack.stream == streams.stream_name(prefix, "registry")  # type: ignore[attr-defined]
    assert any("permissions violation for publish" in e and foreign in e for e in errors), errors
    assert stored == 0


def test_a_service_reads_only_the_streams_it_consumes(auth_stack: Stack) -> None:
    """The registry hears listing, not evaluation: it can neither subscribe to evaluation's
    subjects nor open a consumer on its stream."""
    prefix = auth_stack.bus_prefix

    async def probe() -> list[str]:
        nc, errors = await _errors_of(auth_stack, "registry")
        await nc.subscribe(f"{prefix}.*.evaluation.>")
        await nc.flush()
        js = nc.jetstream()
        stream = streams.stream_name(prefix, "evaluation")
        with pytest.raises(Exception):  # noqa: B017 - denied: the API request times out
            await js.add_consumer(stream, ConsumerConfig(durable_name="spy", name="spy"),
                                  timeout=2)
        await asyncio.sleep(0.2)
        await nc.close()
        return errors

    errors = _run(probe())
    assert any("permissions violation for subscription" in e for e in errors), errors
    assert any("permissions violation for publish" in e and "consumer.create" in e.lower()
               for e in errors), errors


def test_every_process_connects_as_its_own_user_and_events_still_flow(auth_stack: Stack) -> None:
    """A unit registered through the gateway reaches the national view: the registry's relay
    publishes and the gateway's consumer reads under their own users."""
    province = login(auth_stack, "jiangsu")
    r = province.post("/api/v1/tenants/320000/units", json=factory())
    assert r.status_code == 201, r.text
    ministry = login(auth_stack, "ministry")

    def counted() -> int:
        rows = ministry.get("/api/v1/national/views/units",
                            params={"by": "tenant", "tenant": "320000"}).json()
        return sum(row["units"] for row in rows)

    wait_for(counted, timeout=30)
    for name in ("registry", "evaluation", "institutions", "gateway"):
        warned = [line for line in log_lines(auth_stack, name)
                  if line.get("msg") == "nats without credentials"]
        assert warned == [], name
    nats_out = (auth_stack.var_dir / "log" / "nats.out").read_text(errors="replace")
    refused = [line for line in nats_out.splitlines()  # the probes above were refused on purpose
               if "Violation" in line and "probe" not in line]
    assert refused == []  # no process of the platform needed more than its user may do
    conf = auth_stack.var_dir / "nats" / "nats.conf"
    assert conf.stat().st_mode & 0o077 == 0  # it holds the passwords


@pytest.fixture
def open_nats(tmp_path: Path) -> Iterator[str]:
    """A nats-server without users, like the machine's (CI's second leg)."""
    proc = subprocess.Popen([str(nats_binary()), "-a", "127.0.0.1", "-p", "-1", "-js",
                             "-sd", str(tmp_path / "js"), "--ports_file_dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ports = wait_for(lambda: list(tmp_path.glob("*.ports")), timeout=20)
        time.sleep(0.1)
        yield json.loads(ports[0].read_text())["nats"][0]
    finally:
        proc.terminate()
        proc.wait(10)


def test_without_credentials_a_process_connects_and_warns_once(
        open_nats: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "_warned_anonymous", False)
    settings = Settings(nats_url=open_nats, nats_user="", nats_password="",
                        nats_password_file=None)

    async def twice() -> None:
        for _ in range(2):
            nc = await streams.connect(settings, "registry")
            assert nc.is_connected
            await nc.close()

    with caplog.at_level(logging.WARNING, logger="greenladder.bus"):
        _run(twice())
    warned = [r for r in caplog.records if r.getMessage() == "nats without credentials"]
    assert len(warned) == 1


def test_with_credentials_a_process_connects_as_its_user_without_warning(
        auth_stack: Stack, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "_warned_anonymous", False)
    settings = Settings(nats_url=auth_stack.nats_url, nats_user="registry",
                        nats_password_file=auth_stack.nats_passwords["registry"])

    async def connect() -> None:
        nc = await streams.connect(settings, "registry")
        ack = await nc.jetstream().publish(f"{auth_stack.bus_prefix}.320000.registry.probe.again",
                                           b"x", timeout=5)
        assert ack.stream == streams.stream_name(auth_stack.bus_prefix, "registry")
        await nc.close()

    with caplog.at_level(logging.WARNING, logger="greenladder.bus"):
        _run(connect())
    assert not [r for r in caplog.records if r.getMessage() == "nats without credentials"]
