"""The declared table of cross-tenant effects (ARCHITECTURE §2). Nothing else crosses tenants.

Each crossing names who or what crosses, from which tenant to which, and how:
- ``read``: a role with national jurisdiction reads another tenant;
- ``act``: a national role acts in a province, and the service it calls confines it further
  (an institution only on units it holds an accepted engagement for);
- ``effect``: an event heard in one tenant acts in another, recorded in the chains of both;
- ``store``: a service keeps a provincial caller's records in the national tenant, because the
  registry they belong to is national (ARCHITECTURE §2).
The kernel's authorisation reads this table; services that carry an effect or a store name it.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.kernel.tenancy import NATIONAL

ANY = "*"


@dataclass(frozen=True)
class Crossing:
    name: str
    kind: str            # read | act | effect | store
    source: str          # NATIONAL, "province" (any provincial tenant) or ANY
    target: str
    role: str = ""       # for reads: the role that may read across
    event: str = ""      # for effects: the event that carries it
    service: str = ""    # for stores: the service that keeps the records
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
             note="a removal reaches every list the unit is on (and institutions' track records)"),
    Crossing("institution_works_where_engaged", "act", NATIONAL, "province", role="institution",
             note="an institution (national) works in a province only on units it holds an "
                  "accepted engagement for; the called service checks the engagement"),
    Crossing("institutions_registry_is_national", "store", "province", NATIONAL,
             service="institutions",
             note="filings, engagements and supervision of institutions are kept in the national "
                  "tenant; a province's calls see only what its filings cover"),
    Crossing("evaluation_score_to_institution_record", "effect", "province", NATIONAL,
             event="evaluation.scored",
             note="an institution's claimed score and its deviation reach its track record"),
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


def crossing_for_read(role: str, grant_tenant: str, tenant: str, *,
                      write: bool = False) -> Crossing | None:
    """The declared crossing that lets ``role`` (granted in ``grant_tenant``) into ``tenant``:
    to read, a ``read`` or an ``act`` crossing; to write, only an ``act`` crossing."""
    if grant_tenant == tenant:
        return None
    kinds = ("act",) if write else ("read", "act")
    for c in CROSSINGS:
        if (c.kind in kinds and c.role == role and c.source == grant_tenant
                and _matches(c.target, tenant)):
            return c
    return None


def crossing_for_store(service: str, tenant: str, target: str) -> Crossing | None:
    """The declared crossing that lets ``service`` keep ``tenant``'s records in ``target``."""
    for c in CROSSINGS:
        if (c.kind == "store" and c.service == service and _matches(c.source, tenant)
                and _matches(c.target, target)):
            return c
    return None
