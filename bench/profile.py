"""Where the time goes: py-spy profiles of stack processes under a load (``bench.run --profile``).

For each process, two py-spy samplers run side by side for the load's duration (``--nonblocking``:
the process is never paused): one writes a flame graph (``<load>-<process>.svg``, open it in a
browser), the other the collapsed stacks (``.txt``) that ``summary`` reduces to the functions
holding most samples, by self time and by inclusive time. Profiled runs are extra runs: their rate
is never one of the timed figures.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

RATE = 200  # samples per second


def py_spy() -> str | None:
    """py-spy from this interpreter's environment (it is in the lock), else from the PATH."""
    near = Path(sys.executable).with_name("py-spy")
    return str(near) if near.exists() else shutil.which("py-spy")


class Recording:
    """py-spy attached to each of ``pids`` until the duration ends (or ``stop``)."""

    def __init__(self, pids: dict[str, int], out: Path, tag: str, seconds: float) -> None:
        exe = py_spy()
        if exe is None:
            raise SystemExit("--profile needs py-spy (it is in requirements.lock: make setup)")
        out.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, Path] = {}
        self.procs: list[subprocess.Popen[bytes]] = []
        for name, pid in pids.items():
            for fmt, suffix in (("flamegraph", "svg"), ("raw", "txt")):
                path = out / f"{tag}-{name}.{suffix}"
                if fmt == "raw":
                    self.files[name] = path
                self.procs.append(subprocess.Popen(
                    [exe, "record", "--nonblocking", "--gil", "-r", str(RATE), "-d", str(int(seconds)),
                     "-p", str(pid), "-f", fmt, "-o", str(path)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def wait(self) -> dict[str, Path]:
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        return {name: path for name, path in self.files.items() if path.exists()}


def summary(collapsed: Path, top: int = 15) -> dict[str, Any]:
    """The functions holding most samples: ``self`` (the innermost frame) and ``inclusive``
    (anywhere on the stack, counted once per sample), each as a share of all samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n

    def share(counter: Counter[str]) -> list[list[Any]]:
        return [[frame, round(100 * n / total, 1)] for frame, n in counter.most_common(top)]

    return {"samples": total, "self": share(own), "inclusive": share(inclusive)}


def _short(frame: str) -> str:
    """``handle (fastapi/routing.py:315)`` → ``handle (fastapi/routing.py)``: lines apart, a
    function's samples are one row."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name
