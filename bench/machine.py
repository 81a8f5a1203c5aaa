"""The processes a bench run measures: their resident memory and CPU time (from /proc), and a
wait until they are idle."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")

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
