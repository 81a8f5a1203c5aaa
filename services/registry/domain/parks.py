"""Parks, supply chains and what provinces cultivate (SPEC §3): park members, suppliers,
cultivation targets (培育对象) and cultivation plans (培育计划), and the list levels they reach."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from services.kernel.clock import add_years
from services.kernel.errors import DomainError, Kind, Refusal, invalid
from services.kernel.tenancy import is_tenant
from services.registry.domain.rules import LEVELS, rules
from services.registry.domain.units import UnitState, check_kind, check_name, uscc_reference

# --- parks and supply chains ------------------------------------------------------------------


def not_a_park(unit: UnitState) -> Refusal | None:
    """Only a park has members."""
    if unit.kind == "park":
        return None
    return Refusal("unit.not_a_park", Kind.INVALID, {"unit_id": unit.id})


def not_a_member(unit: UnitState) -> Refusal | None:
    """A park's members are enterprises: a park is no member of another."""
    if unit.kind != "park":
        return None
    return Refusal("park.member_kind", Kind.INVALID, {"unit_id": unit.id})


@dataclass(frozen=True)
class MembershipChange:
    """Who joins and who leaves a park, each in id order (the order of their events)."""

    joined: tuple[str, ...]
    left: tuple[str, ...]


def membership_change(before: Iterable[str], after: Iterable[str]) -> MembershipChange:
    old, new = set(before), set(after)
    return MembershipChange(joined=tuple(sorted(new - old)), left=tuple(sorted(old - new)))


@dataclass(frozen=True)
class Supplier:
    """An enterprise on a supply chain's list; it may be registered in any province."""

    uscc: str
    name: str
    tenant: str


def supplier(uscc: str, name: str, tenant: str) -> Supplier:
    code = uscc_reference(uscc)
    if not is_tenant(tenant):
        raise DomainError("tenant.unknown", Kind.INVALID, tenant=tenant)
    return Supplier(uscc=code, name=check_name(name), tenant=tenant)


def supplier_list(entries: Iterable[tuple[str, str, str]]) -> tuple[Supplier, ...]:
    """(uscc, name, tenant) as a caller sends them: one supplier per USCC, the last one said."""
    out: dict[str, Supplier] = {}
    for uscc, name, tenant in entries:
        link = supplier(uscc, name, tenant)
        out[link.uscc] = link
    return tuple(out.values())


def not_a_supply_chain(unit: UnitState) -> Refusal | None:
    """Only a supply-chain enterprise keeps a supplier list."""
    if unit.kind == "supply_chain":
        return None
    return Refusal("unit.not_supply_chain", Kind.INVALID, {"unit_id": unit.id})


# --- cultivation targets ------------------------------------------------------------------------


def target_validity(valid_from: date) -> date:
    """Last day a target designated on ``valid_from`` is valid: 3 years (configurable), so a
    target from 2024-03-01 is valid through 2027-02-28."""
    return add_years(valid_from, int(rules()["target_validity_years"])) - timedelta(days=1)


@dataclass(frozen=True)
class NewTarget:
    unit_id: str
    category: str
    valid_from: date
    valid_until: date


def designate(unit: UnitState, category: str, valid_from: date) -> NewTarget | Refusal:
    """A cultivation target of ``category`` from ``valid_from``: the unit must be of that kind."""
    check_kind(category)
    if unit.kind != category:
        return Refusal("target.category_mismatch", Kind.INVALID,
                       {"category": category, "kind": unit.kind})
    return NewTarget(unit_id=unit.id, category=category, valid_from=valid_from,
                     valid_until=target_validity(valid_from))


# --- cultivation plans ----------------------------------------------------------------------------


def check_plan_year(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise invalid("plan.year", value=year)
    return year


@dataclass(frozen=True)
class PlanLine:
    """An enterprise a plan names, with the tenant it is registered in."""

    uscc: str
    name: str
    tenant: str


def plan_lines(owner: UnitState, entries: Iterable[tuple[str, str, str]],
               allowed: Mapping[str, str]) -> tuple[PlanLine, ...] | Refusal:
    """What a cultivation plan of ``owner`` names. A park's names its member enterprises, a
    supply-chain enterprise's its suppliers (``allowed``: USCC → tenant); a factory has none.
    One line per USCC, the last one said; a plan naming nobody is no plan."""
    if owner.kind == "factory":
        return Refusal("plan.owner_kind", Kind.INVALID, {"unit_id": owner.id})
    refusal = "plan.not_a_member" if owner.kind == "park" else "plan.not_a_supplier"
    named: dict[str, PlanLine] = {}
    for uscc, name, _ in entries:
        code = uscc_reference(uscc)
        if code not in allowed:
            return Refusal(refusal, Kind.INVALID, {"uscc": code})
        named[code] = PlanLine(uscc=code, name=check_name(name), tenant=allowed[code])
    if not named:
        return Refusal("plan.empty", Kind.INVALID)
    return tuple(named.values())


# --- list levels ----------------------------------------------------------------------------------


def highest_level(levels: Iterable[str]) -> str:
    return max((lv for lv in levels if lv in LEVELS), key=LEVELS.index, default="")


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise DomainError("unit.level_unknown", Kind.INVALID, value=level, allowed="/".join(LEVELS))
    return level
