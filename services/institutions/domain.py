"""Rules for third-party evaluation institutions (第三方评价机构, SPEC §9), free of I/O.

Staffing and experience rules, independence (wrote the self-evaluation, related parties), the
national cap per legal representative, sanctions in force, work-report due days and the track
record. Figures come from ``data/institutions.yaml``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

import yaml

NATIONAL = "000000"


@dataclass(frozen=True)
class Rules:
    titles: tuple[str, ...]
    min_full_time_qualified: int
    min_senior_share: Decimal
    experience_years: int
    experience_min_items: int
    categories: tuple[str, ...]
    levels: tuple[str, ...]
    cap: int
    counted_level: str
    work_report_due: tuple[int, int]
    sanction_kinds: tuple[str, ...]
    province_may: tuple[str, ...]
    max_not_accepted_days: int


def parse_rules(data: dict) -> Rules:
    month, day = (int(x) for x in data["work_report"]["due_month_day"].split("-"))
    date(2024, month, day)  # a real day, or a ValueError at start
    rules = Rules(
        titles=tuple(data["staff"]["titles"]),
        min_full_time_qualified=int(data["staff"]["min_full_time_qualified"]),
        min_senior_share=Decimal(str(data["staff"]["min_senior_share"])),
        experience_years=int(data["experience"]["years"]),
        experience_min_items=int(data["experience"]["min_items"]),
        categories=tuple(data["categories"]),
        levels=tuple(data["levels"]),
        cap=int(data["cap"]["per_legal_rep_per_year"]),
        counted_level=data["cap"]["counted_level"],
        work_report_due=(month, day),
        sanction_kinds=tuple(data["sanctions"]["kinds"]),
        province_may=tuple(data["sanctions"]["province_may"]),
        max_not_accepted_days=int(data["sanctions"]["max_not_accepted_days"]),
    )
    if rules.counted_level not in rules.levels or not set(rules.province_may) <= set(rules.sanction_kinds):
        raise ValueError("institutions.yaml: counted_level or province_may names an unknown value")
    return rules


@lru_cache(maxsize=1)
def rules() -> Rules:
    return parse_rules(yaml.safe_load(
        (Path(__file__).parent / "data" / "institutions.yaml").read_text("utf-8")))


# --- the registry: staffing and experience ---------------------------------------------------------


@dataclass(frozen=True)
class StaffMember:
    name: str
    title: str
    full_time: bool
    field: str = ""
    also_employed_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """A rule not met: a message code and its parameters."""

    code: str
    params: dict = field(default_factory=dict)


def staff_counts(staff: Iterable[StaffMember], r: Rules) -> tuple[int, int]:
    """(full-time evaluators with intermediate or higher titles, of whom senior)."""
    qualified = [s for s in staff if s.full_time and s.title in r.titles[1:]]
    return len(qualified), sum(1 for s in qualified if s.title == r.titles[-1])


def findings(staff: Sequence[StaffMember], experience_years: Iterable[int], today: date,
             r: Rules) -> list[Finding]:
    """The SPEC §9 rules an institution does not meet; empty when it may be verified."""
    out = []
    qualified, senior = staff_counts(staff, r)
    if qualified < r.min_full_time_qualified:
        out.append(Finding("institution.rule_staff", {"have": qualified,
                                                      "need": r.min_full_time_qualified}))
    if qualified and Decimal(senior) < r.min_senior_share * qualified:
        out.append(Finding("institution.rule_senior", {
            "senior": senior, "qualified": qualified,
            "share": f"{(r.min_senior_share * 100).normalize():f}"}))
    recent = [y for y in experience_years if today.year - r.experience_years < y <= today.year]
    if len(recent) < r.experience_min_items:
        out.append(Finding("institution.rule_experience", {"years": r.experience_years,
                                                           "need": r.experience_min_items}))
    return out


# --- independence (独立性) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """Who an institution or a unit is, as far as related parties go."""

    uscc: str
    parent_uscc: str = ""
    legal_rep_key: str = ""


def independence(institution: Party, staff: Iterable[StaffMember], unit: Party,
                 assisted_by: Iterable[str]) -> Finding | None:
    """Why the institution may not evaluate the unit, or None. It may not evaluate a unit whose
    self-evaluation it helped write, nor a related party: itself, the same legal representative,
    the same parent company or controlling shareholder, or a unit employing one of its evaluators."""
    if institution.uscc in set(assisted_by):
        return Finding("engagement.wrote_self_evaluation", {"institution": institution.uscc})
    if institution.uscc == unit.uscc:
        return Finding("engagement.related_self", {})
    if institution.legal_rep_key and institution.legal_rep_key == unit.legal_rep_key:
        return Finding("engagement.related_legal_rep", {})
    if (unit.parent_uscc == institution.uscc or institution.parent_uscc == unit.uscc
            or (unit.parent_uscc and unit.parent_uscc == institution.parent_uscc)):
        return Finding("engagement.related_group",
                       {"parent": unit.parent_uscc or institution.parent_uscc})
    employed = sum(1 for s in staff if unit.uscc in s.also_employed_by)
    if employed:
        return Finding("engagement.related_employs", {"count": employed})
    return None


# --- sanctions (处罚) ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SanctionTerm:
    kind: str
    scope: str            # 000000 (national) or a province
    starts_on: date
    ends_on: date | None


def in_force(s: SanctionTerm, day: date) -> bool:
    """A removal lasts; a warning is a record of a day; 不采信 runs from its first to its last day."""
    if s.kind == "removal":
        return s.starts_on <= day
    if s.kind == "warning":
        return s.starts_on == day
    return s.starts_on <= day and (s.ends_on is None or day <= s.ends_on)


def reports_accepted(sanctions: Iterable[SanctionTerm], province: str, day: date) -> bool:
    """False while a removal or a 不采信 covers ``province`` (national sanctions cover all)."""
    return not any(
        s.kind in ("removal", "not_accepted") and s.scope in (NATIONAL, province) and in_force(s, day)
        for s in sanctions)


def sanction_period(kind: str, starts_on: date, ends_on: date | None, r: Rules) -> date | None:
    """Check a sanction's period; the last day of a 不采信, or None for the other kinds."""
    if kind not in r.sanction_kinds:
        raise ValueError(kind)
    if kind != "not_accepted":
        return None
    if ends_on is None or ends_on < starts_on:
        raise ValueError("period")
    if (ends_on - starts_on) > timedelta(days=r.max_not_accepted_days):
        raise ValueError("too_long")
    return ends_on


# --- work reports and the track record ---------------------------------------------------------------


def work_report_due(year: int, r: Rules) -> date:
    """The annual work report on ``year`` is due by this day of the next year (24:00 CST)."""
    return date(year + 1, *r.work_report_due)


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
