"""Registry rules (SPEC §3, §5): pure, no I/O beyond reading the rule files once.

Units of three kinds, their validation, the veto check over compliance records, and the
validity of cultivation targets (培育对象).
"""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass, field
from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import yaml

from services.kernel.clock import add_years
from services.kernel.errors import DomainError, Kind, bounded, invalid
from services.kernel.tenancy import prefecture_of, reporting_tenant, validate_location
from services.kernel.uscc import validate_uscc

DATA = Path(__file__).parent / "data"
KINDS = ("factory", "park", "supply_chain")
LEVELS = ("municipal", "provincial", "national")


# --- rules as data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class KindRule:
    condition: int
    mode: str            # event | state | stoppage
    zh: str
    en: str
    min_months: int = 0


@dataclass(frozen=True)
class VetoRules:
    window_years: int
    conditions: dict[int, dict[str, str]]
    kinds: dict[str, KindRule]


@lru_cache(maxsize=1)
def veto_rules() -> VetoRules:
    raw = yaml.safe_load((DATA / "veto.yaml").read_text(encoding="utf-8"))
    kinds = {name: KindRule(**spec) for name, spec in raw["kinds"].items()}
    conditions = {int(k): v for k, v in raw["conditions"].items()}
    for name, rule in kinds.items():
        if rule.condition not in conditions or rule.mode not in ("event", "state", "stoppage"):
            raise ValueError(f"veto.yaml: kind {name!r} has a bad condition or mode")
    return VetoRules(int(raw["window_years"]), conditions, kinds)


