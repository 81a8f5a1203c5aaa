"""China's official working-day calendar."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from services.kernel import workdays
from services.kernel.errors import DomainError, Kind
from services.kernel.workdays import Calendar, load_calendar


@pytest.fixture(scope="module")
def cal() -> Calendar:
    return load_calendar()


def test_shipped_years(cal: Calendar) -> None:
    assert cal.years() == (2020, 2021, 2022, 2023, 2024, 2025, 2026)


def test_known_facts(cal: Calendar) -> None:
    assert cal.is_workday(date(2025, 10, 11))  # a Saturday, 调休
    assert cal.is_holiday(date(2025, 10, 3)) and not cal.is_workday(date(2025, 10, 3))
    assert all(cal.is_holiday(date(2024, 10, d)) for d in range(1, 8))
    assert not cal.is_holiday(date(2024, 10, 8)) and cal.is_workday(date(2024, 10, 8))
    sunday = date(2025, 10, 12)
    assert not cal.is_workday(sunday) and not cal.is_holiday(sunday)


def test_new_years_holiday_announced_the_year_before(cal: Calendar) -> None:
    assert cal.is_holiday(date(2023, 12, 30)) and cal.is_holiday(date(2024, 1, 1))


def test_year_without_data_is_refused(cal: Calendar) -> None:
    for call in (cal.is_workday, cal.is_holiday, cal.next_workday):
        with pytest.raises(DomainError) as info:
            call(date(2031, 3, 3))
        assert info.value.code == "calendar.year_missing"
        assert info.value.kind is Kind.PRECONDITION and info.value.params == {"year": 2031}
        assert "2031" in info.value.message("zh") and "2031" in info.value.message("en")


def test_next_workday(cal: Calendar) -> None:
    assert cal.next_workday(date(2025, 9, 30)) == date(2025, 10, 9)
    assert cal.next_workday(date(2025, 10, 10)) == date(2025, 10, 11)  # Friday → 调休 Saturday
    assert cal.next_workday(date(2025, 3, 3)) == date(2025, 3, 4)


def test_add_workdays_across_national_day(cal: Calendar) -> None:
    announced = date(2025, 9, 26)  # Friday
    assert cal.add_workdays(announced, 1) == date(2025, 9, 28)  # 调休 Sunday
    assert cal.add_workdays(announced, 2) == date(2025, 9, 29)
    assert cal.add_workdays(announced, 3) == date(2025, 9, 30)
    assert cal.add_workdays(announced, 4) == date(2025, 10, 9)  # 10-01..08 off
    assert cal.add_workdays(announced, 6) == date(2025, 10, 11)
    assert cal.add_workdays(announced, 7) == date(2025, 10, 13)
    assert cal.workdays_between(date(2025, 9, 28), date(2025, 10, 13)) == 7


def test_add_workdays_needs_a_positive_count(cal: Calendar) -> None:
    with pytest.raises(ValueError):
        cal.add_workdays(date(2025, 1, 2), 0)


def test_workdays_between(cal: Calendar) -> None:
    assert cal.workdays_between(date(2025, 10, 1), date(2025, 10, 8)) == 0
    assert cal.workdays_between(date(2025, 3, 3), date(2025, 3, 9)) == 5
    assert cal.workdays_between(date(2025, 3, 3), date(2025, 3, 3)) == 1
    assert cal.workdays_between(date(2025, 3, 9), date(2025, 3, 3)) == 0
    assert cal.workdays_between(date(2025, 1, 1), date(2025, 12, 31)) == 248


def test_operator_file_adds_a_year(tmp_path: Path) -> None:
    extra = tmp_path / "2031.yaml"
    extra.write_text(
        "years:\n"
        "  2031:\n"
        "    holidays:\n"
        "      - {name: 国庆节, start: 2031-10-01, end: 2031-10-07}\n"
        "    workdays:\n"
        "      - {date: 2031-09-28, name: 国庆节}\n",
        encoding="utf-8",
    )
    cal = load_calendar(extra)
    assert 2031 in cal.years() and 2025 in cal.years()
    assert cal.is_holiday(date(2031, 10, 3)) and cal.is_workday(date(2031, 9, 28))
    assert cal.is_workday(date(2031, 3, 3)) and not cal.is_workday(date(2031, 3, 2))
    assert cal.add_workdays(date(2031, 9, 30), 1) == date(2031, 10, 8)


def test_operator_file_replaces_a_year(tmp_path: Path) -> None:
    extra = tmp_path / "fix.yaml"
    extra.write_text("years:\n  2025:\n    holidays: []\n    workdays: []\n", encoding="utf-8")
    cal = load_calendar(extra)
    assert cal.is_workday(date(2025, 10, 3)) and not cal.is_workday(date(2025, 10, 11))


def test_default_calendar_reads_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "2031.yaml"
    extra.write_text("years:\n  2031:\n    holidays: []\n    workdays: []\n", encoding="utf-8")
    monkeypatch.setenv("GL_CALENDAR_FILE", str(extra))
    workdays.default_calendar.cache_clear()
    try:
        assert 2031 in workdays.default_calendar().years()
    finally:
        workdays.default_calendar.cache_clear()


def _holiday(entry: str) -> str:
    return f"    holidays:\n      - {entry}\n    workdays: []\n"


@pytest.mark.parametrize(
    "block, message",
    [
        ("    holidays: []\n", "exactly the keys 'holidays' and 'workdays'"),
        (_holiday("{name: 国庆节, start: 2031-10-07, end: 2031-10-01}"), "ends 2031-10-01 before"),
        (_holiday("{name: 国庆节, start: 2032-10-01}"), "date 2032-10-01 lies outside 2031"),
        (_holiday('{name: 国庆节, start: "2031-02-30"}'), "'2031-02-30' is not a date"),
        (_holiday("{name: 国庆节, start: 2031-13-01}"), "not valid YAML"),
        (_holiday("{start: 2031-10-01}"), "each 'holidays' entry needs name, start [, end]"),
        (_holiday("{name: ' ', start: 2031-10-01}"), "needs a non-empty name"),
        (
            "    holidays: []\n    workdays:\n      - {date: 2031-09-29, name: 国庆节}\n",
            "working day 2031-09-29 is a Monday",
        ),
        (
            "    holidays:\n      - {name: x, start: 2031-09-28}\n"
            "    workdays:\n      - {date: 2031-09-28, name: x}\n",
            "2031-09-28 is listed both as a holiday and as a working day",
        ),
    ],
)
def test_malformed_file_is_refused_precisely(tmp_path: Path, block: str, message: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("years:\n  2031:\n" + block, encoding="utf-8")
    with pytest.raises(ValueError) as info:
        load_calendar(bad)
    assert message in str(info.value)
    assert str(bad) in str(info.value)


def test_matches_chinese_calendar_every_day(cal: Calendar) -> None:
    chinese_calendar = pytest.importorskip("chinese_calendar")
    from chinese_calendar.constants import holidays

    day = date(2020, 1, 1)
    while day <= date(2026, 12, 31):
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        assert cal.is_holiday(day) == (day in holidays), day
        day += timedelta(days=1)
