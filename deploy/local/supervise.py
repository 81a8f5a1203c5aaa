"""What the launcher does when a child process dies (decision 0004): restart it after a growing
pause, and stop trying — saying so plainly — when it keeps dying. Pure: times in, decisions out."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 1.0      # seconds before the first restart
    max_delay: float = 30.0       # the pause doubles per crash in the window, up to this
    give_up_after: int = 5        # this many crashes inside `window` seconds: stop restarting
    window: float = 300.0


@dataclass(frozen=True)
class Restart:
    delay: float
    attempt: int                  # the how-many-th crash inside the window this is


@dataclass(frozen=True)
class GiveUp:
    crashes: int
    window: float


def decide(policy: RestartPolicy, crashes: Sequence[float], now: float) -> Restart | GiveUp:
    """What to do after the crash at ``now``; ``crashes`` holds the earlier crash times of the
    same child (older ones outside the window are forgotten: a child that ran well for a while
    starts again from the first delay)."""
    recent = [t for t in crashes if now - t < policy.window] + [now]
    if len(recent) >= policy.give_up_after:
        return GiveUp(crashes=len(recent), window=policy.window)
    delay = min(policy.first_delay * 2 ** (len(recent) - 1), policy.max_delay)
    return Restart(delay=delay, attempt=len(recent))


def describe_exit(code: int) -> str:
    """``-9`` → "killed by SIGKILL"; ``1`` → "exit status 1"."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"
