"""The one clock, in China Standard Time (services/kernel/clock.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.kernel import clock
from services.kernel.clock import CST
from services.kernel.errors import DomainError, Kind


@pytest.fixture
def clock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "clock.json"
    monkeypatch.setenv("GL_CLOCK_FILE", str(path))
    return path


@pytest.fixture
def host_in_new_york() -> Iterator[None]:
    """Run with a host time zone far from China's, so nothing can lean on the host's zone."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


@pytest.mark.parametrize("day", [date(2025, 1, 15), date(2025, 7, 15), date(1995, 7, 1)])
def test_cst_is_utc_plus_8_all_year(day: date) -> None:
    moment = datetime(day.year, day.month, day.day, 12, tzinfo=CST)
    assert moment.utcoffset() == timedelta(hours=8)
    assert moment.isoformat().endswith("+08:00")


def test_frozen_clock(clock_file: Path) -> None:
    at = datetime(2025, 10, 11, 9, 0, tzinfo=CST)
    clock.set_clock(clock_file, at=at)
    assert clock.now() == at
    assert clock.now().utcoffset() == timedelta(hours=8)
    assert clock.today() == date(2025, 10, 11)


def test_the_day_is_the_day_in_china(clock_file: Path) -> None:
    clock.set_clock(clock_file, at=datetime(2025, 10, 11, 17, 30, tzinfo=timezone.utc))
    assert clock.now() == datetime(2025, 10, 12, 1, 30, tzinfo=CST)
    assert clock.today() == date(2025, 10, 12)  # already the 12th in Beijing


def test_moving_the_clock_again_is_seen(clock_file: Path) -> None:
    clock.set_clock(clock_file, at=datetime(2025, 10, 11, 9, tzinfo=CST))
    assert clock.today() == date(2025, 10, 11)
    clock.set_clock(clock_file, at=datetime(2026, 1, 2, 9, tzinfo=CST))
    assert clock.today() == date(2026, 1, 2)


def test_offset_clock(clock_file: Path) -> None:
    clock.set_clock(clock_file, offset_seconds=86400 * 3)
    shift = clock.now() - datetime.now(CST)
    assert timedelta(days=3) - timedelta(seconds=5) < shift < timedelta(days=3, seconds=5)
    assert clock.now().utcoffset() == timedelta(hours=8)


def test_without_a_clock_file_the_system_clock_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GL_CLOCK_FILE", str(tmp_path / "absent.json"))
    assert abs(clock.now() - datetime.now(CST)) < timedelta(seconds=5)
    monkeypatch.delenv("GL_CLOCK_FILE")
    assert abs(clock.now() - datetime.now(CST)) < timedelta(seconds=5)


def test_a_naive_frozen_moment_is_china_time(clock_file: Path, host_in_new_york: None) -> None:
    """All times are China Standard Time: a moment given without a zone must not be read in the
    host's zone, or the same test would freeze a different day on different machines.
    """
    clock.set_clock(clock_file, at=datetime(2025, 10, 11, 23, 0))
    assert clock.now() == datetime(2025, 10, 11, 23, 0, tzinfo=CST)
    assert clock.today() == date(2025, 10, 11)


def test_iso_is_in_china_time() -> None:
    assert clock.iso(datetime(2025, 10, 11, 1, 0, tzinfo=timezone.utc)) == (
        "2025-10-11T09:00:00+08:00"
    )


# --- parse_day -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "day"),
    [("2025-10-11", date(2025, 10, 11)), (" 2024-02-29 ", date(2024, 2, 29))],
)
def test_parse_day(value: str, day: date) -> None:
    assert clock.parse_day(value, "valid_from") == day


@pytest.mark.parametrize(
    "value", ["", "2025-13-01", "2025-02-29", "11/10/2025", "2025-10-11T09:00", "tomorrow"]
)
def test_parse_day_refuses_naming_the_field(value: str) -> None:
    with pytest.raises(DomainError) as info:
        clock.parse_day(value, "occurred_on")
    err = info.value
    assert err.code == "date.malformed" and err.kind is Kind.INVALID
    assert err.params == {"field": "occurred_on", "value": value}


@pytest.mark.parametrize("value", ["20251011", "2025-W41-6"])
def test_parse_day_wants_yyyy_mm_dd_only(value: str) -> None:
    """Python 3.11's date.fromisoformat also takes basic and week-date forms; the API says
    YYYY-MM-DD, and a caller sending 20251011 has probably mixed up a field."""
    with pytest.raises(DomainError) as info:
        clock.parse_day(value, "occurred_on")
    assert info.value.code == "date.malformed"
