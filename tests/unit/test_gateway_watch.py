"""The gateway's background tasks (its read-model consumer and its relay) are watched: one that
dies is logged as CRITICAL with its name; one cancelled at shutdown is not."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway.app import watch


async def _fails() -> None:
    raise RuntimeError("the loop gave up")


async def test_a_task_that_dies_is_logged_as_critical(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="greenladder.gateway"):
        task = asyncio.create_task(_fails())
        task.add_done_callback(watch("relay"))
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)  # done-callbacks run on the loop's next turn
    died = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert [r.msg for r in died] == ["background task died"]
    fields = died[0].fields  # type: ignore[attr-defined]
    assert fields["task"] == "relay" and "the loop gave up" in fields["error"]


async def test_a_task_cancelled_or_finished_is_not_reported(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="greenladder.gateway"):
        waiting = asyncio.create_task(asyncio.Event().wait())
        waiting.add_done_callback(watch("read-model consumer"))
        done = asyncio.create_task(asyncio.sleep(0))
        done.add_done_callback(watch("relay"))
        await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.gather(waiting, done, return_exceptions=True)
        await asyncio.sleep(0)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
