"""Shared test fixtures: real stacks of processes.

By default a stack runs on SQLite files and its own nats-server (from the wheel). CI's second leg
sets GL_TEST_DATABASE_URL (PostgreSQL) and GL_TEST_NATS_URL (the machine's NATS): every stack then
uses its own database prefix and subject prefix, and removes them afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from deploy.local.stack import Stack
from tests.helpers import Api, check_documented, login

TEST_TENANTS = "000000,320000,330000,330200,660000"
DATABASE_URL = os.environ.get("GL_TEST_DATABASE_URL", "")
NATS_URL = os.environ.get("GL_TEST_NATS_URL", "")


def make_stack(tmp: Path, **kwargs) -> Stack:  # type: ignore[no-untyped-def]
    return Stack.isolated(
        tmp,
        tag="t",
        database_url=DATABASE_URL,
        nats_url=NATS_URL,
        tenants=kwargs.pop("tenants", TEST_TENANTS),
        clock_file=tmp / "clock.json",
        env={"GL_CONSUMER_ACK_WAIT_SECONDS": "4", "GL_RELAY_POLL_SECONDS": "5",
             "GL_CONSUMER_MAX_DELIVER": "3"},
        **kwargs,
    )


@contextmanager
def running(s: Stack) -> Iterator[Stack]:
    """A stack started for the block, then stopped and its shared database and subjects gone."""
    try:
        s.start()
        yield s
    finally:
        s.stop()
        s.drop_shared()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for the tests that only read and write through it."""
    with running(make_stack(tmp_path_factory.mktemp("stack"), seed_demo=True)) as s:
        yield s


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    """A stack of one's own, for tests that kill and restart processes. Not started yet."""
    s = make_stack(tmp_path, seed_demo=True)
    try:
        yield s
    finally:
        s.stop()
        s.drop_shared()


@pytest.fixture(autouse=True)
def documented_errors_only(request: pytest.FixtureRequest,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """In a stack test, every error answer of a gateway operation must be one its OpenAPI
    document lists for that status (``tests.helpers.check_documented``): each HTTP call of the
    test (``Api``, ``httpx.get``…) is checked as it returns, and an undocumented code fails it."""
    if "e2e" not in request.node.path.parts:
        return
    send = httpx.Client.send

    def checked(client: httpx.Client, req: httpx.Request, **kwargs):  # type: ignore[no-untyped-def]
        response = send(client, req, **kwargs)
        check_documented(response, send)
        return response

    monkeypatch.setattr(httpx.Client, "send", checked)


@pytest.fixture(scope="session")
def as_user(stack: Stack):  # type: ignore[no-untyped-def]
    cache: dict[tuple[str, str], Api] = {}

    def get(username: str, lang: str = "") -> Api:
        if (username, lang) not in cache:
            cache[(username, lang)] = login(stack, username, lang=lang)
        return cache[(username, lang)]

    return get
