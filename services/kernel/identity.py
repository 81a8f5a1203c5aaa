"""The caller's identity and jurisdictions (SPEC §1), carried across the wire as the gateway-signed
internal token and checked again in every service (defence in depth, ARCHITECTURE §7).

A person may hold several roles, each bound to a jurisdiction: a ``Grant`` names the role, the
tenant, and for ``city`` the division codes it covers, for ``enterprise`` the USCC it acts for.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import jwt

from services.kernel import clock
from services.kernel.crossings import crossing_for_read
from services.kernel.errors import DomainError, Kind
from services.kernel.signing import KeyRing
from services.kernel.tenancy import NATIONAL

ROLES = (
    "public", "enterprise", "institution", "expert", "city", "province", "ministry", "partner",
    "operator",
)
INTERNAL_AUDIENCE = "gl-internal"
ISSUER = "gateway"


def city_prefix(code: str) -> str:
    """320100 → "3201": the prefix every location inside that division starts with."""
    while code.endswith("00"):
        code = code[:-2]
    return code


@dataclass(frozen=True)
class Grant:
    role: str
    tenant: str
    city: str = ""     # city: the GB/T 2260 prefecture (or county) code it acts in
    org: str = ""      # enterprise / institution: the USCC it acts for

    def covers_location(self, location: str) -> bool:
        """A city grant 320100 covers 3201xx; a county grant 320102 covers only itself."""
        if self.role != "city":
            return True
        scope = city_prefix(self.city)
        return bool(scope) and location.startswith(scope)

    def as_claim(self) -> dict[str, str]:
        return {k: v for k, v in (("r", self.role), ("t", self.tenant), ("c", self.city),
                                  ("o", self.org)) if v}


@dataclass(frozen=True)
class Identity:
    subject: str
    grants: tuple[Grant, ...] = field(default_factory=tuple)
    name: str = ""

    def in_tenant(self, tenant: str, *, write: bool = False) -> tuple[Grant, ...]:
        """Grants usable in ``tenant``: its own, plus those a declared crossing lets in (a write
        only through an ``act`` crossing)."""
        return tuple(
            g for g in self.grants
            if g.tenant == tenant
            or crossing_for_read(g.role, g.tenant, tenant, write=write) is not None
        )

    def roles(self) -> set[str]:
        return {g.role for g in self.grants}


ANONYMOUS = Identity(subject="anonymous", grants=(Grant("public", NATIONAL),))

_current: contextvars.ContextVar[Identity | None] = contextvars.ContextVar("identity", default=None)


def peek_identity() -> Identity | None:
    """The caller, if there is one (logs, events written by consumers)."""
    return _current.get()


def current_identity() -> Identity:
    ident = _current.get()
    if ident is None:
        raise DomainError("auth.required", Kind.UNAUTHENTICATED)
    return ident


def set_identity(identity: Identity | None) -> contextvars.Token:
    return _current.set(identity)


def reset_identity(token: contextvars.Token) -> None:
    _current.reset(token)


def authorize(
    identity: Identity,
    tenant: str,
    roles: Iterable[str],
    *,
    location: str | None = None,
    org: str | None = None,
    write: bool = False,
) -> Grant:
    """The grant that lets ``identity`` act in ``tenant`` with one of ``roles``, or a refusal.

    ``location`` (a unit's GB/T 2260 code) confines a city; ``org`` (a unit's USCC) confines an
    enterprise to its own units. A ``write`` never rides on a read crossing.
    """
    allowed = set(roles)
    candidates = [g for g in identity.in_tenant(tenant, write=write) if g.role in allowed]
    if not candidates:
        raise DomainError(
            "auth.forbidden_role", Kind.FORBIDDEN, tenant=tenant, roles="/".join(sorted(allowed))
        )
    for grant in candidates:
        if location is not None and not grant.covers_location(location):
            continue
        if org is not None and grant.role in ("enterprise", "institution") and grant.org != org:
            continue
        return grant
    if location is not None and any(g.role == "city" for g in candidates):
        raise DomainError("auth.outside_city", Kind.FORBIDDEN, location=location)
    raise DomainError("auth.not_your_unit", Kind.FORBIDDEN)


@dataclass(frozen=True)
class Scope:
    """What part of a tenant a caller may see: all of it, a city's codes, or one USCC's units."""

    location_prefix: str = ""
    org: str = ""


def visible_scope(identity: Identity, tenant: str, roles: Iterable[str]) -> Scope:
    """The widest scope among the caller's grants in ``tenant`` that carry one of ``roles``."""
    grants = [g for g in identity.in_tenant(tenant) if g.role in set(roles)]
    if not grants:
        raise DomainError(
            "auth.forbidden_role", Kind.FORBIDDEN, tenant=tenant, roles="/".join(sorted(roles))
        )
    if any(g.role not in ("city", "enterprise", "institution") for g in grants):
        return Scope()
    cities = [city_prefix(g.city) for g in grants if g.role == "city"]
    if cities:
        return Scope(location_prefix=min(cities, key=len))
    return Scope(org=grants[0].org)


# --- internal token ---------------------------------------------------------------------------


def issue_internal_token(ring: KeyRing, identity: Identity, *, seconds: int) -> str:
    now = clock.now()
    return ring.sign_jwt(
        {
            "iss": ISSUER,
            "aud": INTERNAL_AUDIENCE,
            "sub": identity.subject,
            "name": identity.name,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=seconds)).timestamp()),
            "grants": [g.as_claim() for g in identity.grants],
        }
    )


def verify_internal_token(ring: KeyRing, token: str) -> tuple[Identity, float]:
    """The identity a gateway-signed token carries, and when the token expires."""
    try:
        claims = ring.verify_jwt(token, audience=INTERNAL_AUDIENCE)
    except jwt.ExpiredSignatureError as exc:
        raise DomainError("auth.token_expired", Kind.UNAUTHENTICATED) from exc
    except jwt.InvalidTokenError as exc:
        raise DomainError("auth.token_invalid", Kind.UNAUTHENTICATED) from exc
    return identity_from_claims(claims), float(claims["exp"])


def identity_from_claims(claims: dict) -> Identity:
    grants = tuple(
        Grant(role=g["r"], tenant=g["t"], city=g.get("c", ""), org=g.get("o", ""))
        for g in claims.get("grants", [])
        if g.get("r") in ROLES
    )
    return Identity(subject=claims["sub"], grants=grants, name=claims.get("name", ""))
