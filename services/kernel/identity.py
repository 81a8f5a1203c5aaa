"""The caller's identity and jurisdictions (SPEC §1), carried across the wire as the gateway-signed
internal token and checked again in every service (defence in depth, ARCHITECTURE §7).

A person may hold several roles, each bound to a jurisdiction: a ``Grant`` names the role, the
tenant, and for ``city`` the division codes it covers, for ``enterprise`` the USCC it acts for.

Every grant a token carries is checked for shape when the token is verified (``grant_refusal``):
a city grant whose code is not a prefecture or county of its tenant (``32``, ``320000``) would
otherwise cover the whole province. ``authorize`` remembers, for the call, the grant that let the
caller act (``acting_grant``): the event the call records names that role, not the caller's
first grant in the tenant.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import jwt

from services.kernel import clock
from services.kernel.crossings import crossing_for_read
from services.kernel.errors import DomainError, Kind, Refusal, refuse
from services.kernel.signing import KeyRing
from services.kernel.tenancy import NATIONAL, is_tenant, reporting_tenant, validate_location
from services.kernel.uscc import parse_uscc

ROLES = (
    "public", "enterprise", "institution", "expert", "city", "province", "ministry", "partner",
    "operator",
)
INTERNAL_AUDIENCE = "gl-internal"
ISSUER = "gateway"
NATIONAL_ONLY = ("public", "ministry", "operator")            # held in the national tenant only
PROVINCIAL_ONLY = ("province", "city", "enterprise")         # never in the national tenant


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


def grant_refusal(grant: Grant) -> Refusal | None:
    """Whether a grant makes sense on its own: a known role in a known tenant where that role
    lives, a city grant's code a prefecture or county of its tenant (never a province code or a
    prefix, which would cover the whole province), an enterprise's or institution's org a
    well-formed USCC (an empty org would confine to nothing)."""

    def bad(field: str, value: str) -> Refusal:
        return Refusal("auth.grant_invalid", Kind.UNAUTHENTICATED,
                       {"field": field, "value": value, "role": grant.role,
                        "tenant": grant.tenant})

    if grant.role not in ROLES:
        return bad("role", grant.role)
    if not is_tenant(grant.tenant):
        return bad("tenant", grant.tenant)
    if (grant.role in NATIONAL_ONLY and grant.tenant != NATIONAL) or (
            grant.role in PROVINCIAL_ONLY and grant.tenant == NATIONAL):
        return bad("tenant", grant.tenant)
    if grant.role == "city":
        try:
            if validate_location(grant.city) != grant.city:
                return bad("city", grant.city)
        except DomainError:
            return bad("city", grant.city)
        if reporting_tenant(grant.city) != grant.tenant:
            return bad("city", grant.city)
    if grant.role in ("enterprise", "institution"):
        try:
            if parse_uscc(grant.org).code != grant.org:
                return bad("org", grant.org)
        except DomainError:
            return bad("org", grant.org)
    return None


_current: contextvars.ContextVar[Identity | None] = contextvars.ContextVar("identity", default=None)
# The grant the last passing ``authorize`` of this call returned, with the identity it was for.
_acting: contextvars.ContextVar[tuple[Identity, Grant] | None] = contextvars.ContextVar(
    "acting_grant", default=None)


def peek_identity() -> Identity | None:
    """The caller, if there is one (logs, events written by consumers)."""
    return _current.get()


def current_identity() -> Identity:
    ident = _current.get()
    if ident is None:
        raise DomainError("auth.required", Kind.UNAUTHENTICATED)
    return ident


def set_identity(identity: Identity | None) -> contextvars.Token:
    _acting.set(None)  # a new call: nothing authorised yet
    return _current.set(identity)


def reset_identity(token: contextvars.Token) -> None:
    _acting.set(None)
    _current.reset(token)


def acting_grant(tenant: str) -> Grant | None:
    """The grant the current caller acts with: the one that satisfied this call's last
    ``authorize``; when no ``authorize`` passed in this call, the caller's first grant usable in
    ``tenant``. None without a caller (an event handler acts as the system)."""
    ident = _current.get()
    if ident is None:
        return None
    acting = _acting.get()
    if acting is not None and (acting[0] is ident or acting[0] == ident):
        return acting[1]
    return next(iter(ident.in_tenant(tenant)), None)


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
        _acting.set((identity, grant))  # the role the call's event names (acting_grant)
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
    """``iat_ms``: when it was issued, to the millisecond, so that a token issued just after a
    revocation is never mistaken for one issued in the same second before it (``Revocations``)."""
    now = clock.now()
    return ring.sign_jwt(
        {
            "iss": ISSUER,
            "aud": INTERNAL_AUDIENCE,
            "sub": identity.subject,
            "name": identity.name,
            "iat": int(now.timestamp()),
            "iat_ms": epoch_ms(now.timestamp()),
            "exp": int((now + timedelta(seconds=seconds)).timestamp()),
            "grants": [g.as_claim() for g in identity.grants],
        }
    )


def verify_internal_token(ring: KeyRing, token: str) -> tuple[Identity, float, int]:
    """The identity a gateway-signed token carries, when the token expires, and when it was
    issued (ms); refused when its subject's sessions were revoked after that (``REVOKED``)."""
    try:
        claims = ring.verify_jwt(token, audience=INTERNAL_AUDIENCE)
    except jwt.ExpiredSignatureError as exc:
        raise DomainError("auth.token_expired", Kind.UNAUTHENTICATED) from exc
    except jwt.InvalidTokenError as exc:
        raise DomainError("auth.token_invalid", Kind.UNAUTHENTICATED) from exc
    identity, issued_ms = identity_from_claims(claims), issued_at_ms(claims)
    refuse(REVOKED.refusal(identity.subject, issued_ms))
    return identity, float(claims["exp"]), issued_ms


