"""Units (单位) and what may happen to them (SPEC §3): registration, look-ups, renames,
relocations, mergers, declared ownership. Pure: plain values in, a new state or a refusal out."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace

from services.kernel.errors import Kind, Refusal, bounded, invalid, refuse
from services.kernel.identity import city_prefix
from services.kernel.tenancy import prefecture_of, reporting_tenant, validate_location
from services.kernel.uscc import parse_uscc, validate_uscc
from services.registry.domain.rules import KINDS, industry_divisions, rules


@dataclass(frozen=True)
class NewUnit:
    kind: str
    uscc: str
    site: str
    name: str
    location: str
    city: str
    industry: str
    uscc_checksum_override: bool
    uscc_override_reason: str
    park_level: str = ""
    industrial_value_added_share: float | None = None
    park_boundary: str = ""


@dataclass(frozen=True, kw_only=True)
class UnitState:
    """What the rules need to know of a registered unit: a snapshot, never the stored row."""

    id: str
    kind: str
    uscc: str
    site: str
    name: str
    location: str
    city: str
    status: str = "active"
    merged_into: str = ""
    parent_uscc: str = ""
    legal_representative: str = ""
    legal_rep_key: str = ""
    legal_rep_masked: str = ""


# --- input ------------------------------------------------------------------------------------


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise invalid("unit.kind_unknown", value=kind, allowed="/".join(KINDS))
    return kind


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise invalid("unit.name_required")
    if len(name) > rules()["name_max_length"]:
        raise invalid("unit.name_too_long", max=rules()["name_max_length"])
    return name


def check_industry(kind: str, industry: str) -> str:
    """4-digit GB/T 4754 class; a factory must be manufacturing (section C, divisions 13–43).

    The shipped data knows sections and divisions, not every class: the division is checked.
    """
    industry = industry.strip()
    if not industry and kind == "park":
        return ""
    if not re.fullmatch(r"\d{4}", industry):
        raise invalid("unit.industry_malformed", value=industry)
    division = industry_divisions().get(industry[:2])
    if division is None:
        raise invalid("unit.industry_unknown", value=industry)
    if kind == "factory" and not 13 <= int(industry[:2]) <= 43:
        raise invalid("unit.not_manufacturing", value=industry, division=division.name_zh)
    return industry


def uscc_reference(code: str) -> str:
    """A USCC that names another enterprise (supplier, plan entry, look-up): its form is checked;
    a checksum failure is the registering official's to override, not the referrer's."""
    return parse_uscc(code).code


def share_value(text: str) -> float | None:
    """A park's industrial value-added share as an import row spells it ("" = not stated)."""
    try:
        return float(text) if text else None
    except ValueError:
        raise invalid("unit.share_malformed", value=text) from None


def outside_tenant(location: str, tenant: str) -> Refusal | None:
    """A unit lives in the tenant its location reports to: leaving it is a transfer between
    provinces, not a registration or relocation inside one."""
    owner = reporting_tenant(location)
    if owner == tenant:
        return None
    return Refusal("unit.location_other_tenant", Kind.INVALID,
                   {"location": location, "tenant": tenant, "owner": owner})


# --- registration ---------------------------------------------------------------------------


def new_unit(
    *,
    tenant: str,
    kind: str,
    uscc: str,
    site: str,
    name: str,
    location: str,
    industry: str,
    uscc_override_reason: str = "",
    park_level: str = "",
    industrial_value_added_share: float | None = None,
    park_boundary: str = "",
) -> NewUnit:
    """Validate a registration in ``tenant``; every refusal names what was wrong."""
    check_kind(kind)
    check = validate_uscc(uscc, override_reason=uscc_override_reason or None)
    location = validate_location(location)
    refuse(outside_tenant(location, tenant))
    if kind == "park":
        if park_level not in rules()["park_levels"]:
            raise invalid("unit.park_level", value=park_level,
                          allowed="/".join(rules()["park_levels"]))
        if industrial_value_added_share is not None and not 0 <= industrial_value_added_share <= 100:
            raise invalid("unit.share_range", value=industrial_value_added_share)
    elif park_level or industrial_value_added_share is not None or park_boundary:
        raise invalid("unit.park_fields_on_non_park", kind=kind)
    return NewUnit(
        kind=kind,
        uscc=check.code,
        site=bounded(" ".join(site.split()), "site", 200),
        name=check_name(name),
        location=location,
        city=prefecture_of(location),
        industry=check_industry(kind, industry),
        uscc_checksum_override=not check.checksum_ok,
        uscc_override_reason=(bounded(uscc_override_reason, "uscc_override_reason", 500)
                              if not check.checksum_ok else ""),
        park_level=park_level,
        industrial_value_added_share=industrial_value_added_share,
        park_boundary=bounded(park_boundary, "park_boundary", 2000),
    )


