"""Who may do what in the register (SPEC §1, §3), beyond what the kernel's ``authorize`` checks:
the roles of each use, and when an institution is let in by the institutions service's word."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from services.kernel.errors import Kind, Refusal

READ = ("enterprise", "city", "province", "ministry")
WRITE = ("enterprise", "city", "province")
OFFICIAL = ("city", "province")

# The institutions service's refusal that answers "does it hold an engagement?" with no.
NO_ENGAGEMENT = "engagement.not_found"


def must_be_vouched(roles: Collection[str]) -> bool:
    """An institution (and nobody else with a role here) reads a unit's veto check only when the
    institutions service vouches for an accepted engagement (委托) on it; a role that may read
    the register needs no such word."""
    return "institution" in roles and not set(roles) & set(READ)


def answers_engagement(code: str) -> bool:
    """Whether a refusal of the institutions service answers the question (no engagement), as
    opposed to failing to answer it (unavailable, forbidden …), which stands as it is."""
    return code == NO_ENGAGEMENT


@dataclass(frozen=True)
class Engagement:
    """The institutions service's answer, on an institution's behalf, about one unit:
    ``refused`` is the code it refused with, "" when it holds an accepted engagement."""

    unit_id: str
    refused: str = ""


def engaged(answer: Engagement | None) -> bool | Refusal:
    """Whether the caller reads as an engaged institution: no answer (nobody asked, the caller's
    roles decide) is not engaged; a refusal is ``unit.not_engaged`` (403)."""
    if answer is None:
        return False
    if answer.refused:
        return Refusal("unit.not_engaged", Kind.FORBIDDEN, {"unit_id": answer.unit_id})
    return True