def epoch_ms(timestamp: float) -> int:
    return int(timestamp * 1000)


def issued_at_ms(claims: dict) -> int:
    """When a token was issued, in ms: ``iat_ms``, or ``iat`` (whole seconds) in tokens from
    before it existed; a token without either counts as issued at the epoch (revoked by any
    revocation of its subject)."""
    for name, scale in (("iat_ms", 1), ("iat", 1000)):
        value = claims.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value * scale)
    return 0


class Revocations:
    """The subjects whose sessions ended, and when (``subject → not_before`` in ms): a token
    issued to the subject before then is refused (``auth.token_revoked``), one issued after is
    not. Filled from the gateway's signed ``SessionsRevoked`` events (``kernel.revocations``).

    An entry matters only while a token issued before it can still be unexpired, so entries
    older than ``keep_ms`` are forgotten (the memory stays bounded by the revocations of the
    last few minutes). Thread-safe by construction: one dict assignment per change."""

    def __init__(self, keep_ms: int = 3_600_000) -> None:
        self.keep_ms = keep_ms
        self._not_before: dict[str, int] = {}

    def revoke(self, subject: str, not_before_ms: int, *, now_ms: int | None = None) -> None:
        """Record a revocation; an earlier one never replaces a later one (events may arrive
        again, or out of order after a replay)."""
        if not_before_ms > self._not_before.get(subject, -1):
            self._not_before[subject] = not_before_ms
        now_ms = epoch_ms(clock.now().timestamp()) if now_ms is None else now_ms
        if len(self._not_before) > 1000:
            self.forget_before(now_ms - self.keep_ms)

    def forget_before(self, horizon_ms: int) -> None:
        self._not_before = {s: t for s, t in self._not_before.items() if t >= horizon_ms}

    def not_before(self, subject: str) -> int:
        return self._not_before.get(subject, 0)

    def refusal(self, subject: str, issued_ms: int) -> Refusal | None:
        """A token of ``subject`` issued at ``issued_ms`` is refused when it was issued before
        the subject's last revocation (a token issued in the same millisecond passes)."""
        if issued_ms < self._not_before.get(subject, 0):
            return Refusal("auth.token_revoked", Kind.UNAUTHENTICATED, {})
        return None


# This process's revocations: the services' follower writes, the token check reads.
REVOKED = Revocations()


def identity_from_claims(claims: dict) -> Identity:
    """The identity a verified token's claims describe. Every grant is checked for shape
    (``grant_refusal``): a token carrying one that makes no sense is refused whole, never read
    as something wider (a city ``32`` as the province) or quietly trimmed."""
    raw = claims.get("grants")
    subject = claims.get("sub")
    if not isinstance(raw, list) or not isinstance(subject, str) or not subject:
        raise DomainError("auth.token_invalid", Kind.UNAUTHENTICATED)
    grants = []
    for g in raw:
        if not isinstance(g, dict) or not all(
                isinstance(g.get(k, ""), str) for k in ("r", "t", "c", "o")):
            raise DomainError("auth.token_invalid", Kind.UNAUTHENTICATED)
        grant = Grant(role=g.get("r", ""), tenant=g.get("t", ""), city=g.get("c", ""),
                      org=g.get("o", ""))
        refusal = grant_refusal(grant)
        if refusal is not None:
            raise refusal.error()
        grants.append(grant)
    name = claims.get("name", "")
    return Identity(subject=subject, grants=tuple(grants),
                    name=name if isinstance(name, str) else "")
