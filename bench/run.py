"""`make bench`: look-ups, registrations and scores per second through the gateway, each against
its ceiling (a bare endpoint), the floor of one gRPC hop, memory, and optionally idle CPU and
profiles.

One run, on this machine:

1. start a real stack (``deploy.local.stack.Stack``: nats-server, every service, the gateway; SQLite
   files under a fresh temporary directory, or DATABASE_URL / NATS_URL when set) with tenants
   320000 and 330000 and the demo accounts; log in as both provinces' officials;
2. untimed: register 1,000 factories over the two tenants, then check with httpx that every
   look-up of the list answers 200 with exactly its unit;
3. registrations: POST /api/v1/tenants/320000/units, each run its own slice of new USCCs;
4. look-ups: GET /api/v1/tenants/{t}/units?uscc=… rotating over the verified list, two tokens;
   scores: GET …/evaluations/{id}/score of a full draft evaluation (``bench.score``);
   with ``--profile``, one more run of registrations and of look-ups under py-spy;
5. the references, the stack stopped (``bench.refs``): the ceilings under uvicorn with the
   gateway's settings, and the floor of one bare gRPC hop;
6. print each figure (the median of 3 runs, its spread, its ceiling, the ratio), memory, aims,
   and write everything to ``bench/results/<UTC timestamp>.json`` and ``latest.json``.

The load comes from wrk (``bench/load.py``) when installed; else from the Python client below,
with a banner: that client bounds the ceiling. Aims are reported as PASS / BELOW and never fail
the run; an unexpected status, a repeated registration or a missing unit does: the figures would
mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import profile, score
from bench.load import Req, have_taskset, have_wrk, where
from bench.machine import CpuMeter, rss_mb, settle
from bench.pyclient import lighten_client
from bench.refs import measure_references
from bench.report import RESULTS, figure_row, git_head, judge, print_report, round_mb, write_result
from bench.reqs import PROVINCES, TENANT, lookup_reqs, registration_reqs, usccs
from bench.timing import _python_run, checked, load, runs
from deploy.local.stack import Stack

TENANTS = "000000,320000,330000"
USER, PASSWORD = "jiangsu", "demo-province-1"



# --- USCCs ------------------------------------------------------------------------------------


# --- the stack and the ceiling ----------------------------------------------------------------


def make_stack(var_dir: Path) -> Stack:
    """A stack of its own (own files and nats-server, or own prefixes on shared servers)."""
    return Stack.isolated(var_dir, tag="b", database_url=os.environ.get("DATABASE_URL", ""),
                          nats_url=os.environ.get("NATS_URL", ""), tenants=TENANTS,
                          seed_demo=True)


def login(base: str, user: str = USER, password: str = PASSWORD) -> str:
    r = httpx.post(f"{base}/api/v1/auth/login", json={"username": user, "password": password},
                   timeout=30)
    if r.status_code != 200:
        raise SystemExit(f"login as {user} failed: {r.status_code} {r.text[:300]}")
    return r.json()["access_token"]


# --- the load: wrk, or the Python client ------------------------------------------------------


# --- counting rows ----------------------------------------------------------------------------


def unit_count(stack: Stack, tenant: str) -> int:
    """Units in the registry's storage of ``tenant``, read directly (not through the gateway)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if stack.database_url:
        url = make_url(stack.database_url).set(drivername="postgresql+psycopg",
                                               database=f"{stack.db_prefix}_registry")
        table = f't_{tenant}.unit'
    else:
        url = f"sqlite:///{stack.var_dir / 'data' / 'registry' / f't_{tenant}.db'}"
        table = "unit"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)
    finally:
        engine.dispose()


# --- main -------------------------------------------------------------------------------------


