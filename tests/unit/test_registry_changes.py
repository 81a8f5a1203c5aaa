"""What may happen to a registered unit (SPEC §3): services/registry/domain/units.py — look-ups,
renames, relocations, declared ownership and mergers, decided on plain states."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from services.kernel.errors import DomainError, Kind, Refusal
from services.kernel.uscc import check_char
from services.registry.domain import (
    MergeDecision,
    Ownership,
    UnitQuery,
    UnitState,
    declare_ownership,
    legal_representative,
    merge,
    merging_itself,
    new_site,
    outside_tenant,
    ownership_line,
    relocate,
    rename,
    share_value,
    unit_query,
)

USCC = "91320102MA1ABCDE0" + check_char("91320102MA1ABCDE0")
PARENT = "91320100MA1PARENT" + check_char("91320100MA1PARENT")
UNIT = UnitState(id="u1", kind="factory", uscc=USCC, site="", name="南京示例厂",
                 location="320115", city="320100")
OTHER = UnitState(id="u2", kind="factory", uscc=PARENT, site="", name="南京另一厂",
                  location="320104", city="320100")


def query(**overrides: Any) -> UnitQuery | Refusal:
    args: dict[str, Any] = {"uscc": "", "kind": "", "city": "", "name_contains": "",
                            "page_size": 0, "scope_prefix": ""}
    return unit_query(**{**args, **overrides})


# --- look-ups ------------------------------------------------------------------------------------


def test_a_query_is_normalised_and_paged_within_bounds() -> None:
    q = query(uscc=f" {USCC.lower()} ", kind="park", name_contains="  园区 ")
    assert q == UnitQuery(uscc=USCC, kind="park", location_prefix="", name_contains="园区",
                          limit=50)
    assert query(page_size=500).limit == 200 and query(page_size=-3).limit == 1


def test_a_query_of_an_unknown_kind_is_malformed() -> None:
    with pytest.raises(DomainError) as err:
        query(kind="shop")
    assert err.value.code == "unit.kind_unknown" and err.value.kind is Kind.INVALID


def test_a_city_narrows_a_province_and_stays_inside_a_city_account() -> None:
    assert query(city="320100").location_prefix == "3201"
    assert query(city="320115", scope_prefix="3201").location_prefix == "320115"
    assert query(scope_prefix="3205").location_prefix == "3205"


def test_a_city_outside_the_callers_city_is_refused() -> None:
    refusal = query(city="320100", scope_prefix="3205")
    assert refusal == Refusal("auth.outside_city", Kind.FORBIDDEN, {"location": "320100"})


def test_an_import_rows_share_is_a_number_or_nothing() -> None:
    assert share_value("62.5") == 62.5 and share_value("") is None
    with pytest.raises(DomainError) as err:
        share_value("六成")
    assert err.value.code == "unit.share_malformed" and err.value.params == {"value": "六成"}


# --- renames and relocations ---------------------------------------------------------------------


def test_a_rename_gives_the_new_name_and_a_retry_changes_nothing() -> None:
    assert rename(UNIT, "南京新名称厂") == replace(UNIT, name="南京新名称厂")
    assert rename(UNIT, UNIT.name) is UNIT


def test_a_location_outside_the_tenant_is_a_transfer_not_a_relocation() -> None:
    assert outside_tenant("320505", "320000") is None
    assert outside_tenant("330106", "320000") == Refusal(
        "unit.location_other_tenant", Kind.INVALID,
        {"location": "330106", "tenant": "320000", "owner": "330000"})


def test_the_new_site_is_the_one_named_or_the_units_own() -> None:
    assert new_site("  二  厂区 ", "一厂区") == "二 厂区"
    assert new_site("   ", "一厂区") == "一厂区"
    with pytest.raises(DomainError) as err:
        new_site("厂" * 201, "")
    assert err.value.code == "text.too_long"


def test_a_relocation_moves_the_unit_and_its_city() -> None:
    moved = relocate(UNIT, location="320505", site="", site_taken=False)
    assert moved == replace(UNIT, location="320505", city="320500")


def test_a_relocation_to_where_the_unit_is_changes_nothing() -> None:
    assert relocate(UNIT, location=UNIT.location, site=UNIT.site, site_taken=True) is UNIT


def test_a_relocation_onto_a_site_of_the_same_enterprise_is_a_conflict() -> None:
    refusal = relocate(UNIT, location="320505", site="二厂区", site_taken=True)
    assert refusal == Refusal("unit.site_taken", Kind.CONFLICT, {"uscc": USCC, "site": "二厂区"})


# --- ownership ------------------------------------------------------------------------------------


DECLARED = Ownership(parent_uscc=PARENT, legal_representative="张三", legal_rep_key="k1",
                     legal_rep_masked="3201**********1234")


def test_ownership_is_declared_on_the_state() -> None:
    after = declare_ownership(UNIT, DECLARED)
    assert isinstance(after, UnitState)
    assert (after.parent_uscc, after.legal_representative, after.legal_rep_key) == (
        PARENT, "张三", "k1")
    assert ownership_line(after) == f"{PARENT}/张三/3201**********1234"
    assert ownership_line(UNIT) == "//"


def test_declaring_the_same_ownership_again_changes_nothing() -> None:
    after = declare_ownership(UNIT, DECLARED)
    assert isinstance(after, UnitState)
    assert declare_ownership(after, DECLARED) == after


def test_a_unit_is_not_its_own_parent() -> None:
    refusal = declare_ownership(UNIT, replace(DECLARED, parent_uscc=USCC))
    assert refusal == Refusal("unit.parent_is_self", Kind.INVALID, {"uscc": USCC})


def test_the_legal_representative_is_required_and_normalised() -> None:
    assert legal_representative("  张\t三 ") == "张 三"
    with pytest.raises(DomainError) as err:
        legal_representative("   ")
    assert err.value.code == "field.required"
    assert err.value.params == {"field": "legal_representative"}


# --- mergers -------------------------------------------------------------------------------------


def test_a_merger_marks_the_absorbed_unit_and_keeps_the_other() -> None:
    decision = merge(UNIT, OTHER)
    assert decision == MergeDecision(
        absorbed=replace(UNIT, status="merged", merged_into=OTHER.id), into=OTHER)


def test_a_merger_that_happened_already_changes_nothing() -> None:
    done = replace(UNIT, status="merged", merged_into=OTHER.id)
    assert merge(done, OTHER) == MergeDecision(absorbed=done, into=OTHER, already=True)


def test_a_unit_merged_elsewhere_cannot_merge_again() -> None:
    done = replace(UNIT, status="merged", merged_into="u9")
    assert merge(done, OTHER) == Refusal("unit.already_merged", Kind.PRECONDITION,
                                         {"unit_id": UNIT.id, "into": "u9"})


def test_nothing_merges_into_a_unit_merged_away() -> None:
    gone = replace(OTHER, status="merged", merged_into="u9")
    assert merge(UNIT, gone) == Refusal("unit.merge_into_merged", Kind.PRECONDITION,
                                        {"unit_id": OTHER.id})


def test_a_unit_does_not_merge_into_itself() -> None:
    assert merging_itself("u1", "u1") == Refusal("unit.merge_self", Kind.INVALID)
    assert merging_itself("u1", "u2") is None
    assert merge(UNIT, UNIT) == Refusal("unit.merge_self", Kind.INVALID)
