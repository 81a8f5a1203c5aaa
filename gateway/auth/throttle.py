"""Login throttling: failed logins counted per username and per client address.

An attempt is counted before its password is evaluated (``reserve``), under a lock, and given
back only when the password matched (``release``): concurrent wrong passwords cannot all pass
the check before any of them is counted.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from services.kernel.errors import DomainError, Kind

# Failed logins allowed per window: per username, and per client address (a province's offices
# may share one address, so that bound is wider).
LOGIN_FAILURES = {"user": 10, "client": 100}
LOGIN_WINDOW = 15 * 60


@dataclass(frozen=True)
class Attempt:
    """A login attempt counted in advance: its keys, when it was counted, and its number."""

    keys: tuple[str, ...]
    at: float
    number: int


class LoginThrottle:
    """At most LOGIN_FAILURES failed logins per user and per client in LOGIN_WINDOW (monotonic
    time, in this gateway process). Thread-safe: logins run in worker threads."""

    def __init__(self, limits: dict[str, int] | None = None,
                 code: str = "auth.too_many_attempts") -> None:
        self.limits = limits or LOGIN_FAILURES  # per key kind: "user", "client"
        self.code = code                        # the refusal when a bound is reached
        # key → (monotonic time, attempt number) of each failure in the window, oldest first
        self._failures: dict[str, deque[tuple[float, int]]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._numbers = itertools.count()

    @staticmethod
    def keys(username: str, client: str) -> tuple[str, ...]:
        return (f"user:{username}", f"client:{client}")

    def check(self, keys: tuple[str, ...]) -> None:
        """Refuses (429) while any of the keys has used up its failures."""
        with self._lock:
            self._check(keys, time.monotonic())

    def reserve(self, keys: tuple[str, ...]) -> Attempt:
        """Count an attempt as failed before its password is evaluated, atomically with the
        check: refuses (429) when any key has used up its failures. ``release`` it when the
        password matched."""
        with self._lock:
            now = time.monotonic()
            self._check(keys, now)
            return self._add(keys, now)

    def release(self, attempt: Attempt) -> None:
        """An attempt that did not fail (the password matched, or it was never evaluated)."""
        with self._lock:
            entry = (attempt.at, attempt.number)
            for key in attempt.keys:
                failures = self._failures.get(key)
                if failures is not None and entry in failures:
                    failures.remove(entry)

    def failed(self, keys: tuple[str, ...]) -> None:
        with self._lock:
            self._add(keys, time.monotonic())

    def _check(self, keys: tuple[str, ...], now: float) -> None:
        horizon = now - LOGIN_WINDOW
        for key in keys:
            failures = self._failures.get(key)  # a refused attempt leaves no entry behind
            if failures is None:
                continue
            while failures and failures[0][0] < horizon:
                failures.popleft()
            if not failures:
                del self._failures[key]
                continue
            if len(failures) >= self.limits[key.split(":", 1)[0]]:
                raise DomainError(self.code, Kind.RATE_LIMITED,
                                  minutes=LOGIN_WINDOW // 60)

    def _forget_expired(self, now: float) -> None:
        """Bound the memory by dropping what no longer counts — never a lock-out in force (a
        flood of names must not wipe the count of the account it is hiding)."""
        horizon = now - LOGIN_WINDOW
        for key in [k for k, f in self._failures.items() if not f or f[-1][0] < horizon]:
            del self._failures[key]

    def _add(self, keys: tuple[str, ...], now: float) -> Attempt:
        if len(self._failures) > 100000:
            self._forget_expired(now)
        attempt = Attempt(keys, now, next(self._numbers))
        for key in keys:
            self._failures[key].append((now, attempt.number))
        return attempt
