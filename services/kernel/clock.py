"""The one clock, in China Standard Time (Asia/Shanghai).

Production reads the system clock. A test moves the clock of every process of a stack at once by
writing the file named by ``GL_CLOCK_FILE``: ``{"now": "2025-10-11T09:00:00+08:00"}`` freezes it,
``{"offset_seconds": 86400}`` shifts it. Nothing else in the code calls ``datetime.now()``.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

CST = ZoneInfo("Asia/Shanghai")

_cache: tuple[tuple[int, int], dict] | None = None


def _override() -> dict:
    global _cache
    path = os.environ.get("GL_CLOCK_FILE")
    if not path:
        return {}
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return {}
    stamp = (st.st_ino, st.st_mtime_ns)  # set_clock replaces the file: a new inode every time
    if _cache is None or _cache[0] != stamp:
        _cache = (stamp, json.loads(Path(path).read_text() or "{}"))
    return _cache[1]


def now() -> datetime:
    o = _override()
    if "now" in o:
        frozen = datetime.fromisoformat(o["now"])
        return frozen.replace(tzinfo=CST) if frozen.tzinfo is None else frozen.astimezone(CST)
    return datetime.now(CST) + timedelta(seconds=o.get("offset_seconds", 0))


def today() -> date:
    return now().date()


def set_clock(path: Path, *, at: datetime | None = None, offset_seconds: float = 0) -> None:
    """Move the clock of every process reading ``path`` (tests)."""
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=CST)  # a moment without a zone is China time
    body = {"now": at.isoformat()} if at else {"offset_seconds": offset_seconds}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body))
    os.replace(tmp, path)


def parse_day(value: str, field: str) -> date:
    """A YYYY-MM-DD date from a caller, or a refusal naming the field."""
    from services.kernel.errors import invalid

    value = value.strip()
    try:
        if len(value) != 10 or value[4] != "-" or value[7] != "-":
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise invalid("date.malformed", field=field, value=value) from None
    if not 1949 <= day.year <= 2199:  # windows of years are added and taken away from it
        raise invalid("date.out_of_range", field=field, value=value)
    return day


def optional_day(value: str, field: str) -> date | None:
    return parse_day(value, field) if value.strip() else None


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later (or earlier); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def iso(moment: datetime) -> str:
    """A stored moment as shown to people and services: ISO 8601 in China Standard Time."""
    return moment.astimezone(CST).isoformat()
