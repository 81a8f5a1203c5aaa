"""Parks, supply chains, cultivation targets and plans (SPEC §3):
services/registry/domain/parks.py, decided on plain states."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.kernel.errors import DomainError, Kind, Refusal
from services.kernel.uscc import check_char
from services.registry.domain import (
    MembershipChange,
    NewTarget,
    PlanLine,
    Supplier,
    UnitState,
    check_level,
    check_plan_year,
    designate,
    highest_level,
    membership_change,
    not_a_member,
    not_a_park,
    not_a_supply_chain,
    plan_lines,
    supplier_list,
)


def _uscc(body: str) -> str:
    return body + check_char(body)


A, B, C = _uscc("91320100MA1AAAAA0"), _uscc("91330100MA1BBBBB0"), _uscc("91320100MA1CCCCC0")
FACTORY = UnitState(id="f1", kind="factory", uscc=A, site="", name="工厂", location="320115",
                    city="320100")
PARK = replace(FACTORY, id="p1", kind="park", name="园区")
CHAIN = replace(FACTORY, id="c1", kind="supply_chain", name="链主")


# --- parks and suppliers --------------------------------------------------------------------------


def test_only_a_park_has_members_and_no_park_is_a_member() -> None:
    assert not_a_park(PARK) is None
    assert not_a_park(FACTORY) == Refusal("unit.not_a_park", Kind.INVALID, {"unit_id": "f1"})
    assert not_a_member(FACTORY) is None and not_a_member(CHAIN) is None
    assert not_a_member(PARK) == Refusal("park.member_kind", Kind.INVALID, {"unit_id": "p1"})


def test_membership_change_names_who_joins_and_who_leaves_in_order() -> None:
    assert membership_change(["m1", "m3"], ["m4", "m3", "m2", "m2"]) == MembershipChange(
        joined=("m2", "m4"), left=("m1",))
    assert membership_change(["m1"], ["m1"]) == MembershipChange(joined=(), left=())


def test_suppliers_in_any_province_one_per_uscc() -> None:
    listed = supplier_list([(B.lower(), "  浙江 供应商 ", "330000"), (C, "甲", "320000"),
                            (C, "乙", "320000")])
    assert listed == (Supplier(B, "浙江 供应商", "330000"), Supplier(C, "乙", "320000"))


def test_a_supplier_in_an_unknown_tenant_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        supplier_list([(B, "供应商", "999999")])
    assert err.value.code == "tenant.unknown" and err.value.params == {"tenant": "999999"}


def test_a_supplier_uscc_is_checked_in_form_only() -> None:
    wrong_check = B[:-1] + ("1" if B[-1] != "1" else "2")
    assert supplier_list([(wrong_check, "供应商", "330000")])[0].uscc == wrong_check
    with pytest.raises(DomainError) as err:
        supplier_list([("91330100", "供应商", "330000")])
    assert err.value.code == "uscc.length"


def test_only_a_supply_chain_keeps_suppliers() -> None:
    assert not_a_supply_chain(CHAIN) is None
    assert not_a_supply_chain(PARK) == Refusal("unit.not_supply_chain", Kind.INVALID,
                                               {"unit_id": "p1"})


# --- targets --------------------------------------------------------------------------------------


def test_a_target_is_valid_three_years_for_a_unit_of_its_category() -> None:
    assert designate(FACTORY, "factory", date(2024, 3, 1)) == NewTarget(
        unit_id="f1", category="factory", valid_from=date(2024, 3, 1),
        valid_until=date(2027, 2, 28))


def test_a_target_of_another_category_than_the_units_kind_is_refused() -> None:
    assert designate(FACTORY, "park", date(2025, 1, 1)) == Refusal(
        "target.category_mismatch", Kind.INVALID, {"category": "park", "kind": "factory"})
    with pytest.raises(DomainError) as err:
        designate(FACTORY, "shop", date(2025, 1, 1))
    assert err.value.code == "unit.kind_unknown"


# --- plans -------------------------------------------------------------------------------------


@pytest.mark.parametrize("year", [2000, 2026, 2100])
def test_a_plan_year_in_range(year: int) -> None:
    assert check_plan_year(year) == year


@pytest.mark.parametrize("year", [0, 1999, 2101])
def test_a_plan_year_out_of_range(year: int) -> None:
    with pytest.raises(DomainError) as err:
        check_plan_year(year)
    assert err.value.code == "plan.year" and err.value.params == {"value": year}


def test_a_parks_plan_names_its_members() -> None:
    lines = plan_lines(PARK, [(B, "成员乙", ""), (C, "成员丙", ""), (B, "成员乙二", "")],
                       {B: "320000", C: "320000"})
    assert lines == (PlanLine(B, "成员乙二", "320000"), PlanLine(C, "成员丙", "320000"))


def test_a_supply_chains_plan_names_its_suppliers_with_their_tenant() -> None:
    assert plan_lines(CHAIN, [(B, "浙江供应商", "")], {B: "330000"}) == (
        PlanLine(B, "浙江供应商", "330000"),)


def test_a_plan_naming_a_stranger_is_refused() -> None:
    assert plan_lines(PARK, [(C, "非成员", "")], {B: "320000"}) == Refusal(
        "plan.not_a_member", Kind.INVALID, {"uscc": C})
    assert plan_lines(CHAIN, [(C, "非供应商", "")], {B: "330000"}) == Refusal(
        "plan.not_a_supplier", Kind.INVALID, {"uscc": C})


def test_a_factory_publishes_no_plan() -> None:
    assert plan_lines(FACTORY, [(B, "乙", "")], {B: "320000"}) == Refusal(
        "plan.owner_kind", Kind.INVALID, {"unit_id": "f1"})


def test_a_plan_naming_nobody_is_refused() -> None:
    assert plan_lines(PARK, [], {B: "320000"}) == Refusal("plan.empty", Kind.INVALID)


# --- list levels -------------------------------------------------------------------------------


def test_the_highest_level_ignores_what_is_no_level() -> None:
    assert highest_level(["municipal", "national", "provincial"]) == "national"
    assert highest_level(["", "municipal", "county"]) == "municipal"
    assert highest_level([]) == ""


def test_an_unknown_level_is_refused() -> None:
    assert check_level("provincial") == "provincial"
    with pytest.raises(DomainError) as err:
        check_level("county")
    assert err.value.code == "unit.level_unknown"
