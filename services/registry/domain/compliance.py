"""Compliance records and the veto check (SPEC §5): the six conditions that bar a unit, over
the records of the unit, the units merged into it and, for a park, its members."""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass, field, replace
from datetime import date

from services.kernel.clock import add_years
from services.kernel.errors import Kind, Refusal, invalid
from services.registry.domain.rules import KindRule, veto_rules


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


@dataclass(frozen=True, kw_only=True)
class Fact:
    """A compliance fact as a caller (or listing's entry.removed) states it, before it meets
    a unit."""

    kind: str
    occurred_on: date
    ended_on: date | None
    description: str
    source: str
    reference: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.kind, self.occurred_on, self.reference, self.description)


def check_record(kind: str, occurred_on: date, ended_on: date | None) -> KindRule:
    rule = veto_rules().kinds.get(kind)
    if rule is None:
        raise invalid("compliance.kind_unknown", value=kind,
                      allowed=", ".join(sorted(veto_rules().kinds)))
    if ended_on is not None and ended_on < occurred_on:
        raise invalid("compliance.ended_before_start", occurred_on=occurred_on.isoformat(),
                      ended_on=ended_on.isoformat())
    return rule


def in_the_future(today: date, **days: date | None) -> Refusal | None:
    """A compliance record states what happened: a day after ``today`` (the platform clock's)
    is refused, naming the first such field (``occurred_on``, ``ended_on``). An end still to
    come is recorded when it comes (EndComplianceRecord)."""
    for name, day in days.items():
        if day is not None and day > today:
            return Refusal("compliance.in_the_future", Kind.INVALID,
                           {"field": name, "value": day.isoformat(), "today": today.isoformat()})
    return None


def end_record(record: Record, ended_on: date) -> Record | None:
    """The record ended on ``ended_on`` (off the abnormal-operations list, rectified, production
    resumed); None when it already ended that day (a retry changes nothing)."""
    if record.ended_on == ended_on:
        return None
    check_record(record.kind, record.occurred_on, ended_on)
    return replace(record, ended_on=ended_on)


def restated(record: Record, fact: Fact) -> Record | None:
    """The same fact stated again (a retry, a re-import): if it now says when it ended, the
    record ends then; otherwise nothing changes."""
    if fact.ended_on is None:
        return None
    return end_record(record, fact.ended_on)


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


# What of another unit's record a redacted reader does not see: which record vetoes, and why in
# kind and date, but not the description, the document reference, or who recorded it.
WITHHELD = {"description": "", "reference": "", "recorded_by": ""}


def redacts_others(*, engaged: bool, org: str) -> bool:
    """Whether the veto check hides the details of records on units other than the one asked
    about: yes for an enterprise (confined to its ``org``) and for an institution let in by an
    engagement; officials see everything in their reach."""
    return engaged or bool(org)