@lru_cache(maxsize=1)
def rules() -> dict:
    return yaml.safe_load((DATA / "registry.yaml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def industry_divisions() -> dict[str, dict]:
    """GB/T 4754-2017 divisions by 2-digit code, with their section letter."""
    raw = yaml.safe_load((DATA / "gbt4754.yaml").read_text(encoding="utf-8"))
    out: dict[str, dict] = {}
    for div in raw["divisions"]:
        out[str(div["code"]).zfill(2)] = div
    return out


# --- units ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewUnit:
    kind: str
    uscc: str
    site: str
    name: str
    location: str
    city: str
    industry: str
    uscc_checksum_override: bool
    uscc_override_reason: str
    park_level: str = ""
    industrial_value_added_share: float | None = None
    park_boundary: str = ""


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise invalid("unit.name_required")
    if len(name) > rules()["name_max_length"]:
        raise invalid("unit.name_too_long", max=rules()["name_max_length"])
    return name


def check_industry(kind: str, industry: str) -> str:
    """4-digit GB/T 4754 class; a factory must be manufacturing (section C, divisions 13–43).

    The shipped data knows sections and divisions, not every class: the division is checked.
    """
    industry = industry.strip()
    if not industry and kind == "park":
        return ""
    if not re.fullmatch(r"\d{4}", industry):
        raise invalid("unit.industry_malformed", value=industry)
    division = industry_divisions().get(industry[:2])
    if division is None:
        raise invalid("unit.industry_unknown", value=industry)
    if kind == "factory" and not 13 <= int(industry[:2]) <= 43:
        raise invalid("unit.not_manufacturing", value=industry, division=division["name_zh"])
    return industry


def new_unit(
    *,
    tenant: str,
    kind: str,
    uscc: str,
    site: str,
    name: str,
    location: str,
    industry: str,
    uscc_override_reason: str = "",
    park_level: str = "",
    industrial_value_added_share: float | None = None,
    park_boundary: str = "",
) -> NewUnit:
    """Validate a registration in ``tenant``; every refusal names what was wrong."""
    if kind not in KINDS:
        raise invalid("unit.kind_unknown", value=kind, allowed="/".join(KINDS))
    check = validate_uscc(uscc, override_reason=uscc_override_reason or None)
    location = validate_location(location)
    owner = reporting_tenant(location)
    if owner != tenant:
        raise invalid("unit.location_other_tenant", location=location, tenant=tenant, owner=owner)
    if kind == "park":
        if park_level not in rules()["park_levels"]:
            raise invalid("unit.park_level", value=park_level,
                          allowed="/".join(rules()["park_levels"]))
        if industrial_value_added_share is not None and not 0 <= industrial_value_added_share <= 100:
            raise invalid("unit.share_range", value=industrial_value_added_share)
    elif park_level or industrial_value_added_share is not None or park_boundary:
        raise invalid("unit.park_fields_on_non_park", kind=kind)
    return NewUnit(
        kind=kind,
        uscc=check.code,
        site=bounded(" ".join(site.split()), "site", 200),
        name=check_name(name),
        location=location,
        city=prefecture_of(location),
        industry=check_industry(kind, industry),
        uscc_checksum_override=not check.checksum_ok,
        uscc_override_reason=(bounded(uscc_override_reason, "uscc_override_reason", 500)
                              if not check.checksum_ok else ""),
        park_level=park_level,
        industrial_value_added_share=industrial_value_added_share,
        park_boundary=bounded(park_boundary, "park_boundary", 2000),
    )


# --- compliance records and the veto check (SPEC §5) -----------------------------------------


def fingerprint(kind: str, occurred_on: date, reference: str, description: str) -> str:
    """What makes two compliance records the same fact (their end date may come later)."""
    return hashlib.sha256("\x1f".join((kind, occurred_on.isoformat(), reference, description))
                          .encode()).hexdigest()


@dataclass(frozen=True)
class Record:
    id: str
    kind: str
    occurred_on: date
    ended_on: date | None = None


def check_record(kind: str, occurred_on: date, ended_on: date | None) -> KindRule:
    rule = veto_rules().kinds.get(kind)
    if rule is None:
        raise invalid("compliance.kind_unknown", value=kind,
                      allowed=", ".join(sorted(veto_rules().kinds)))
    if ended_on is not None and ended_on < occurred_on:
        raise invalid("compliance.ended_before_start", occurred_on=occurred_on.isoformat(),
                      ended_on=ended_on.isoformat())
    return rule


def months_between(start: date, end: date) -> int:
    """Whole months from start to end (a stop from 2024-01-10 to 2025-01-10 is 12 months)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    # With no matching day in the end month, its last day completes the month (民法典 art. 202).
    month_end = end.day == calendar.monthrange(end.year, end.month)[1]
    return months - (1 if end.day < start.day and not month_end else 0)


def record_applies(rule: KindRule, record: Record, on: date, window_from: date) -> bool:
    if record.occurred_on > on:
        return False  # a record of the future does not veto the past
    if rule.mode == "event":
        return record.occurred_on >= window_from
    if rule.mode == "state":
        return record.ended_on is None or record.ended_on > on
    # stoppage: the stop, up to the day checked, must last min_months and reach into the window
    end = min(record.ended_on or on, on)
    return end >= window_from and months_between(record.occurred_on, end) >= rule.min_months


@dataclass
class VetoOutcome:
    on: date
    window_from: date
    triggered: dict[int, list[Record]] = field(default_factory=dict)

    @property
    def vetoed(self) -> bool:
        return bool(self.triggered)


def check_veto(records: list[Record], on: date) -> VetoOutcome:
    """Which of the six conditions apply on ``on``, and the records that trigger each."""
    vr = veto_rules()
    outcome = VetoOutcome(on=on, window_from=add_years(on, -vr.window_years))
    for record in sorted(records, key=lambda r: (r.occurred_on, r.id)):
        rule = vr.kinds.get(record.kind)
        if rule and record_applies(rule, record, on, outcome.window_from):
            outcome.triggered.setdefault(rule.condition, []).append(record)
    outcome.triggered = dict(sorted(outcome.triggered.items()))
    return outcome


def condition_title(condition: int, lang: str) -> str:
    spec = veto_rules().conditions[condition]
    return spec["en"] if lang == "en" else spec["zh"]


def condition_code(condition: int) -> str:
    return veto_rules().conditions[condition]["code"]


# --- cultivation targets ------------------------------------------------------------------------


def target_validity(valid_from: date) -> date:
    """Last day a target designated on ``valid_from`` is valid: 3 years (configurable), so a
    target from 2024-03-01 is valid through 2027-02-28."""
    return add_years(valid_from, int(rules()["target_validity_years"])) - timedelta(days=1)


def highest_level(levels: Iterable[str]) -> str:
    return max((lv for lv in levels if lv in LEVELS), key=LEVELS.index, default="")


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise DomainError("unit.level_unknown", Kind.INVALID, value=level, allowed="/".join(LEVELS))
    return level
