"""`make bench`: registrations and look-ups per second through the gateway, the ceiling, memory.

One run, on this machine:

1. start a real stack (``deploy.local.stack.Stack``: nats-server, every service, the gateway; SQLite
   files under a fresh temporary directory, or DATABASE_URL / NATS_URL when set) with the demo
   accounts, and log in as the Jiangsu province official;
2. registrations: POST /api/v1/tenants/320000/units with distinct valid factory USCCs;
3. look-ups: GET /api/v1/tenants/320000/units?uscc=… for the codes just registered;
4. the ceiling: the same GET against a bare FastAPI app (``bench/ceiling.py``) under uvicorn;
5. print the figures next to the aims, the resident memory of each stack process after the load,
   and write everything to ``bench/results/<UTC timestamp>.json`` and ``bench/results/latest.json``.

The load comes from this process: one asyncio event loop, one ``httpx.AsyncClient``, a fixed
number of requests in flight. It shares the machine's cores with the processes it measures, so
its own CPU time is reported next to theirs. Aims are reported as PASS / BELOW; they never fail
the run. A response other than the expected status does: the figures would mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from deploy.local.stack import Stack, free_port
from services.kernel.config import ROOT
from services.kernel.uscc import CHARSET, check_char

RESULTS = Path(__file__).resolve().parent / "results"
TENANT = "320000"
TENANTS = "000000,320000"
USER, PASSWORD = "jiangsu", "demo-province-1"
MB = 1024 * 1024
TICK = os.sysconf("SC_CLK_TCK")

# The aims (docs: bench/README.md). Reported, never enforced.
AIM_LOOKUP_SHARE = 0.40       # look-ups per second / ceiling per second
AIM_REGISTRATIONS = 300.0     # per second, on SQLite
AIM_RSS_MB = 150.0            # each process of the stack, after the load


# --- USCCs ------------------------------------------------------------------------------------


def usccs(count: int, seed: int) -> list[str]:
    """``count`` distinct valid factory codes registered in Nanjing (91 3201 00 …).

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
        first17 = "91320100" + "".join(reversed(body))
        codes.append(first17 + check_char(first17))
    assert len(set(codes)) == count
    return codes


# --- processes --------------------------------------------------------------------------------


def rss_mb(pid: int) -> float | None:
    """VmRSS of a process in MB, or None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # kB
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (all its threads)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


class CpuMeter:
    """CPU seconds used by named processes (and this one) between two points."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = {**pids, "client": os.getpid()}
        self.start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def used(self) -> dict[str, float]:
        return {name: round(cpu_seconds(pid) - self.start[name], 2)
                for name, pid in self.pids.items()}


