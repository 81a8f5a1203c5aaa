"""HTTP load for `make bench`: wrk when installed, else a Python client whose ceiling is unreliable.

wrk (Debian's ``wrk`` package) is a C load generator: on this machine it costs a small fraction of
what the servers it measures cost, so a bare endpoint's rate is the endpoint's, not the client's.
The Python client (``bench.run.drive``) costs ~0.5 ms of CPU per request, about twice the bare
app, so with it the ceiling is bounded by the client and every ratio is flattered.

Each request of a run comes from a list (method, path, token, body) written to a file; a Lua
script, written next to it, reads the list in each wrk thread's ``init`` and sends it in turn from
``request``. Thread ``k`` of ``n`` takes lines ``k, k+n, k+2n, …``, so with ``once=True``
(registrations) no line is sent twice: a repeated registration is an idempotent 200 and would
flatter the figure. ``response`` counts every status other than the one expected and ``done``
prints one JSON line with the figures.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARK = "GLBENCH "

# Lua for wrk 4.x. Globals of a thread's own Lua state: reqs, n, id, bad, wrapped, expected.
# args: the list's file, the thread count, 1 if each line must be sent once (checked in Python
# from ``wrapped``), the expected status.
SCRIPT = r"""
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  reqs, n, bad, wrapped, expected = {}, 0, 0, 0, tonumber(args[4])
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id then
      local m, p, t, b = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local h = {["Authorization"] = "Bearer " .. t}
      if b ~= "" then h["Content-Type"] = "application/json" else b = nil end
      reqs[#reqs + 1] = wrk.format(m, p, h, b)
    end
    i = i + 1
  end
end

function request()
  n = n + 1
  if n > #reqs then
    n = 1
    wrapped = wrapped + 1
  end
  return reqs[n]
end

function response(status, headers, body)
  if status ~= expected then bad = bad + 1 end
end

function done(summary, latency, requests)
  local unexpected, wraps = 0, 0
  for _, t in ipairs(threads) do
    unexpected = unexpected + (t:get("bad") or 0)
    wraps = wraps + (t:get("wrapped") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d},' ..
    '"unexpected_status":%d,"wrapped":%d}\n',
    "GLBENCH ", summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, unexpected, wraps))
end
"""


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    token: str
    body: str = ""  # JSON on one line, no tabs


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def have_taskset() -> bool:
    return shutil.which("taskset") is not None


def where(pin: str) -> str:
    """Where the load generator runs, in words, for the report."""
    if not have_wrk():
        return "Python client (httpx, asyncio) in the bench process, same machine, cores shared"
    if pin:
        return f"wrk on the same machine, pinned to CPU {pin} with taskset (servers unpinned)"
    return "wrk on the same machine, cores shared with the servers (not pinned)"


def write_requests(path: Path, reqs: list[Req]) -> None:
    lines = []
    for r in reqs:
        if "\t" in r.body or "\n" in r.body:
            raise ValueError("a request body must be one line without tabs")
        lines.append(f"{r.method}\t{r.path}\t{r.token}\t{r.body}")
    path.write_text("\n".join(lines) + "\n")


def run_wrk(base: str, reqs: list[Req], work: Path, *, seconds: float, connections: int,
            threads: int, expect: int, once: bool, pin: str = "", tag: str = "run") -> dict[str, Any]:
    """One wrk run against ``base``; returns the figures printed by the script's ``done``.

    ``rate`` is requests / duration; ``ok`` is False when a request answered a status other than
    ``expect``, failed at the socket, or (with ``once``) a line had to be sent twice.
    """
    work.mkdir(parents=True, exist_ok=True)
    script = work / "rotate.lua"
    script.write_text(SCRIPT)
    listing = work / f"{tag}.tsv"
    write_requests(listing, reqs)
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s",
           "--timeout", "30s", "-s", str(script), base, "--",
           str(listing), str(threads), "1" if once else "0", str(expect)]
    if pin:
        cmd = ["taskset", "-c", pin, *cmd]
    out = subprocess.run(cmd, check=False, text=True, capture_output=True,
                         timeout=seconds + 120)
    line = next((x for x in out.stdout.splitlines() if x.startswith(MARK)), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({out.returncode}): {out.stdout[-1500:]} {out.stderr[-1500:]}")
    fig = json.loads(line[len(MARK):])
    errors = fig["errors"]
    socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    fig["non_2xx"] = errors["status"]
    fig["seconds"] = round(fig["duration_us"] / 1e6, 3)
    fig["per_second"] = round(fig["requests"] / fig["seconds"], 1) if fig["seconds"] else 0.0
    fig["list_length"] = len(reqs)
    fig["ok"] = (fig["unexpected_status"] == 0 and socket_errors == 0
                 and not (once and (fig["wrapped"] or fig["requests"] > len(reqs))))
    return fig


def median_spread(figs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median rate of the runs with its spread (min–max), and the runs themselves."""
    rates = sorted(f["per_second"] for f in figs)
    return {"per_second": rates[len(rates) // 2], "min": rates[0], "max": rates[-1],
            "runs": figs}
