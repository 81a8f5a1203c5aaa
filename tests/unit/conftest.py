"""Unit-test fixtures: a clock file that freezes the platform clock for one test."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from services.kernel import clock
from services.kernel.clock import CST

T0 = datetime(2025, 10, 11, 9, 0, tzinfo=CST)  # a working Saturday (调休)


@pytest.fixture
def clock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The platform clock frozen at T0, movable with ``clock.set_clock(clock_file, ...)``."""
    path = tmp_path / "clock.json"
    monkeypatch.setenv("GL_CLOCK_FILE", str(path))
    clock.set_clock(path, at=T0)
    return path
