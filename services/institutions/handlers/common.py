"""What every institutions use case shares: the national tenant its records are kept in, the
national chain its events go to, the caller's scope, and the loaders.

Every record lives in tenant 000000 (ARCHITECTURE §2). A call names the tenant where the caller
acts: the ministry and institutions in 000000; a province, a city or an enterprise in its own
tenant, where they see only what concerns it (institutions filed with it, engagements of its
units). Keeping a province's records nationally is the declared crossing
``institutions_registry_is_national``.
"""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message
from sqlmodel import Session

from services.institutions import domain, store
from services.institutions.domain import NATIONAL
from services.institutions.store import Institution, Sanction
from services.kernel.crossings import crossing_for_store
from services.kernel.errors import found, refuse
from services.kernel.identity import Grant, Identity, authorize
from services.kernel.runtime import Runtime

SERVICE = "institutions"


def national_store(tenant: str) -> str:
    """The tenant records are kept in: always the national one, by a declared crossing."""
    refuse(domain.crossing_refusal(
        tenant, declared=crossing_for_store(SERVICE, tenant, NATIONAL) is not None))
    return NATIONAL


def record(rt: Runtime, s: Session, body: Message, reason: str = "") -> None:
    """Every event of this service goes into the national chain, where its records are."""
    rt.record(s, body, reason, tenant=NATIONAL)


def load_institution(s: Session, uscc: str, *, for_update: bool = False) -> Institution:
    code = uscc.strip().upper()
    return found(store.institution(session=s, uscc=code, for_update=for_update),
                 "institution.not_found", uscc=code)


def terms(rows: Iterable[Sanction]) -> list[domain.SanctionTerm]:
    return [domain.SanctionTerm(x.kind, x.scope, x.starts_on, x.ends_on) for x in rows]


def own(ident: Identity, tenant: str, uscc: str) -> bool:
    """Whether the caller acts for the institution ``uscc`` here."""
    return any(g.role == "institution" and g.org == uscc for g in ident.in_tenant(tenant))


def scope_of(s: Session, ident: Identity, tenant: str,
             roles: tuple[str, ...]) -> tuple[list[str] | None, Grant]:
    """The institutions the caller may see here (None: all) and the grant it sees them with: the
    ministry all (in a province, those filed there); a province and its cities those filed with
    it; an institution only itself, wherever it calls from."""
    grant = authorize(ident, tenant, roles)
    national_store(tenant)
    if grant.role == "institution":
        return sorted({g.org for g in ident.in_tenant(tenant) if g.role == "institution"}), grant
    if tenant == NATIONAL:
        return None, grant
    return [f.uscc for f in store.filings(session=s, province=tenant)], grant


def visible(s: Session, ident: Identity, tenant: str,
            uscc: str) -> tuple[Institution, bool, list[str] | None]:
    """The institution, if the caller may see it; whether its staff list may be shown (to the
    ministry, the filing province and the institution itself; not to cities); and what else the
    caller may see (``scope_of``)."""
    scope, grant = scope_of(s, ident, tenant, ("ministry", "institution", "province", "city"))
    inst = load_institution(s, uscc)
    refuse(domain.visibility_refusal(inst.uscc, scope, grant.role))
    return inst, domain.shows_staff(grant.role), scope
