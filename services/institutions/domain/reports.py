"""Annual work reports (年度工作情况) and the public track record (SPEC §9)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from services.institutions.domain.ruleset import Rules
from services.kernel.errors import Kind, Refusal, bounded, invalid

# --- work reports --------------------------------------------------------------------------------


def work_report_due(year: int, r: Rules) -> date:
    """The annual work report on ``year`` is due by this day of the next year (24:00 CST)."""
    return date(year + 1, *r.work_report_due)


def is_late(today: date, due: date | None) -> bool:
    """Past the due day (a report first sent now is kept and marked late)."""
    return due is not None and today > due


@dataclass(frozen=True)
class WorkReportDraft:
    """A work report as sent, checked: the year reported on, the summary, the institution's own
    count of projects and its further content (a JSON object, re-encoded)."""

    year: int
    summary: str
    projects: int
    content_json: str

    @classmethod
    def parse(cls, *, year: int, summary: str, projects: int, content_json: str,
              today: date) -> WorkReportDraft:
        """The draft, or the first field refused (``DomainError``)."""
        if not 2017 <= year <= today.year:
            raise invalid("work_report.year", value=year, max=today.year)
        summary = bounded(summary, "summary", 5000)
        if not summary:
            raise invalid("field.required", field="summary")
        if projects < 0:
            raise invalid("work_report.projects", value=projects)
        try:
            content = json.loads(content_json or "{}")
        except json.JSONDecodeError:
            raise invalid("work_report.content_json") from None
        if not isinstance(content, dict) or len(content_json) > 100_000:
            raise invalid("work_report.content_json")
        return cls(year=year, summary=summary, projects=projects,
                   content_json=json.dumps(content, ensure_ascii=False))


def work_report_refusal(*, exists: bool, year: int, due: date, today: date) -> Refusal | None:
    """A report may be corrected until its due day; after it, one already sent is closed (one
    first sent after it is accepted, late)."""
    if exists and is_late(today, due):
        return Refusal("work_report.closed", Kind.CONFLICT, {"year": year, "due": due.isoformat()})
    return None


def overdue(verified: Iterable[str], sent: Iterable[str]) -> list[str]:
    """The verified institutions that have not reported (asked once the due day is past)."""
    done = set(sent)
    return [u for u in verified if u not in done]


# --- the track record ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    year: int
    level: str
    unit_key: str                # tenant/unit id
    started_on: date
    deviation: Decimal | None    # claimed − platform, once scored


def _pct(part: int, whole: int) -> str:
    if not whole:
        return "0"
    return str((Decimal(part) * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def track_record(projects: Sequence[Project], removals: dict[str, date]) -> dict:
    """Projects per year and level, deviation of claimed from platform scores, and the share of
    its units removed from a list after it first evaluated them (``removals``: unit → day)."""
    by = Counter((p.year, p.level) for p in projects)
    deviations = [abs(p.deviation) for p in projects if p.deviation is not None]
    first: dict[str, date] = {}
    for p in projects:
        first[p.unit_key] = min(first.get(p.unit_key, p.started_on), p.started_on)
    removed = sum(1 for unit, day in first.items() if unit in removals and removals[unit] >= day)
    mean = (sum(deviations, Decimal(0)) / len(deviations)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP) if deviations else None
    return {
        "projects": [{"year": y, "level": lv, "projects": n} for (y, lv), n in sorted(by.items())],
        "scored": len(deviations),
        "mean_abs_deviation": "" if mean is None else str(mean),
        "max_abs_deviation": str(max(deviations)) if deviations else "",
        "units_removed_later": removed,
        "removed_share": _pct(removed, len(first)),
    }


def removal_day(known: date | None, heard: date) -> date:
    """A unit removed more than once counts from its earliest removal."""
    return heard if known is None else min(known, heard)
