"""A new draft: the engagement, independence, the scheme that fits the unit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.evaluation.facts import EngagementStanding, UnitFact
from services.evaluation.schemes import Scheme
from services.kernel.errors import Kind, Refusal, bounded, invalid
from services.kernel.uscc import parse_uscc

# --- a new draft ----------------------------------------------------------------------------------


def engagement_refusal(engagement: EngagementStanding | None, *,
                       assisted_by: str) -> Refusal | None:
    """An institution works only while its reports are accepted (不采信 stops it), and names no
    helper: "assisted by" belongs to a self-evaluation written with outside help."""
    if engagement is None:
        return None
    if not engagement.reports_accepted:
        return Refusal("evaluation.reports_not_accepted",
                       params={"institution": engagement.institution_uscc})
    if assisted_by:
        return Refusal("evaluation.assisted_by_self_only", Kind.INVALID)
    return None


def independence_refusal(engagement: EngagementStanding | None,
                         helpers: Iterable[str]) -> Refusal | None:
    """No institution evaluates a unit whose self-evaluation it, or one party with it (the same
    legal representative or parent: ``engagement.party``), helped write. ``helpers``: who the
    unit's self-evaluations say assisted them now; checked at create and again at submit."""
    if engagement is None:
        return None
    me = engagement.institution_uscc
    wrote = sorted({me, *engagement.party} & set(helpers), key=lambda u: (u != me, u))
    return Refusal("evaluation.wrote_self_evaluation", Kind.CONFLICT,
                   {"institution": me, "helper": wrote[0]}) if wrote else None


def scheme_refusal(scheme: Scheme, unit: UnitFact) -> Refusal | None:
    """A factory is evaluated under a factory scheme, a park under a park scheme."""
    if scheme.category == unit.kind:
        return None
    return Refusal("evaluation.scheme_category", Kind.INVALID,
                   {"scheme": scheme.id, "category": scheme.category, "kind": unit.kind})


@dataclass(frozen=True)
class NewDraft:
    """What a new draft is made of, decided before anything is stored."""

    unit: UnitFact
    scheme_id: str
    scheme_version: int                 # pinned: the draft is scored under this version only
    path: str
    institution_uscc: str
    engagement_id: str
    request_id: str                     # the caller's key: a retried create finds the draft
    assisted_by: str                    # USCC of whoever helped write a self-evaluation


def new_draft(*, unit: UnitFact, scheme: Scheme, engagement: EngagementStanding | None,
              request_id: str, assisted_by: str) -> NewDraft:
    """The draft to create; refuses a missing or over-long request id and a malformed USCC."""
    request_id = bounded(request_id, "request_id", 80)
    if not request_id:
        raise invalid("evaluation.request_id_required")
    return NewDraft(
        unit=unit, scheme_id=scheme.id, scheme_version=scheme.version,
        path="self" if engagement is None else "institution",
        institution_uscc=engagement.institution_uscc if engagement else "",
        engagement_id=engagement.id if engagement else "", request_id=request_id,
        assisted_by=parse_uscc(assisted_by).code if assisted_by else "")
