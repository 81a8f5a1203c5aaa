"""Timed runs of one load: wrk when installed, else the Python client (whose ceiling is
unreliable); each figure the median of ``args.runs`` runs with its spread."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.load import Req, have_wrk, median_spread, run_wrk
from bench.pyclient import clients, drive


async def _python_run(base: str, reqs: list[Req], concurrency: int, expect: int) -> dict[str, Any]:
    """The fallback: every request of the list once, ``concurrency`` in flight, same figures."""
    async def send(client: httpx.AsyncClient, r: Req) -> httpx.Response:
        return await client.request(r.method, r.path, content=r.body.encode() or None, headers={
            "Authorization": f"Bearer {r.token}", "Content-Type": "application/json"})

    def check(resp: httpx.Response, _r: Req) -> str:
        return "" if resp.status_code == expect else f"{resp.status_code} {resp.text[:200]}"

    async with clients(base, "", concurrency) as http:
        phase = await drive(http, "python", reqs, send, check)
    lat = phase.summary()["latency_ms"]
    non_2xx = sum(v for k, v in phase.statuses.items() if not str(k).startswith("2"))
    return {"requests": phase.requests, "seconds": round(phase.seconds, 3),
            "per_second": round(phase.rate, 1), "non_2xx": non_2xx,
            "unexpected_status": len(phase.failures), "wrapped": 0, "list_length": len(reqs),
            "latency_us": {k: 1000 * v for k, v in lat.items()}, "ok": not phase.failures}


def load(base: str, reqs: list[Req], args: argparse.Namespace, work: Path, *, expect: int,
         once: bool, tag: str) -> dict[str, Any]:
    """One run of the load (wrk for ``args.seconds``, or the Python client over the list)."""
    if have_wrk():
        return run_wrk(base, reqs, work, seconds=args.seconds, connections=args.connections,
                       threads=args.threads, expect=expect, once=once, pin=args.pin, tag=tag)
    return asyncio.run(_python_run(base, reqs, args.concurrency, expect))


def checked(fig: dict[str, Any], what: str) -> dict[str, Any]:
    if not fig["ok"]:
        raise SystemExit(f"{what}: the run is not valid (a status other than expected, a socket "
                         f"error or a repeated registration): {json.dumps(fig)[:800]}")
    return fig


def runs(what: str, base: str, make: Callable[[int], list[Req]], args: argparse.Namespace,
         work: Path, *, expect: int, once: bool,
         after: Callable[[int, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """``args.runs`` runs of one load; ``make(i)`` gives run ``i``'s list (its own slice)."""
    figs = []
    for i in range(args.runs):
        reqs = make(i)
        fig = checked(load(base, reqs, args, work, expect=expect, once=once, tag=f"{what}-{i}"),
                      what)
        if after:
            after(i, fig)
        print(f"    {what} run {i + 1}: {fig['per_second']:.1f} req/s "
              f"({fig['requests']} requests)", flush=True)
        figs.append(fig)
    return median_spread(figs)