def measure_stack(stack: Stack, args: argparse.Namespace, result: dict[str, Any],
                  work: Path) -> tuple[list[Req], bytes, score.Score]:
    """Set up the look-up data, verify it, then time registrations and look-ups."""
    pids = {name: p.pid for name, p in stack.procs.items()}
    base = stack.gateway_url
    tokens = {t: login(base, user, pw) for t, (user, pw, _p, _l) in PROVINCES.items()}
    per_tenant = max(1, args.lookup_codes // len(PROVINCES))
    pairs: list[tuple[str, str]] = []
    # Untimed: the units the look-ups will find, registered with the Python client.
    for n, (tenant, (_u, _pw, prefix, _loc)) in enumerate(PROVINCES.items()):
        codes = usccs(per_tenant, args.seed + n, prefix)
        reqs = registration_reqs(tenant, tokens[tenant], codes)
        fig = asyncio.run(_python_run(base, reqs, args.concurrency, 201))
        checked(fig, f"registering the look-ups' units in {tenant}")
        pairs += [(tenant, c) for c in codes]
    random.Random(args.seed).shuffle(pairs)
    result["settle_seconds"] = {"after_setup": asyncio.run(settle(pids))}

    # Before timing: every request of the list answers 200 with exactly its unit (httpx).
    lookups = lookup_reqs(pairs, tokens)
    sample = b""
    with httpx.Client(base_url=base, timeout=30) as http:
        for (tenant, code), r in zip(pairs, lookups, strict=True):
            resp = http.get(r.path, headers={"Authorization": f"Bearer {r.token}"})
            units = resp.json().get("units", []) if resp.status_code == 200 else []
            if len(units) != 1 or units[0]["uscc"] != code or units[0]["tenant"] != tenant:
                raise SystemExit(f"look-up of {code} in {tenant}: {resp.status_code} "
                                 f"{resp.text[:300]}")
            sample = sample or resp.content
    print(f"  verified: {len(lookups)} look-ups in {len(PROVINCES)} tenants answer their unit",
          flush=True)

    # Registrations: each run its own slice of never-registered codes, one body per request.
    reg_codes = usccs((args.runs + 1) * args.slice, args.seed + 100)  # +1: a profiled run
    token = tokens[TENANT]

    def reg_list(i: int) -> list[Req]:
        return registration_reqs(TENANT, token, reg_codes[i * args.slice:(i + 1) * args.slice])

    counts = {"before": unit_count(stack, TENANT)}

    def count_new(_i: int, fig: dict[str, Any]) -> None:
        asyncio.run(settle(pids))
        now = unit_count(stack, TENANT)
        fig["new_units"] = now - counts["before"]
        counts["before"] = now
        # wrk counts the answers it read; the requests in flight when it stops (at most one per
        # connection) still register their unit.
        in_flight = args.connections if have_wrk() else 0
        if not fig["requests"] <= fig["new_units"] <= fig["requests"] + in_flight \
                or fig["non_2xx"]:
            raise SystemExit(f"registrations: {fig['requests']} requests made {fig['new_units']}"
                             f" new units ({fig['non_2xx']} non-2xx)")

    meter = CpuMeter(pids)
    reg = runs("registrations", base, reg_list, args, work, expect=201, once=True,
               after=count_new)
    result["cpu_seconds"] = {"registrations": meter.used()}
    meter = CpuMeter(pids)
    look = runs("look-ups", base, lambda _i: lookups, args, work, expect=200, once=False)
    result["cpu_seconds"]["look-ups"] = meter.used()
    scored = score.prepare(base)
    meter = CpuMeter(pids)
    scores = runs("scores", base, lambda _i: scored.reqs, args, work, expect=200, once=False)
    result["cpu_seconds"]["scores"] = meter.used()
    result["runs"] = {"registrations": reg, "look-ups": look, "scores": scores}
    if args.profile:
        profiled = {name: pids[name] for name in ("gateway", "registry")}
        result["profiles"] = {
            "registrations": profile_run("registrations", base, reg_list(args.runs), profiled,
                                         args, work, expect=201, once=True),
            "look-ups": profile_run("look-ups", base, lookups, profiled, args, work,
                                    expect=200, once=False)}
    return lookups, sample, scored


def profile_run(what: str, base: str, reqs: list[Req], pids: dict[str, int],
                args: argparse.Namespace, work: Path, *, expect: int,
                once: bool) -> dict[str, Any]:
    """One extra, untimed run of a load with py-spy on ``pids``; its flame graphs and collapsed
    stacks go to ``args.profile``, and the functions holding most samples into the result."""
    out = Path(args.profile)
    recording = profile.Recording(pids, out, what, args.seconds)
    checked(load(base, reqs, args, work, expect=expect, once=once, tag=f"{what}-profiled"), what)
    found = recording.wait()
    print(f"    {what} profiled: {', '.join(str(p) for p in found.values())}", flush=True)
    return {name: {"file": str(path), **profile.summary(path)} for name, path in found.items()}


def idle_cpu(var_dir: Path, *, after: float, window: float) -> dict[str, Any]:
    """Every stack process's CPU over ``window`` s, ``after`` s after a start with all tenants."""
    stack = Stack.isolated(var_dir, tag="i", database_url=os.environ.get("DATABASE_URL", ""),
                           nats_url=os.environ.get("NATS_URL", ""), tenants=all_tenants(),
                           seed_demo=True)
    try:
        stack.start()
        time.sleep(after)
        meter = CpuMeter({n: p.pid for n, p in stack.procs.items()})
        time.sleep(window)
        used = meter.used()
        used.pop("client", None)
        return {"tenants": len(all_tenants().split(",")), "after_seconds": after,
                "window_seconds": window, "cpu_seconds": used,
                "percent_of_one_core": round(100 * sum(used.values()) / window, 2)}
    finally:
        stack.stop()
        stack.drop_shared()


def all_tenants() -> str:
    from services.kernel.tenancy import _tenancy

    return ",".join(sorted(_tenancy().by_id))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="GreenLadder throughput and memory (make bench)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median, spread)")
    parser.add_argument("--seconds", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--pin", default="", help="run wrk under taskset -c PIN (e.g. 1)")
    parser.add_argument("--lookup-codes", type=int, default=1000,
                        help="distinct USCCs the look-ups rotate over (half in each province)")
    parser.add_argument("--slice", type=int, default=0,
                        help="registration bodies per run (default: 3,000 per wrk second; "
                             "without wrk: 1,000)")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="requests in flight of the Python client (setup; load without wrk)")
    parser.add_argument("--seed", type=int, default=None, help="USCC and look-up order seed")
    parser.add_argument("--idle", action="store_true",
                        help="also measure idle CPU with all tenants (adds > 6 minutes)")
    parser.add_argument("--keep", action="store_true", help="keep the stack's directory (logs)")
    parser.add_argument("--profile", nargs="?", const="", default=None, metavar="DIR",
                        help="after the timed runs, one more run of each load with py-spy on the "
                             "gateway and the registry; flame graphs to DIR (default "
                             "bench/results/profiles/<timestamp>)")
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.randrange(2**31)
    if not args.slice:
        args.slice = int(3000 * args.seconds) if have_wrk() else 1000
    if args.pin and not have_taskset():
        raise SystemExit("--pin needs taskset (util-linux)")
    lighten_client()
    if not have_wrk():
        print("!" * 78 + "\n! wrk is not installed (Debian: apt-get install wrk): the Python client"
              " drives\n! the load. It costs ~2x the bare app per request, so the CEILING IS "
              "UNRELIABLE:\n! it is bounded by the client and every ratio below is flattered.\n"
              + "!" * 78, flush=True)

    database_url = os.environ.get("DATABASE_URL", "")
    nats_url = os.environ.get("NATS_URL", "")
    var_dir = Path(tempfile.mkdtemp(prefix="gl-bench-"))
    work = var_dir / "load"
    work.mkdir()
    stack = make_stack(var_dir)
    now = datetime.now(UTC)
    if args.profile == "":
        args.profile = str(RESULTS / "profiles" / now.strftime("%Y%m%dT%H%M%SZ"))
    result: dict[str, Any] = {
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": git_head(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "storage": "PostgreSQL" if database_url else "SQLite",
        "bus": "shared NATS" if nats_url else "own nats-server",
        "load": {"generator": where(args.pin), "wrk": have_wrk()},
        "config": {"runs": args.runs, "seconds": args.seconds, "connections": args.connections,
                   "threads": args.threads, "pin": args.pin, "lookup_codes": args.lookup_codes,
                   "slice": args.slice, "seed": args.seed, "tenants": TENANTS},
        "var_dir": str(var_dir),
    }
    ok = False
    try:
        print(f"starting the stack in {var_dir} ({result['storage']}, {result['bus']}) …",
              flush=True)
        t0 = time.monotonic()
        stack.start()
        result["stack_start_seconds"] = round(time.monotonic() - t0, 2)
        result["rss_mb_at_start"] = {name: round_mb(rss_mb(p.pid))
                                     for name, p in stack.procs.items()}
        print(f"load: {result['load']['generator']}", flush=True)
        lookups, sample, scored = measure_stack(stack, args, result, work)
        result["rss_mb"] = {name: round_mb(rss_mb(p.pid)) for name, p in stack.procs.items()}
        result["log_bytes"] = {f.name: f.stat().st_size for f in (var_dir / "log").iterdir()}
        result["lookup_response_bytes"] = len(sample)
        stack.stop()  # the ceiling runs alone
        print("measuring the ceilings …", flush=True)
        measure_references(args, result, work, lookups, sample, scored)
        runs_ = result["runs"]
        result["figures"] = [
            figure_row("look-ups", "GET /api/v1/tenants/{t}/units?uscc=…", runs_["look-ups"],
                       runs_["look-ups ceiling"]),
            figure_row("look-up floor", "the same, one bare gRPC hop, no work",
                       runs_["look-ups floor"], runs_["look-ups ceiling"]),
            figure_row("registrations", "POST /api/v1/tenants/320000/units",
                       runs_["registrations"], runs_["registrations ceiling"]),
            figure_row("scores", "GET …/evaluations/{id}/score", runs_["scores"],
                       runs_["score ceiling"]),
        ]
        if args.idle:
            print("idle CPU: starting a stack with every tenant, waiting 5 minutes …", flush=True)
            result["idle_cpu"] = idle_cpu(var_dir / "idle", after=300, window=60)
        result["aims"] = judge(result)
        print_report(result)
        write_result(result, now)
        ok = True
    finally:
        stack.stop()
        try:
            stack.drop_shared()
        finally:
            if ok and not args.keep:
                shutil.rmtree(var_dir, ignore_errors=True)
            else:
                print(f"the stack's directory (logs) is kept: {var_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
