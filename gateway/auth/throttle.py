"""Login throttling: failed logins counted per username and per client address."""

from __future__ import annotations

import time
from collections import defaultdict, deque

from services.kernel.errors import DomainError, Kind

# Failed logins allowed per window: per username, and per client address (a province's offices
# may share one address, so that bound is wider).
LOGIN_FAILURES = {"user": 10, "client": 100}
LOGIN_WINDOW = 15 * 60


class LoginThrottle:
    """At most LOGIN_FAILURES failed logins per user and per client in LOGIN_WINDOW (monotonic
    time, in this gateway process)."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    @staticmethod
    def keys(username: str, client: str) -> tuple[str, ...]:
        return (f"user:{username}", f"client:{client}")

    def check(self, keys: tuple[str, ...]) -> None:
        """Refuses (429) while any of the keys has used up its failures."""
        horizon = time.monotonic() - LOGIN_WINDOW
        for key in keys:
            failures = self._failures[key]
            while failures and failures[0] < horizon:
                failures.popleft()
            if len(failures) >= LOGIN_FAILURES[key.split(":", 1)[0]]:
                raise DomainError("auth.too_many_attempts", Kind.RATE_LIMITED,
                                  minutes=LOGIN_WINDOW // 60)

    def failed(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            self._failures[key].append(time.monotonic())
        if len(self._failures) > 100000:
            self._failures.clear()