# --- look-ups -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitQuery:
    """A search of the register, confined to what the caller may see."""

    uscc: str
    kind: str
    location_prefix: str
    name_contains: str
    limit: int
    after: str = ""      # the page token: the id of the last unit of the previous page


def page_after(page_token: str) -> str:
    """The unit id a page token names (the last unit of the page before), or "" for the first
    page. A token this service did not hand out is refused, naming it — never read as a place
    to start from."""
    if not page_token:
        return ""
    try:
        if str(uuid.UUID(page_token)) == page_token:
            return page_token
    except ValueError:
        pass
    raise invalid("unit.page_token", field="page_token")


def unit_query(*, uscc: str, kind: str, city: str, name_contains: str, page_size: int,
               scope_prefix: str, page_token: str = "") -> UnitQuery | Refusal:
    """The search a caller asked for, inside ``scope_prefix`` (a city account's division): a city
    asked for outside it is refused, not silently emptied."""
    after = page_after(page_token)
    code = uscc_reference(uscc) if uscc else ""
    if kind:
        check_kind(kind)
    prefix = scope_prefix
    if city:
        wanted = city_prefix(city)
        if prefix and not wanted.startswith(prefix):
            return Refusal("auth.outside_city", Kind.FORBIDDEN, {"location": city})
        prefix = max(prefix, wanted, key=len)
    return UnitQuery(uscc=code, kind=kind, location_prefix=prefix,
                     name_contains=name_contains.strip(), limit=max(1, min(page_size or 50, 200)),
                     after=after)


# --- changes ------------------------------------------------------------------------------------


def rename(unit: UnitState, name: str) -> UnitState:
    """The unit under its new name; the same state when it already bears it (a retried rename)."""
    return unit if unit.name == name else replace(unit, name=name)


def new_site(requested: str, current: str) -> str:
    """The site after a relocation: the one asked for, or the unit's own when none is named."""
    return bounded(" ".join(requested.split()), "new_site", 200) if requested.strip() else current


def relocate(unit: UnitState, *, location: str, site: str, site_taken: bool) -> UnitState | Refusal:
    """The unit at its new location and site; the same state when it is there already. Another
    unit of the same enterprise at that site (``site_taken``) is a conflict."""
    if unit.location == location and unit.site == site:
        return unit
    if site != unit.site and site_taken:
        return Refusal("unit.site_taken", Kind.CONFLICT, {"uscc": unit.uscc, "site": site})
    return replace(unit, location=location, city=prefecture_of(location), site=site)


@dataclass(frozen=True)
class Ownership:
    """The declared parent company and legal representative (ID number only as key and mask)."""

    parent_uscc: str
    legal_representative: str
    legal_rep_key: str
    legal_rep_masked: str


def legal_representative(name: str) -> str:
    name = bounded(" ".join(name.split()), "legal_representative", 100)
    if not name:
        raise invalid("field.required", field="legal_representative")
    return name


def declare_ownership(unit: UnitState, ownership: Ownership) -> UnitState | Refusal:
    """The unit with its declared ownership; the same state when nothing changed (a retry).
    A unit is not its own parent."""
    if ownership.parent_uscc == unit.uscc:
        return Refusal("unit.parent_is_self", Kind.INVALID, {"uscc": ownership.parent_uscc})
    return replace(unit, parent_uscc=ownership.parent_uscc,
                   legal_representative=ownership.legal_representative,
                   legal_rep_key=ownership.legal_rep_key,
                   legal_rep_masked=ownership.legal_rep_masked)


def ownership_line(unit: UnitState) -> str:
    """The ownership as the unit's history shows it: parent/representative/masked ID."""
    return f"{unit.parent_uscc}/{unit.legal_representative}/{unit.legal_rep_masked}"


def merging_itself(absorbed_id: str, into_id: str) -> Refusal | None:
    return Refusal("unit.merge_self", Kind.INVALID) if absorbed_id == into_id else None


@dataclass(frozen=True)
class MergeDecision:
    """Both units after a merger (吸收合并); ``already``: it had happened, nothing changes."""

    absorbed: UnitState
    into: UnitState
    already: bool = False


def merge(absorbed: UnitState, into: UnitState) -> MergeDecision | Refusal:
    """``absorbed`` merged into ``into``: it keeps its id and records, which count for ``into``
    at the veto check. A unit merges once, and never into one that is itself merged away."""
    refusal = merging_itself(absorbed.id, into.id)
    if refusal is not None:
        return refusal
    if absorbed.status == "merged":
        if absorbed.merged_into == into.id:
            return MergeDecision(absorbed=absorbed, into=into, already=True)
        return Refusal("unit.already_merged", Kind.PRECONDITION,
                       {"unit_id": absorbed.id, "into": absorbed.merged_into})
    if into.status == "merged":
        return Refusal("unit.merge_into_merged", Kind.PRECONDITION, {"unit_id": into.id})
    return MergeDecision(absorbed=replace(absorbed, status="merged", merged_into=into.id),
                         into=into)
