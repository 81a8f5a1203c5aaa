"""Engagements (委托): who may engage which institution for which unit, independence (独立性),
the national cap per legal representative (Art. 20), cancelling, and who sees an engagement."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from services.institutions.domain.profiles import Finding, StaffMember
from services.institutions.domain.ruleset import Rules
from services.institutions.domain.sanctions import SanctionTerm, reports_accepted
from services.kernel.errors import Kind, Refusal
from services.kernel.identity import Grant


@dataclass(frozen=True)
class UnitFact:
    """The unit as the registry gave it, asked on the enterprise's behalf (``GetUnit`` with the
    ownership key). The key serves the related-party comparison only; it is never kept."""

    id: str
    uscc: str
    site: str = ""
    name: str = ""
    kind: str = ""
    location: str = ""
    city: str = ""
    tenant: str = ""
    industry: str = ""
    parent_uscc: str = ""
    legal_rep_key: str = ""
    ownership_declared: bool = False

    def kept(self) -> dict[str, Any]:
        """What an engagement keeps of the unit (``unit_json``): all but the key."""
        return {k: v for k, v in asdict(self).items() if k != "legal_rep_key"}


@dataclass(frozen=True)
class Party:
    """Who an institution or a unit is, as far as related parties go."""

    uscc: str
    parent_uscc: str = ""
    legal_rep_key: str = ""


@dataclass(frozen=True)
class Candidate:
    """An institution as the engagement rules see it."""

    uscc: str
    status: str
    parent_uscc: str
    legal_rep_key: str
    scope_categories: tuple[str, ...]
    scope_industries: tuple[str, ...]
    staff: tuple[StaffMember, ...]
    party: tuple[str, ...] = ()         # who is one party with it (``one_party``)


def same_party(a: Party, b: Party) -> bool:
    """Whether two institutions (or an institution and a company) are one party for the
    self-evaluation rule: the same USCC, the same legal representative, the same parent company
    or controlling shareholder, or one the other's parent. Empty keys never match."""
    return (a.uscc == b.uscc
            or bool(a.legal_rep_key and a.legal_rep_key == b.legal_rep_key)
            or bool(a.parent_uscc and a.parent_uscc == b.parent_uscc)
            or bool(a.parent_uscc and a.parent_uscc == b.uscc)
            or bool(b.parent_uscc and b.parent_uscc == a.uscc))


def one_party(institution: Party, others: Iterable[Party]) -> tuple[str, ...]:
    """The USCCs that are one party with ``institution`` (sorted): itself, its parent company,
    and each of ``others`` (the institutions on the platform that may be related) that is
    ``same_party`` with it. Whoever of them helped write a unit's self-evaluation makes the
    institution not independent of that unit."""
    party = {institution.uscc, *([institution.parent_uscc] if institution.parent_uscc else [])}
    party.update(o.uscc for o in others if same_party(institution, o))
    return tuple(sorted(party))


def independence(institution: Party, staff: Iterable[StaffMember], unit: Party,
                 assisted_by: Iterable[str], party: Iterable[str] = ()) -> Finding | None:
    """Why the institution may not evaluate the unit, or None. It may not evaluate a unit whose
    self-evaluation it helped write — or an institution that is one party with it (``party``:
    ``one_party``) —, nor a related party: itself, the same legal representative, the same
    parent company or controlling shareholder, or a unit employing one of its evaluators."""
    helpers = set(assisted_by)
    if institution.uscc in helpers:
        return Finding("engagement.wrote_self_evaluation", {"institution": institution.uscc})
    related = sorted(helpers & (set(party) - {institution.uscc}))
    if related:
        return Finding("engagement.party_wrote_self_evaluation",
                       {"institution": institution.uscc, "helper": related[0]})
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


# --- engaging ---------------------------------------------------------------------------------------


def level_refusal(level: str, r: Rules) -> Refusal | None:
    if level not in r.levels:
        return Refusal("engagement.level", Kind.INVALID, {"value": level,
                                                          "allowed": "/".join(r.levels)})
    return None


def ownership_refusal(unit: UnitFact) -> Refusal | None:
    """Related parties cannot be checked before the enterprise declares the unit's ownership."""
    if not unit.ownership_declared:
        return Refusal("engagement.ownership_undeclared", Kind.PRECONDITION, {"unit_id": unit.id})
    return None


