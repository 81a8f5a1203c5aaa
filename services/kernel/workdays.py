"""China's official working-day calendar (工作日历): public holidays and 调休 working weekends.

Deadlines count working days on this calendar, not Monday to Friday. Data lives in
``data/workdays.yaml``, one block per year's State Council notice; an operator adds a year the
packages don't know yet with an extra file (``GL_CALENDAR_FILE``). A date in a year without data
is refused, never guessed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from services.kernel.errors import precondition

SHIPPED = Path(__file__).parent / "data" / "workdays.yaml"
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Calendar:
    """Immutable working-day calendar covering ``covered`` years."""

    holidays: frozenset[date] = field(repr=False)
    workdays: frozenset[date] = field(repr=False)  # weekend days made working days (调休上班)
    covered: frozenset[int] = frozenset()

    def _require(self, day: date) -> None:
        if day.year not in self.covered:
            raise precondition("calendar.year_missing", year=day.year)

    def is_workday(self, day: date) -> bool:
        self._require(day)
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def is_holiday(self, day: date) -> bool:
        """A day off of a public holiday period (法定节假日放假); ordinary weekends are not."""
        self._require(day)
        return day in self.holidays

    def next_workday(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += _ONE_DAY
        while not self.is_workday(day):
            day += _ONE_DAY
        return day

    def add_workdays(self, start: date, n: int) -> date:
        """Last day of a period of ``n`` working days that starts the working day after ``start``.

        ``add_workdays(announced, 5)`` is the deadline "5 working days after the announcement";
        ``add_workdays(day, 1)`` is ``next_workday(day)``.
        """
        if n < 1:
            raise ValueError(f"a period needs at least 1 working day, got {n}")
        day = start
        for _ in range(n):
            day = self.next_workday(day)
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days from ``start`` to ``end``, both included (0 if ``end`` < ``start``)."""
        days = (start + timedelta(days=i) for i in range((end - start).days + 1))
        return sum(self.is_workday(day) for day in days)

    def years(self) -> tuple[int, ...]:
        return tuple(sorted(self.covered))


def load_calendar(extra: Path | None = None) -> Calendar:
    """The shipped calendar; blocks in ``extra`` replace or add whole years."""
    blocks = _read(SHIPPED)
    if extra is not None:
        blocks.update(_read(extra))
    return _build(blocks, extra or SHIPPED)


@cache
def default_calendar() -> Calendar:
    """Shipped data plus the operator file named by ``GL_CALENDAR_FILE``, if set."""
    extra = os.environ.get("GL_CALENDAR_FILE")
    return load_calendar(Path(extra) if extra else None)


# --- loading -----------------------------------------------------------------------------------

_Block = tuple[dict[date, str], dict[date, str]]  # (holidays, workdays), date → name


def _read(path: Path) -> dict[int, _Block]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError) as e:  # PyYAML raises ValueError for 2031-13-01
        raise ValueError(f"{path}: not valid YAML: {e}") from None
    years = data.get("years") if isinstance(data, dict) else None
    if not isinstance(years, dict) or not years:
        raise ValueError(f"{path}: expected a non-empty mapping 'years:' of year → block")
    blocks: dict[int, _Block] = {}
    for year, block in years.items():
        where = f"{path}, year {year}"
        if not isinstance(year, int) or not 1949 < year < 3000:
            raise ValueError(f"{where}: a year must be a 4-digit integer")
        if not isinstance(block, dict) or set(block) != {"holidays", "workdays"}:
            raise ValueError(f"{where}: a block needs exactly the keys 'holidays' and 'workdays'")
        holidays = _holidays(block["holidays"], year, where)
        blocks[year] = (holidays, _workdays(block["workdays"], year, where))
    return blocks


def _holidays(items: Any, year: int, where: str) -> dict[date, str]:
    days: dict[date, str] = {}
    for item in _entries(items, {"name", "start"}, {"end"}, where, "holidays"):
        start = _date(item["start"], year, where)
        end = _date(item.get("end", start), year, where)
        if end < start:
            raise ValueError(
                f"{where}: holiday {item['name']!r} ends {end} before it starts {start}"
            )
        while start <= end:
            days[start] = item["name"]
            start += _ONE_DAY
    return days


def _workdays(items: Any, year: int, where: str) -> dict[date, str]:
    days: dict[date, str] = {}
    for item in _entries(items, {"name", "date"}, set(), where, "workdays"):
        day = _date(item["date"], year, where)
        # A weekday is a working day anyway: listing one is a typo in the data.
        if day.weekday() < 5:
            raise ValueError(
                f"{where}: working day {day} is a {day:%A}; only Sat/Sun can be listed"
            )
        days[day] = item["name"]
    return days


def _entries(
    items: Any, required: set[str], optional: set[str], where: str, key: str
) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise ValueError(f"{where}: '{key}' must be a list")
    for item in items:
        if not isinstance(item, dict) or not required <= item.keys() <= required | optional:
            keys = ", ".join(sorted(required)) + "".join(f" [, {k}]" for k in sorted(optional))
            raise ValueError(f"{where}: each '{key}' entry needs {keys}; got {item!r}")
        if not isinstance(item["name"], str) or not item["name"].strip():
            raise ValueError(f"{where}: '{key}' entry {item!r} needs a non-empty name")
    return items


def _date(value: Any, year: int, where: str) -> date:
    try:
        day = value if type(value) is date else date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None
    # The notice for a year may start 元旦 in the last days of December before it.
    if day.year != year and not (day.year == year - 1 and day.month == 12):
        raise ValueError(f"{where}: date {day} lies outside {year} (or the December before)")
    return day


def _build(blocks: dict[int, _Block], source: Path) -> Calendar:
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    for hols, works in blocks.values():
        holidays.update(hols)
        workdays.update(works)
    clash = sorted(holidays.keys() & workdays.keys())
    if clash:
        raise ValueError(f"{source}: {clash[0]} is listed both as a holiday and as a working day")
    return Calendar(frozenset(holidays), frozenset(workdays), frozenset(blocks))
