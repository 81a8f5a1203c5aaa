"""Unit registration rules (SPEC §3): services/registry/domain/units.py ``new_unit``, and the
validity of targets (domain/parks.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.kernel.errors import DomainError, Kind
from services.kernel.uscc import check_char
from services.registry.domain import NewUnit, new_unit, target_validity

USCC = "91320102MA1ABCDE0" + check_char("91320102MA1ABCDE0")
FAILING_USCC = "91350100M0001TGQXM"  # legally issued, fails the GB 32100 checksum


def register(**overrides: Any) -> NewUnit:
    args: dict[str, Any] = {
        "tenant": "320000",
        "kind": "factory",
        "uscc": USCC,
        "site": "main",
        "name": "南京绿色工厂有限公司",
        "location": "320102",
        "industry": "3311",
    }
    args.update(overrides)
    return new_unit(**args)


def refusal(**overrides: Any) -> DomainError:
    with pytest.raises(DomainError) as info:
        register(**overrides)
    assert info.value.kind is Kind.INVALID
    return info.value


def test_a_valid_factory() -> None:
    unit = register()
    assert unit.kind == "factory" and unit.uscc == USCC and unit.location == "320102"
    assert unit.industry == "3311"
    assert unit.uscc_checksum_override is False and unit.uscc_override_reason == ""


# --- kind ------------------------------------------------------------------------------------


def test_unknown_kind() -> None:
    err = refusal(kind="shop")
    assert err.code == "unit.kind_unknown"
    assert err.params["value"] == "shop"
    assert err.params["allowed"] == "factory/park/supply_chain"


# --- industry --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("industry", "division"), [("0610", "煤炭开采和洗选业"), ("4411", "电力、热力生产和供应业")]
)
def test_factory_must_be_manufacturing(industry: str, division: str) -> None:
    err = refusal(industry=industry)
    assert err.code == "unit.not_manufacturing"
    assert err.params == {"value": industry, "division": division}


@pytest.mark.parametrize("industry", ["1311", "4320"])
def test_manufacturing_bounds_are_accepted(industry: str) -> None:
    assert register(industry=industry).industry == industry


def test_a_supply_chain_enterprise_need_not_be_manufacturing() -> None:
    assert register(kind="supply_chain", industry="5110").industry == "5110"


@pytest.mark.parametrize("industry", ["331", "33111", "33A1", "", "  "])
def test_malformed_industry(industry: str) -> None:
    err = refusal(industry=industry)
    assert err.code == "unit.industry_malformed"


@pytest.mark.parametrize("industry", ["0011", "9811"])
def test_unknown_industry_division(industry: str) -> None:
    err = refusal(industry=industry)
    assert err.code == "unit.industry_unknown" and err.params["value"] == industry


def test_industry_is_stripped() -> None:
    assert register(industry=" 3311 ").industry == "3311"


# --- location and tenant -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "tenant", "owner"),
    [("330203", "330000", "330200"), ("659001", "650000", "660000")],
)
def test_location_reporting_to_another_tenant(location: str, tenant: str, owner: str) -> None:
    err = refusal(location=location, tenant=tenant)
    assert err.code == "unit.location_other_tenant"
    assert err.params == {"location": location, "tenant": tenant, "owner": owner}


@pytest.mark.parametrize(
    ("location", "tenant", "city"),
    [
        ("320102", "320000", "320100"),
        ("320100", "320000", "320100"),
        ("330203", "330200", "330200"),
        ("659001", "660000", "659000"),
    ],
)
def test_city_is_derived_from_the_location(location: str, tenant: str, city: str) -> None:
    unit = register(location=location, tenant=tenant)
    assert unit.location == location and unit.city == city


def test_malformed_location() -> None:
    assert refusal(location="32010").code == "location.malformed"


# --- parks -----------------------------------------------------------------------------------


def test_a_valid_park() -> None:
    unit = register(kind="park", industry="", park_level="national",
                    industrial_value_added_share=62.5, park_boundary="  east bank  ")
    assert unit.park_level == "national" and unit.industrial_value_added_share == 62.5
    assert unit.park_boundary == "east bank" and unit.industry == ""


@pytest.mark.parametrize("level", ["", "county", "National"])
def test_park_level(level: str) -> None:
    err = refusal(kind="park", park_level=level)
    assert err.code == "unit.park_level" and err.params["value"] == level


@pytest.mark.parametrize("share", [-1.0, 100.5])
def test_park_share_out_of_range(share: float) -> None:
    assert refusal(kind="park", park_level="provincial",
                   industrial_value_added_share=share).code == "unit.share_range"


@pytest.mark.parametrize(
    "fields",
    [
        {"park_level": "national"},
        {"industrial_value_added_share": 60.0},
        {"industrial_value_added_share": 0.0},
        {"park_boundary": "north"},
    ],
)
@pytest.mark.parametrize("kind", ["factory", "supply_chain"])
def test_park_fields_on_a_non_park(kind: str, fields: dict[str, Any]) -> None:
    err = refusal(kind=kind, **fields)
    assert err.code == "unit.park_fields_on_non_park" and err.params == {"kind": kind}


# --- USCC checksum override ------------------------------------------------------------------


def test_checksum_failure_refused_without_override() -> None:
    err = refusal(uscc=FAILING_USCC)
    assert err.code == "uscc.checksum" and err.params["value"] == FAILING_USCC


def test_checksum_failure_accepted_with_a_reason() -> None:
    unit = register(uscc=FAILING_USCC, uscc_override_reason="  early code, licence checked  ")
    assert unit.uscc == FAILING_USCC
    assert unit.uscc_checksum_override is True
    assert unit.uscc_override_reason == "early code, licence checked"


def test_override_needs_a_real_reason() -> None:
    assert refusal(uscc=FAILING_USCC, uscc_override_reason="   ").code == (
        "uscc.override_reason_required"
    )


def test_reason_on_a_correct_code_is_not_an_override() -> None:
    unit = register(uscc_override_reason="just in case")
    assert unit.uscc_checksum_override is False and unit.uscc_override_reason == ""


def test_uscc_is_normalised() -> None:
    assert register(uscc=f"  {USCC.lower()} ").uscc == USCC


# --- name ------------------------------------------------------------------------------------


def test_name_whitespace_is_normalised() -> None:
    unit = register(name="  南京\t绿色   工厂\u3000有限公司 \n", site="  plant   2 ")
    assert unit.name == "南京 绿色 工厂 有限公司"
    assert unit.site == "plant 2"


@pytest.mark.parametrize("name", ["", "   ", "\n\t"])
def test_name_required(name: str) -> None:
    assert refusal(name=name).code == "unit.name_required"


def test_name_too_long() -> None:
    assert register(name="厂" * 200).name == "厂" * 200
    err = refusal(name="厂" * 201)
    assert err.code == "unit.name_too_long" and err.params == {"max": 200}


# --- cultivation targets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("designated", "last_day"),
    [
        (date(2025, 1, 1), date(2027, 12, 31)),   # three whole years, not a day more
        (date(2025, 6, 15), date(2028, 6, 14)),
        (date(2024, 2, 29), date(2027, 2, 27)),
    ],
)
def test_target_validity_is_three_years(designated: date, last_day: date) -> None:
    assert target_validity(designated) == last_day
