"""A bench run's report: the table of figures with their ceilings, ratios and spreads, the
aims (reported, never enforced), and the results file."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

from services.kernel.config import ROOT

RESULTS = Path(__file__).resolve().parent / "results"
# The aims (docs: bench/README.md). Reported, never enforced.
AIM_LOOKUP_SHARE = 0.40       # look-ups per second / ceiling per second
AIM_REGISTRATION_SHARE = 0.30  # registrations per second / their ceiling per second
AIM_SCORE_SHARE = 0.25        # scores per second / the score ceiling per second
AIM_IDLE_PERCENT = 2.0        # idle CPU of the whole stack, 38 tenants, % of one core
AIM_RSS_MB = 150.0            # each process of the stack, after the load


def verdict(ok: bool) -> str:
    return "PASS" if ok else "BELOW"


def print_report(result: dict[str, Any]) -> None:
    print()
    print(f"GreenLadder bench — {result['timestamp']}  {result['machine']['cpus']} CPUs, "
          f"Python {result['machine']['python']}, {result['storage']}")
    print(f"  load: {result['load']['generator']}")
    if not result["load"]["wrk"]:
        print("  !! no wrk: the ceilings are bounded by the Python client; every ratio is flattered")
    print(f"  each figure: the median of {result['config']['runs']} runs, spread min–max")
    print()
    print(f"  {'path':<44}{'rate/s':>9}{'ceiling/s':>11}{'ratio':>8}   spread (path | ceiling)")
    for row in result["figures"]:
        print(f"  {row['path']:<44}{row['per_second']:>9.1f}{row['ceiling_per_second']:>11.1f}"
              f"{100 * row['ratio']:>7.1f}%   {row['min']:.0f}–{row['max']:.0f} | "
              f"{row['ceiling_min']:.0f}–{row['ceiling_max']:.0f}")
    rows = {row["key"]: row for row in result["figures"]}
    if "look-up floor" in rows and rows["look-up floor"]["per_second"]:
        share = rows["look-ups"]["per_second"] / rows["look-up floor"]["per_second"]
        print(f"\n  the floor is the bare endpoint after one bare gRPC call: no look-up through a "
              f"gRPC service\n  passes its ratio on this machine; the look-ups reach "
              f"{100 * share:.1f} % of it")
    print()
    print("  CPU seconds of each stack process during the timed runs:")
    for name, cpu in result["cpu_seconds"].items():
        print(f"    {name:<14}" + "  ".join(f"{k} {v:.1f}" for k, v in cpu.items()))
    print()
    print("  resident memory (VmRSS):      after start    after the load")
    for name, mb in result["rss_mb"].items():
        start = result["rss_mb_at_start"].get(name)
        print(f"    {name:<26}{_mb(start):>12}{_mb(mb):>18}")
    print(f"    {'ceiling app':<26}{'':>12}{_mb(result.get('rss_mb_ceiling')):>18}")
    if "idle_cpu" in result:
        idle = result["idle_cpu"]
        print(f"\n  idle CPU, {idle['tenants']} tenants, {idle['after_seconds']} s after start, "
              f"over {idle['window_seconds']} s: {idle['percent_of_one_core']:.2f} % of one core")
    print()
    print("  aims:")
    for aim in result["aims"]:
        print(f"    {aim['verdict']:<6} {aim['what']:<42} {aim['figure']:<14} aim {aim['aim']}")
    print()


def judge(result: dict[str, Any]) -> list[dict[str, str]]:
    aims = []
    for row in result["figures"]:
        aim = AIMS.get(row["key"])
        if aim is not None:
            aims.append({"what": f"{row['key']} / ceiling", "figure": f"{100 * row['ratio']:.1f} %",
                         "aim": f">= {100 * aim:.0f} %", "verdict": verdict(row["ratio"] >= aim)})
    for name, mb in result["rss_mb"].items():
        aims.append({"what": f"RSS of {name} after the load",
                     "figure": "gone" if mb is None else f"{mb:.1f} MB",
                     "aim": f"< {AIM_RSS_MB:.0f} MB",
                     "verdict": verdict(mb is not None and mb < AIM_RSS_MB)})
    if "idle_cpu" in result:
        pct = result["idle_cpu"]["percent_of_one_core"]
        aims.append({"what": "idle CPU, 38 tenants", "figure": f"{pct:.2f} %",
                     "aim": f"< {AIM_IDLE_PERCENT:.0f} % of one core",
                     "verdict": verdict(pct < AIM_IDLE_PERCENT)})
    return aims


AIMS = {"look-ups": AIM_LOOKUP_SHARE, "registrations": AIM_REGISTRATION_SHARE,
        "scores": AIM_SCORE_SHARE}


def figure_row(key: str, path: str, run: dict[str, Any], ceiling: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "path": path, "per_second": run["per_second"], "min": run["min"],
            "max": run["max"], "ceiling_per_second": ceiling["per_second"],
            "ceiling_min": ceiling["min"], "ceiling_max": ceiling["max"],
            "ratio": round(run["per_second"] / ceiling["per_second"], 3)
            if ceiling["per_second"] else 0.0}


def _mb(mb: float | None) -> str:
    return "gone" if mb is None else f"{mb:.1f} MB"


def round_mb(mb: float | None) -> float | None:
    return None if mb is None else round(mb, 1)


def git_head() -> str:
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], check=False, cwd=ROOT,
                              text=True, capture_output=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def write_result(result: dict[str, Any], now: datetime) -> None:
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    path = RESULTS / f"{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(text)
    (RESULTS / "latest.json").write_text(text)
    print(f"written to {path.relative_to(ROOT)} and bench/results/latest.json")