def engagement_refusal(inst: Candidate, unit: UnitFact, *, province: str, filed: bool,
                       sanctions: Iterable[SanctionTerm], assisted_by: Iterable[str],
                       already_engaged: bool, today: date) -> Refusal | None:
    """Why the institution may not be engaged for the unit in ``province``, in this order: not
    verified, not filed there (``filed``: an active filing), reports not accepted there
    (removal or 不采信), unit outside its scope or industries, not independent of the unit, or
    already engaged on it. The cap is decided after (``cap_refusal``), under its lock."""
    code = inst.uscc
    if inst.status != "verified":
        return Refusal("institution.not_verified", Kind.PRECONDITION,
                       {"uscc": code, "status": inst.status})
    if not filed:
        return Refusal("engagement.not_filed", Kind.PRECONDITION,
                       {"uscc": code, "province": province})
    if not reports_accepted(sanctions, province, today):
        return Refusal("engagement.sanctioned", Kind.PRECONDITION, {"uscc": code})
    if unit.kind not in inst.scope_categories:
        return Refusal("engagement.out_of_scope", Kind.PRECONDITION,
                       {"uscc": code, "category": unit.kind})
    division = (unit.industry or "")[:2]
    if division and inst.scope_industries and division not in inst.scope_industries:
        return Refusal("engagement.out_of_industry", Kind.PRECONDITION,
                       {"uscc": code, "division": division})
    finding = independence(Party(inst.uscc, inst.parent_uscc, inst.legal_rep_key), inst.staff,
                           Party(unit.uscc, unit.parent_uscc, unit.legal_rep_key), assisted_by,
                           inst.party)
    if finding is not None:
        return Refusal(finding.code, Kind.CONFLICT, finding.params)
    if already_engaged:
        return Refusal("engagement.already_active", Kind.CONFLICT,
                       {"uscc": code, "unit_id": unit.id})
    return None


def counts_toward_cap(level: str, r: Rules) -> bool:
    """Only national-level projects count toward the legal representative's cap."""
    return level == r.counted_level


def cap_refusal(used: int, year: int, r: Rules) -> Refusal | None:
    """The legal representative has taken ``used`` national projects in ``year``, across all of
    its institutions: one more only while under the cap."""
    if used >= r.cap:
        return Refusal("engagement.cap_reached", Kind.CONFLICT,
                       {"used": used, "cap": r.cap, "year": year})
    return None


def released(used: int) -> int:
    """The counter after a cancelled engagement gives its place back."""
    return max(0, used - 1)


# --- cancelling and acting on an engagement ---------------------------------------------------------


def cancel_refusal(engagement_id: str, status: str, *, submitted: bool) -> Refusal | None:
    """An accepted engagement may be cancelled until its evaluation is submitted (a cancelled one
    is returned as it is, before this rule)."""
    if status != "accepted" or submitted:
        return Refusal("engagement.not_cancellable", Kind.PRECONDITION,
                       {"engagement_id": engagement_id,
                        "status": "submitted" if submitted else status})
    return None


def active_refusal(engagement_id: str, status: str) -> Refusal | None:
    """An institution acts (evaluates, reports) only under an accepted engagement."""
    if status != "accepted":
        return Refusal("engagement.not_active", Kind.PRECONDITION,
                       {"engagement_id": engagement_id, "status": status})
    return None


@dataclass(frozen=True)
class ScoreEffect:
    """What a score heard from the evaluation service does to its engagement."""

    complete: bool          # record the evaluation, scores and deviation
    retake_place: bool      # the engagement had been cancelled: its place is taken again


def score_effect(status: str, counted: bool) -> ScoreEffect:
    """One evaluation per engagement: a completed one is left alone. An engagement cancelled
    meanwhile was in fact carried out: it is completed and, if it counted, counted again."""
    if status == "completed":
        return ScoreEffect(complete=False, retake_place=False)
    return ScoreEffect(complete=True, retake_place=status == "cancelled" and counted)


# --- who sees an engagement ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EngagementParties:
    institution_uscc: str
    unit_tenant: str
    unit_location: str
    unit_uscc: str


def engagement_access_refusal(grants: Sequence[Grant], tenant: str, e: EngagementParties, *,
                              write: bool = False) -> Refusal | None:
    """Who may see an engagement: the ministry; the institution; and in the unit's tenant its
    province, its city and its enterprise. All of them but the city may also cancel it.
    ``grants``: the caller's grants usable in ``tenant``."""
    for g in grants:
        if g.role == "ministry" or (g.role == "institution" and g.org == e.institution_uscc):
            return None
        if tenant == e.unit_tenant and (
                g.role == "province"
                or (g.role == "city" and not write and g.covers_location(e.unit_location))
                or (g.role == "enterprise" and g.org == e.unit_uscc)):
            return None
    return Refusal("auth.not_your_unit", Kind.FORBIDDEN)
