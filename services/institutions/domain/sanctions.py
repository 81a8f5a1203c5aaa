"""Filings (备案) and sanctions (处罚: 警告, 不采信, 除名): where an institution works and where
its reports are accepted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from services.institutions.domain.ruleset import NATIONAL, Rules
from services.kernel.errors import Kind, Refusal, invalid

# --- filings -------------------------------------------------------------------------------------


def filing_refusal(uscc: str, status: str) -> Refusal | None:
    """A province files only an institution the ministry has verified."""
    if status != "verified":
        return Refusal("institution.not_verified", Kind.PRECONDITION,
                       {"uscc": uscc, "status": status})
    return None


# --- sanctions in force --------------------------------------------------------------------------


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


def accepts_reports(status: str, sanctions: Iterable[SanctionTerm], province: str,
                    day: date) -> bool:
    """Whether an institution's reports are accepted in ``province`` on ``day``: verified, and
    no removal or 不采信 in force there."""
    return status == "verified" and reports_accepted(sanctions, province, day)


# --- deciding a sanction -----------------------------------------------------------------------------


def sanction_kind_refusal(kind: str, *, ministry_nationally: bool, r: Rules) -> Refusal | None:
    """An unknown kind is refused; a province (or the ministry acting in a province) may warn or
    stop accepting reports, only the ministry, nationally, removes from the directory."""
    if kind not in r.sanction_kinds:
        return Refusal("sanction.kind", Kind.INVALID,
                       {"value": kind, "allowed": "/".join(r.sanction_kinds)})
    allowed = r.sanction_kinds if ministry_nationally else r.province_may
    if kind not in allowed:
        return Refusal("sanction.not_yours", Kind.FORBIDDEN,
                       {"value": kind, "allowed": "/".join(allowed)})
    return None


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


def checked_period(kind: str, starts_on: date, ends_on: date | None, r: Rules) -> date | None:
    """``sanction_period`` for a caller: a 不采信 without a last day, ending before it starts or
    longer than the rules allow is refused (``sanction.period``)."""
    try:
        return sanction_period(kind, starts_on, ends_on, r)
    except ValueError as exc:
        raise invalid("sanction.period", problem=str(exc),
                      max_days=r.max_not_accepted_days) from None


def sanction_scope_refusal(uscc: str, tenant: str, *, filed_here: bool) -> Refusal | None:
    """A province sanctions only institutions filed with it; of the others it knows nothing."""
    if tenant != NATIONAL and not filed_here:
        return Refusal("institution.not_found", Kind.NOT_FOUND, {"uscc": uscc})
    return None


def status_after_sanction(status: str, kind: str) -> str:
    """A removal (除名) takes the institution out of the directory; the other kinds leave it."""
    return "removed" if kind == "removal" else status