async def settle(pids: dict[str, int], *, idle: float = 0.05, window: float = 0.5,
                 timeout: float = 60) -> float:
    """Wait until the stack is idle (the relay has published, the consumers have caught up):
    together its processes use under ``idle`` of a core over ``window`` seconds. Returns the
    seconds waited."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        before = sum(cpu_seconds(p) for p in pids.values())
        await asyncio.sleep(window)
        if (sum(cpu_seconds(p) for p in pids.values()) - before) / window < idle:
            break
    return round(time.monotonic() - began, 2)


# --- load -------------------------------------------------------------------------------------


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


def require(phase: Phase) -> None:
    if phase.failures:
        sample = "\n  ".join(phase.failures[:5])
        raise SystemExit(f"{phase.name}: {len(phase.failures)} of {phase.requests} requests went "
                         f"wrong (statuses {dict(phase.statuses)}), e.g.\n  {sample}")


def register(tenant: str) -> tuple[Request, Check]:
    async def send(client: httpx.AsyncClient, code: str) -> httpx.Response:
        return await client.post(f"/api/v1/tenants/{tenant}/units", json={
            "kind": "factory", "uscc": code, "name": f"基准测试工厂 {code[8:17]}",
            "location": "320102", "industry": "3311",
        })

    def check(r: httpx.Response, code: str) -> str:
        if r.status_code != 201:
            return f"{r.status_code} {r.text[:300]}"
        return "" if r.json()["unit"]["uscc"] == code else f"answered another unit: {r.text[:300]}"

    return send, check


def look_up(tenant: str, *, verify: bool) -> tuple[Request, Check]:
    path = f"/api/v1/tenants/{tenant}/units?uscc="  # USCC characters need no escaping

    async def send(client: httpx.AsyncClient, code: str) -> httpx.Response:
        return await client.get(path + code)

    def check(r: httpx.Response, code: str) -> str:
        if r.status_code != 200:
            return f"{r.status_code} {r.text[:300]}"
        if verify:
            units = r.json()["units"]
            if len(units) != 1 or units[0]["uscc"] != code:
                return f"expected the one unit {code}: {r.text[:300]}"
        return ""

    return send, check


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


# --- the stack and the ceiling ----------------------------------------------------------------


def make_stack(var_dir: Path) -> Stack:
    """A stack of its own (own files and nats-server, or own prefixes on shared servers)."""
    return Stack.isolated(var_dir, tag="b", database_url=os.environ.get("DATABASE_URL", ""),
                          nats_url=os.environ.get("NATS_URL", ""), tenants=TENANTS,
                          seed_demo=True)


def login(base: str) -> str:
    r = httpx.post(f"{base}/api/v1/auth/login", json={"username": USER, "password": PASSWORD},
                   timeout=30)
    if r.status_code != 200:
        raise SystemExit(f"login as {USER} failed: {r.status_code} {r.text[:300]}")
    return r.json()["access_token"]


def start_ceiling(var_dir: Path, body: Path | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "bench.ceiling", "--port", str(port)]
    if body:
        cmd += ["--body", str(body)]
    out = open(var_dir / "log" / "ceiling.out", "ab")
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


# --- report -----------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "BELOW"


def judge(result: dict[str, Any], *, postgres: bool) -> list[dict[str, str]]:
    """Each figure against its aim; sets ``lookup_share_of_ceiling`` on the way."""
    ph = result["phases"]
    share = ph["lookups"]["per_second"] / ph["ceiling"]["per_second"]
    result["lookup_share_of_ceiling"] = round(share, 3)
    registrations = ph["registrations"]["per_second"]
    aims = [
        {"what": "look-ups / ceiling", "figure": f"{100 * share:.1f} %",
         "aim": f">= {100 * AIM_LOOKUP_SHARE:.0f} %",
         "verdict": verdict(share >= AIM_LOOKUP_SHARE)},
        {"what": "registrations per second" + (" (aim is for SQLite)" if postgres else ""),
         "figure": f"{registrations:.1f}/s", "aim": f">= {AIM_REGISTRATIONS:.0f}/s on SQLite",
         "verdict": verdict(registrations >= AIM_REGISTRATIONS)},
    ]
    for name, mb in result["rss_mb"].items():
        aims.append({"what": f"RSS of {name} after the load",
                     "figure": "gone" if mb is None else f"{mb:.1f} MB",
                     "aim": f"< {AIM_RSS_MB:.0f} MB",
                     "verdict": verdict(mb is not None and mb < AIM_RSS_MB)})
    return aims


def print_report(result: dict[str, Any]) -> None:
    ph = result["phases"]
    reg, look, ceil = ph["registrations"], ph["lookups"], ph["ceiling"]
    aims = result["aims"]

    def line(label: str, phase: dict[str, Any]) -> str:
        lat = phase["latency_ms"]
        return (f"  {label:<15}{phase['per_second']:>9.1f} req/s   p50 {lat['p50']:>7.2f} ms   "
                f"p99 {lat['p99']:>7.2f} ms   ({phase['requests']} requests, "
                f"{phase['concurrency']} in flight)")

    print()
    print(f"GreenLadder bench — {result['timestamp']}  {result['machine']['cpus']} CPUs, "
          f"Python {result['machine']['python']}, {result['storage']}")
    print(line("registrations", reg))
    print(line("look-ups", look))
    print(line("ceiling", ceil))
    print(f"  {'look-up/ceil.':<15}{100 * result['lookup_share_of_ceiling']:>9.1f} %")
    print()
    print("  CPU seconds during each timed phase (cores busy = seconds / phase duration):")
    for name in ("registrations", "lookups", "ceiling"):
        cpu = ph[name]["cpu_seconds"]
        parts = "  ".join(f"{k} {v:.1f}" for k, v in cpu.items())
        print(f"    {name:<14}{ph[name]['seconds']:>6.1f} s   {parts}")
    print()
    print("  resident memory (VmRSS):      after start    after the load")
    for name, mb in result["rss_mb"].items():
        start = result["rss_mb_at_start"].get(name)
        print(f"    {name:<26}{_mb(start):>12}{_mb(mb):>18}")
    print(f"    {'ceiling app':<26}{'':>12}{_mb(result.get('rss_mb_ceiling')):>18}")
    print()
    print("  aims:")
    for aim in aims:
        print(f"    {aim['verdict']:<6} {aim['what']:<42} {aim['figure']:<14} aim {aim['aim']}")
    print()


# --- main -------------------------------------------------------------------------------------


async def measure(stack: Stack, token: str, args: argparse.Namespace, codes: list[str],
                  result: dict[str, Any]) -> bytes:
    pids = {name: p.pid for name, p in stack.procs.items()}
    warm, timed = codes[:args.warmup], codes[args.warmup:]
    async with clients(stack.gateway_url, token, args.concurrency) as http:
        send, check = register(TENANT)
        require(await drive(http, "registration warm-up", warm, send, check))
        result["settle_seconds"] = {"after_registration_warmup": await settle(pids)}
        reg = await drive(http, "registrations", timed, send, check, pids)
        require(reg)
        # The relay publishes the new units' events and the gateway's views consume them after
        # the answers: let that finish so the look-ups do not pay for it.
        result["settle_seconds"]["after_registrations"] = await settle(pids)

        send, check = look_up(TENANT, verify=True)
        rng = random.Random(args.seed)
        require(await drive(http, "look-up warm-up", rng.choices(codes, k=args.warmup), send,
                            check))
        look = await drive(http, "lookups", rng.choices(codes, k=args.lookups), send, check, pids)
        require(look)
        sample = (await http[0].get(f"/api/v1/tenants/{TENANT}/units",
                                    params={"uscc": codes[0]})).content
    result["phases"] = {"registrations": reg.summary(), "lookups": look.summary()}
    return sample


async def measure_ceiling(base: str, token: str, args: argparse.Namespace, codes: list[str],
                          pid: int) -> Phase:
    rng = random.Random(args.seed)
    send, check = look_up(TENANT, verify=False)
    async with clients(base, token, args.concurrency) as http:
        require(await drive(http, "ceiling warm-up", rng.choices(codes, k=args.warmup), send,
                            check))
        phase = await drive(http, "ceiling", rng.choices(codes, k=args.lookups), send, check,
                            {"ceiling": pid})
    require(phase)
    return phase


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="GreenLadder throughput and memory (make bench)")
    parser.add_argument("--registrations", type=int, default=2000, help="timed registrations")
    parser.add_argument("--lookups", type=int, default=5000, help="timed look-ups (and ceiling)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests before each")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--seed", type=int, default=None, help="USCC and look-up order seed")
    parser.add_argument("--keep", action="store_true", help="keep the stack's directory (logs)")
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.randrange(2**31)
    lighten_client()

    database_url = os.environ.get("DATABASE_URL", "")
    nats_url = os.environ.get("NATS_URL", "")
    var_dir = Path(tempfile.mkdtemp(prefix="gl-bench-"))
    stack = make_stack(var_dir)
    ceiling: subprocess.Popen | None = None
    now = datetime.now(UTC)
    result: dict[str, Any] = {
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": _git_head(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "storage": "PostgreSQL" if database_url else "SQLite",
        "bus": "shared NATS" if nats_url else "own nats-server",
        "config": {"registrations": args.registrations, "lookups": args.lookups,
                   "warmup": args.warmup, "concurrency": args.concurrency, "seed": args.seed,
                   "tenant": TENANT, "user": USER,
                   "client": "one asyncio process; one httpx.AsyncClient (one HTTP/1.1 keep-alive "
                             "connection) per request in flight"},
        "var_dir": str(var_dir),
    }
    ok = False
    try:
        print(f"starting the stack in {var_dir} ({result['storage']}, {result['bus']}) …",
              flush=True)
        t0 = time.monotonic()
        stack.start()
        result["stack_start_seconds"] = round(time.monotonic() - t0, 2)
        token = login(stack.gateway_url)
        result["rss_mb_at_start"] = {name: _round(rss_mb(p.pid))
                                     for name, p in stack.procs.items()}
        codes = usccs(args.warmup + args.registrations, args.seed)
        print(f"registering {args.registrations} units, looking up {args.lookups}, "
              f"{args.concurrency} in flight …", flush=True)
        sample = asyncio.run(measure(stack, token, args, codes, result))
        result["rss_mb"] = {name: _round(rss_mb(p.pid)) for name, p in stack.procs.items()}
        result["log_bytes"] = {f.name: f.stat().st_size for f in (var_dir / "log").iterdir()}
        result["lookup_response_bytes"] = len(sample)
        stack.stop()  # the ceiling runs alone
        body = var_dir / "lookup-response.json"
        body.write_bytes(sample)

        print("measuring the ceiling …", flush=True)
        ceiling, base = start_ceiling(var_dir, body)
        phase = asyncio.run(measure_ceiling(base, token, args, codes, ceiling.pid))
        result["phases"]["ceiling"] = phase.summary()
        result["rss_mb_ceiling"] = _round(rss_mb(ceiling.pid))
        stop(ceiling)

        result["aims"] = judge(result, postgres=bool(database_url))
        print_report(result)
        _write(result, now)
        ok = True
    finally:
        stop(ceiling)
        stack.stop()
        try:
            stack.drop_shared()
        finally:
            if ok and not args.keep:
                shutil.rmtree(var_dir, ignore_errors=True)
            else:
                print(f"the stack's directory (logs) is kept: {var_dir}", file=sys.stderr)


def _mb(mb: float | None) -> str:
    return "gone" if mb is None else f"{mb:.1f} MB"


def _round(mb: float | None) -> float | None:
    return None if mb is None else round(mb, 1)


def _git_head() -> str:
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, text=True,
                              capture_output=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _write(result: dict[str, Any], now: datetime) -> None:
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    path = RESULTS / f"{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(text)
    (RESULTS / "latest.json").write_text(text)
    print(f"written to {path.relative_to(ROOT)} and bench/results/latest.json")


if __name__ == "__main__":
    main()
