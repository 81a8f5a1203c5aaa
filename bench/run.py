"""`make bench`: look-ups and registrations per second through the gateway, each against its
ceiling (a bare endpoint), memory, and optionally idle CPU.

One run, on this machine:

1. start a real stack (``deploy.local.stack.Stack``: nats-server, every service, the gateway; SQLite
   files under a fresh temporary directory, or DATABASE_URL / NATS_URL when set) with tenants
   320000 and 330000 and the demo accounts; log in as both provinces' officials;
2. untimed: register 1,000 factories over the two tenants, then check with httpx that every
   look-up of the list answers 200 with exactly its unit;
3. registrations: POST /api/v1/tenants/320000/units, each run its own slice of new USCCs;
4. look-ups: GET /api/v1/tenants/{t}/units?uscc=… rotating over the verified list, two tokens;
5. the ceilings, the stack stopped: ``bench/ceiling.py`` under uvicorn with the gateway's settings;
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
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.load import Req, have_taskset, have_wrk, median_spread, run_wrk, where
from bench.machine import CpuMeter, rss_mb, settle
from bench.pyclient import clients, drive, lighten_client
from bench.report import figure_row, git_head, judge, print_report, round_mb, write_result
from deploy.local.stack import Stack, free_port
from services.kernel.config import ROOT
from services.kernel.uscc import CHARSET, check_char

TENANT = "320000"
TENANTS = "000000,320000,330000"
USER, PASSWORD = "jiangsu", "demo-province-1"
# The look-ups rotate over two provinces, each with its own official's token.
PROVINCES = {"320000": ("jiangsu", "demo-province-1", "91320100", "320102"),
             "330000": ("zhejiang", "demo-province-2", "91330100", "330102")}



# --- USCCs ------------------------------------------------------------------------------------


def usccs(count: int, seed: int, prefix: str = "91320100") -> list[str]:
    """``count`` distinct valid factory codes registered in ``prefix`` (Nanjing: 91 3201 00 …).

    Nine organization-code characters from a counter written in base 31 over the USCC charset,
    offset by a random start so two runs against a shared database never meet; then the check
    character.
    """
    base = len(CHARSET)
    start = random.Random(seed).randrange(base**9 // 2)
    codes = []
    for i in range(count):
        n, body = start + i, []
        for _ in range(9):
            n, digit = divmod(n, base)
            body.append(CHARSET[digit])
        first17 = prefix + "".join(reversed(body))
        codes.append(first17 + check_char(first17))
    assert len(set(codes)) == count
    return codes


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


def start_ceiling(var_dir: Path, body: Path | None,
                  insert: str = "") -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "bench.ceiling", "--port", str(port)]
    if body:
        cmd += ["--body", str(body)]
    if insert:
        cmd += ["--insert", insert]
    (var_dir / "log").mkdir(exist_ok=True)
    out = open(var_dir / "log" / "ceiling.out", "ab")  # noqa: SIM115 - the child holds it
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the ceiling app exited with {proc.returncode}; "
                               f"see {var_dir}/log/ceiling.out")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the ceiling app did not start")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- the load: wrk, or the Python client ------------------------------------------------------


def registration_reqs(tenant: str, token: str, codes: list[str]) -> list[Req]:
    _user, _pw, _prefix, location = PROVINCES[tenant]
    return [Req("POST", f"/api/v1/tenants/{tenant}/units", token, json.dumps({
        "kind": "factory", "uscc": code, "name": f"基准测试工厂 {code[8:17]}",
        "location": location, "industry": "3311"}, ensure_ascii=False)) for code in codes]


def lookup_reqs(pairs: list[tuple[str, str]], tokens: dict[str, str]) -> list[Req]:
    return [Req("GET", f"/api/v1/tenants/{tenant}/units?uscc={code}", tokens[tenant])
            for tenant, code in pairs]


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


def pg_database(action: str, name: str) -> str:
    """Create or drop a database on DATABASE_URL's server for the insert ceiling; its URL."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if action == "create":
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            else:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


# --- main -------------------------------------------------------------------------------------


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


def measure_stack(stack: Stack, args: argparse.Namespace, result: dict[str, Any],
                  work: Path) -> tuple[list[Req], bytes]:
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
    reg_codes = usccs(args.runs * args.slice, args.seed + 100)
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
    result["runs"] = {"registrations": reg, "look-ups": look}
    return lookups, sample


def measure_ceiling(args: argparse.Namespace, result: dict[str, Any], work: Path,
                    lookups: list[Req], sample: bytes) -> None:
    body = work / "lookup-response.json"
    body.write_bytes(sample)
    pg_name = ""
    if os.environ.get("DATABASE_URL"):
        pg_name = f"glb_ceiling_{os.getpid()}"
        insert = pg_database("create", pg_name)
    else:
        insert = str(work / "ceiling.db")
    ceiling, base = start_ceiling(work, body, insert)
    try:
        look = runs("look-up ceiling", base, lambda _i: lookups, args, work, expect=200,
                    once=False)
        codes = usccs(args.runs * args.slice, args.seed + 200)
        token = lookups[0].token
        reg = runs("registration ceiling", base, lambda i: registration_reqs(
            TENANT, token, codes[i * args.slice:(i + 1) * args.slice]), args, work,
            expect=201, once=True)
        result["rss_mb_ceiling"] = round_mb(rss_mb(ceiling.pid))
    finally:
        stop(ceiling)
        if pg_name:
            pg_database("drop", pg_name)
    result["runs"]["look-ups ceiling"] = look
    result["runs"]["registrations ceiling"] = reg


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
        lookups, sample = measure_stack(stack, args, result, work)
        result["rss_mb"] = {name: round_mb(rss_mb(p.pid)) for name, p in stack.procs.items()}
        result["log_bytes"] = {f.name: f.stat().st_size for f in (var_dir / "log").iterdir()}
        result["lookup_response_bytes"] = len(sample)
        stack.stop()  # the ceiling runs alone
        print("measuring the ceilings …", flush=True)
        measure_ceiling(args, result, work, lookups, sample)
        result["figures"] = [
            figure_row("look-ups", "GET /api/v1/tenants/{t}/units?uscc=…", result["runs"]["look-ups"],
                 result["runs"]["look-ups ceiling"]),
            figure_row("registrations", "POST /api/v1/tenants/320000/units",
                 result["runs"]["registrations"], result["runs"]["registrations ceiling"]),
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
