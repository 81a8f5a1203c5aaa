"""The declared table of cross-tenant effects (ARCHITECTURE §2). Nothing else crosses tenants.

Each crossing names who or what crosses, from which tenant to which, and how: a ``read`` by a
role with national jurisdiction, or an ``effect`` carried by an event and recorded in the chains of
both tenants. The kernel's authorisation reads this table; services that carry an effect name it.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.kernel.tenancy import NATIONAL

ANY = "*"


@dataclass(frozen=True)
class Crossing:
    name: str
    kind: str            # read | effect
    source: str          # NATIONAL, "province" (any provincial tenant) or ANY
    target: str
    role: str = ""       # for reads: the role that may read across
    event: str = ""      # for effects: the event that carries it
    note: str = ""


CROSSINGS: tuple[Crossing, ...] = (
    Crossing("ministry_reads_provinces", "read", NATIONAL, ANY, role="ministry",
             note="MIIT reads every tenant; it writes only national decisions"),
    Crossing("operator_administers_tenants", "read", NATIONAL, ANY, role="operator",
             note="onboarding, keys, accounts; no business decisions"),
    Crossing("provincial_approval_to_national_list", "effect", "province", NATIONAL,
             event="application.approved", note="a national approval creates the national entry"),
    Crossing("national_factory_on_provincial_list", "effect", NATIONAL, "province",
             event="entry.added", note="a national green factory is on its provincial list"),
    Crossing("removal_reaches_every_list", "effect", ANY, ANY, event="entry.removed",
             note="a removal reaches every list the unit is on"),
)


def _matches(side: str, tenant: str) -> bool:
    return side == ANY or side == tenant or (side == "province" and tenant != NATIONAL)


def crossing_for_effect(event_type: str, source: str, target: str) -> Crossing | None:
    """The declared crossing that lets an event heard in ``source`` act in ``target``."""
    for c in CROSSINGS:
        if (c.kind == "effect" and c.event == event_type and _matches(c.source, source)
                and _matches(c.target, target)):
            return c
    return None


def crossing_for_read(role: str, grant_tenant: str, tenant: str) -> Crossing | None:
    """The declared crossing that lets ``role`` (granted in ``grant_tenant``) read ``tenant``."""
    if grant_tenant == tenant:
        return None
    for c in CROSSINGS:
        if c.kind == "read" and c.role == role and c.source == grant_tenant and c.target in (ANY, tenant):
            return c
    return None
