"""The Python load client: the fallback when wrk is absent (its own CPU bounds every ceiling it
measures, so `bench.run` says so), and the untimed checks before the timed runs."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.machine import CpuMeter


@dataclass
class Phase:
    name: str
    requests: int
    concurrency: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    def summary(self) -> dict[str, Any]:
        ms = 1000
        return {
            "requests": self.requests,
            "concurrency": self.concurrency,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.rate, 1),
            "latency_ms": {
                "mean": round(ms * sum(self.latencies) / max(1, len(self.latencies)), 2),
                "p50": round(ms * self.percentile(0.50), 2),
                "p90": round(ms * self.percentile(0.90), 2),
                "p99": round(ms * self.percentile(0.99), 2),
                "max": round(ms * self.percentile(1.0), 2),
            },
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            # CPU seconds each process used during the timed requests; / seconds = cores busy.
            "cpu_seconds": self.cpu,
        }


Request = Callable[[httpx.AsyncClient, Any], Awaitable[httpx.Response]]
Check = Callable[[httpx.Response, Any], str]  # "" when the answer is right, else what is wrong


async def drive(clients: Sequence[httpx.AsyncClient], name: str, items: Sequence[Any],
                send: Request, check: Check, pids: dict[str, int] | None = None) -> Phase:
    """Send one request per item, one worker per client (so ``len(clients)`` in flight); time
    the whole and each request."""
    phase = Phase(name, len(items), len(clients))
    queue = iter(items)

    async def worker(client: httpx.AsyncClient) -> None:
        for item in queue:  # shared: each item goes to exactly one worker
            t0 = time.perf_counter()
            try:
                r = await send(client, item)
            except httpx.HTTPError as exc:
                phase.latencies.append(time.perf_counter() - t0)
                phase.statuses[type(exc).__name__] += 1
                phase.failures.append(f"{item}: {exc!r}")
                continue
            phase.latencies.append(time.perf_counter() - t0)
            phase.statuses[r.status_code] += 1
            problem = check(r, item)
            if problem:
                phase.failures.append(f"{item}: {problem}")

    meter = CpuMeter(pids or {})
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in clients))
    phase.seconds = time.perf_counter() - t0
    phase.cpu = meter.used()
    return phase


@asynccontextmanager
async def clients(base: str, token: str, count: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """``count`` keep-alive HTTP/1.1 clients of one connection each, all in this event loop.

    One client per worker rather than one client with ``count`` connections: httpcore's pool
    looks at every connection (a poll(2) on each idle socket) for every request, which costs this
    process more than the request itself at 16 connections.
    """
    made = [
        httpx.AsyncClient(
            base_url=base,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        for _ in range(count)
    ]
    try:
        yield made
    finally:
        for c in made:
            await c.aclose()


def lighten_client() -> None:
    """Without sniffio installed, httpcore tries ``import sniffio`` for every lock it makes
    (several per request), and a failed import searches all of sys.path each time. Recording the
    module as absent makes the import fail at once, with the same outcome (asyncio)."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]
