"""Scoring with tiers, per-product values and provisional figures, and GB/T 36132-2025 version 2
(issue 9 §1; services/evaluation/scoring/, domain/values.py, data/schemes/gbt36132-2025.v2.yaml)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml

from services.evaluation import domain
from services.evaluation.schemes import (
    Qualitative,
    Quantitative,
    Scheme,
    get_scheme,
    parse_scheme,
    scheme_defects,
)
from services.evaluation.scoring import (
    Product,
    Products,
    Quantity,
    Value,
    Yearly,
    result_dict,
    score,
)
from services.kernel.errors import DomainError
from tests.unit.test_scoring import GBT2025_VALUES

D = Decimal

# renewable: tiered by annual energy use; energy: per output value, or per product (at most 3)
SCHEME = """
id: tiers
version: 1
title_zh: 分档与按产品
title_en: Tiers and products
category: factory
effective_from: 2025-12-31
sources:
  draft: {provisional: true, zh: 暂定, en: Placeholder, ref: "notes [U]"}
  form: {provisional: true, zh: 原型表, en: Prototype form, ref: "notes [S]"}
  law: {provisional: false, zh: 正式文本, en: The official text, ref: "GB/T 0 [V]"}
total: 20
source: law
pass_mark: {default: 12, source: draft}
categories:
  - id: a
    name_zh: 能源
    name_en: Energy
    points: 20
    source: law
    indicators:
      - id: renewable
        kind: quantitative
        name_zh: 可再生能源利用率
        name_en: Renewable share
        unit: "%"
        direction: forward
        basis: {name_zh: 年综合能源消费量, name_en: annual energy use, unit: tce}
        tiers:
          - {min: 10000, baseline: 5, leading: 30}
          - {min: 5000, max: 10000, baseline: 8, leading: 40}
          - {min: 3000, max: 5000, baseline: 10, leading: 50}
          - {max: 3000, baseline: 15, leading: 60}
        points: 10
        source: {points: law, tiers: draft}
      - id: energy
        kind: quantitative
        name_zh: 单位产品综合能耗（或单位产值综合能耗）
        name_en: Energy per product (or per output value)
        unit: kgce/万元
        direction: reverse
        baseline: 250
        leading: 80
        per_product: {max: 3, standard_zh: 能耗限额标准, standard_en: the energy-limit standard}
        points: 10
        source: {points: law, baseline: draft, leading: draft, per_product: form}
"""


def scheme_of(**changes: Any) -> Scheme:
    raw = yaml.safe_load(SCHEME)
    raw.update(changes)
    return parse_scheme(raw, file="tiers.yaml")


def run(**values: Value) -> Any:
    return score(scheme_of(), values, basic={})


def refused(**values: Value) -> DomainError:
    with pytest.raises(DomainError) as info:
        run(**values)
    assert info.value.message("en") != info.value.code  # catalogued
    assert info.value.message("zh") != info.value.code
    return info.value


def product(name: str = "水泥熟料", amount: Any = "100", grade1: Any = "90", grade2: Any = "110",
            weight: Any = "1", unit: str = "kgce/t", standard: str = "GB 16780-2021") -> Product:
    return Product(name=name, amount=amount, unit=unit, standard=standard, grade1=grade1,
                   grade2=grade2, weight=weight)


# --- tiers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("basis", "amount", "tier", "points"),
    [("12000", "17.5", "≥ 10000 tce", "5.00"),       # (17.5 − 5) / 25 × 10
     ("10000", "17.5", "≥ 10000 tce", "5.00"),       # a boundary belongs to the tier above
     ("9999.9", "24", "5000–10000 tce", "5.00"),     # (24 − 8) / 32 × 10
     ("5000", "30", "5000–10000 tce", "6.88"),       # 22/32 × 10 = 6.875
     ("3000", "30", "3000–5000 tce", "5.00"),
     ("0", "60", "< 3000 tce", "10.00")],
)
def test_the_basis_picks_the_tier_and_its_targets(basis: str, amount: str, tier: str,
                                                  points: str) -> None:
    line = run(renewable=Quantity(amount, "%", basis)).indicator("renewable")
    assert (line.tier, line.basis, line.points) == (tier, D(basis), D(points))
    assert f"取档“{tier}”" in line.rule_zh and f"tier '{tier}'" in line.rule_en
    assert f"annual energy use {basis} tce" in line.rule_en


def test_a_tiered_line_shows_its_tier_targets() -> None:
    line = run(renewable=Quantity("20", "%", "4000")).indicator("renewable")
    assert (line.baseline, line.leading) == (10, 50)
    assert line.points == D("2.50")


def test_a_tiered_indicator_not_reported_lists_every_tier() -> None:
    line = run().indicator("renewable")
    assert line.missing and line.points == 0
    assert "≥ 10000 tce: baseline 5, leading 30" in line.rule_en
    assert "< 3000 tce：基准值 15，引领值 60" in line.rule_zh


def test_a_tiered_value_without_its_basis_is_refused() -> None:
    err = refused(renewable=Quantity("20", "%"))
    assert err.code == "value.basis_missing"
    assert "annual energy use (tce, 年综合能源消费量)" in err.message("en")
    assert refused(renewable=Quantity("20", "%", " ")).code == "value.basis_missing"


def test_a_basis_in_no_tier_is_refused() -> None:
    raw = yaml.safe_load(SCHEME)
    raw["categories"][0]["indicators"][0]["tiers"] = [
        {"min": 3000, "baseline": 5, "leading": 30}]
    raw["categories"][0]["indicators"][0]["source"] = {"points": "law", "tiers": "draft"}
    gap = parse_scheme(raw, file="gap.yaml")
    with pytest.raises(DomainError) as info:
        score(gap, {"renewable": Quantity("20", "%", "2999")}, basic={})
    assert info.value.code == "value.basis_out_of_tiers"
    assert info.value.params["tiers"] == "≥ 3000 tce"


@pytest.mark.parametrize("basis", ["lots", "NaN", "1e999999"])
def test_a_basis_that_is_no_number_is_refused(basis: str) -> None:
    assert refused(renewable=Quantity("20", "%", basis)).code in (
        "value.not_a_number", "value.too_large")


def test_a_basis_on_an_indicator_without_tiers_is_refused() -> None:
    assert refused(energy=Quantity("100", "kgce/万元", "5000")).code == "value.basis_not_used"


# --- per product ------------------------------------------------------------------------------


def test_per_product_points_are_weighted_by_each_products_use() -> None:
    # A: 100 between grade 2 = 110 and grade 1 = 90 → half → 5; weight 3
    # B: 200 at its grade 1 (200) → 10; weight 1
    # C: 60 worse than its grade 2 (50) → 0; weight 1
    # points = 3/5 × 5 + 1/5 × 10 + 1/5 × 0 = 5
    value = Products([product("A", "100", "90", "110", "3"),
                      product("B", "200", "200", "260", "1", unit="kgce/m²"),
                      product("C", "60", "40", "50", "1", standard="GB 30250-2013")])
    line = run(energy=value).indicator("energy")
    assert line.points == D("5.00") and line.value == "per_product" and not line.missing
    assert [(p.name, p.share, p.points) for p in line.products] == [
        ("A", D("0.6000"), D("3.00")), ("B", D("0.2000"), D("2.00")), ("C", D("0.2000"), D(0))]
    assert "A 100 kgce/t (GB 16780-2021: grade 1 90, grade 2 110; weight 60%)" in line.rule_en
    assert "B 200 kgce/m²（GB 16780-2021：1 级 200，2 级 260；权重 20%）" in line.rule_zh
    assert "C 60 kgce/t (GB 30250-2013" in line.rule_en


def test_one_product_scores_like_a_reverse_indicator_against_its_grades() -> None:
    line = run(energy=Products([product(amount="95")])).indicator("energy")
    assert line.points == D("7.50")  # (110 − 95) / (110 − 90) × 10


def test_a_per_product_indicator_still_takes_a_value_per_output() -> None:
    line = run(energy=Quantity("165", "kgce/万元")).indicator("energy")
    assert line.points == D("5.00") and line.products == ()
    assert "or per product (at most 3, against the energy-limit standard)" in line.rule_en


@pytest.mark.parametrize(
    ("products", "code"),
    [([product(str(i)) for i in range(4)], "value.products_count"),
     ([], "value.products_count"),
     ([product(grade1="100", grade2="100")], "value.product_grades"),
     ([product(grade1="120", grade2="110")], "value.product_grades"),   # grade 1 is worse
     ([product(weight="0")], "value.product_weight"),
     ([product(weight="-1")], "value.product_weight"),
     ([product(name="")], "value.product_text"),
     ([product(name="A\x00B")], "value.product_text"),
     ([product(standard="GB " + "9" * 200)], "value.product_text"),
     ([product(unit="")], "value.product_text"),
     ([product(amount="")], "value.not_a_number"),
     ([product(grade2="x")], "value.not_a_number"),
     ([product(weight="1e999999")], "value.too_large"),
     ([product("A"), product("A")], "value.products_duplicate"),
     (["A"], "value.expects_products")],
    ids=["four", "none", "grades-equal", "grades-wrong-way", "weight-zero", "weight-negative",
         "no-name", "nul-in-name", "long-standard", "no-unit", "no-amount", "grade-not-number",
         "huge-weight", "same-name-twice", "not-a-product"],
)
def test_a_malformed_per_product_value_is_refused(products: list[Any], code: str) -> None:
    assert refused(energy=Products(products)).code == code


def test_per_product_values_on_an_indicator_without_the_option_are_refused() -> None:
    assert refused(renewable=Products([product()])).code == "value.per_product_not_allowed"


# --- provisional figures ---------------------------------------------------------------------


def test_each_line_names_its_provisional_figures_and_says_so_in_its_rule() -> None:
    result = run(renewable=Quantity("20", "%", "4000"), energy=Quantity("165", "kgce/万元"))
    renewable, energy = result.indicators
    assert renewable.provisional == ("tiers",)
    assert energy.provisional == ("baseline", "leading", "per_product")
    assert renewable.rule_zh.endswith("（暂定值：分档目标值）")
    assert renewable.rule_en.endswith(" (provisional: tier targets)")
    assert result.provisional
    data = result_dict(result)
    assert data["provisional"] is True
    assert data["indicators"][1]["provisional"] == ["baseline", "leading", "per_product"]


def test_a_line_of_official_figures_has_no_provisional_mark() -> None:
    raw = yaml.safe_load(SCHEME)
    raw["sources"]["draft"]["provisional"] = False
    raw["sources"]["draft"]["ref"] = "GB/T 1 [V]"
    raw["sources"]["form"]["provisional"] = False
    raw["sources"]["form"]["ref"] = "GB/T 2 [V]"
    official = parse_scheme(raw, file="official.yaml")
    result = score(official, {"renewable": Quantity("20", "%", "4000")}, basic={})
    assert not result.provisional and result.indicators[0].provisional == ()
    assert "暂定" not in result.indicators[0].rule_zh
    assert "provisional" not in result.indicators[0].rule_en


def test_a_product_line_is_plain_data_in_the_result() -> None:
    result = run(energy=Products([product()]))
    (line,) = [i for i in result_dict(result)["indicators"] if i["id"] == "energy"]
    assert line["products"] == [{
        "name": "水泥熟料", "amount": "100", "unit": "kgce/t", "standard": "GB 16780-2021",
        "grade1": "90", "grade2": "110", "weight": "1", "share": "1.0000", "points": "5.00"}]
    assert line["value"] == "per_product" and line["tier"] == "" and line["basis"] is None


# --- scheme checks for tiers and products ------------------------------------------------------


def _tier_defects(**indicator: Any) -> list[tuple[str, str]]:
    raw = yaml.safe_load(SCHEME)
    raw["categories"][0]["indicators"][0].update(indicator)
    raw["categories"][0]["indicators"][0] = {
        k: v for k, v in raw["categories"][0]["indicators"][0].items() if v is not None}
    _, found = scheme_defects(raw, file="t.yaml")
    return [(d.path.removeprefix("categories[0].indicators[0]."), d.problem) for d in found]


@pytest.mark.parametrize(
    ("change", "path", "problem"),
    [({"tiers": [{"min": 0, "baseline": 5, "leading": 30},
                 {"min": 5000, "baseline": 8, "leading": 40}]}, "tiers[1]", "overlaps tiers[0]"),
     ({"tiers": [{"min": 5000, "max": 3000, "baseline": 5, "leading": 30}]},
      "tiers[0].max", "is not above min"),
     ({"tiers": [{"baseline": 30, "leading": 5}]}, "tiers[0].leading",
      "forward indicator needs leading > baseline"),
     ({"tiers": []}, "tiers", "at least one tier"),
     ({"basis": None}, "basis", "needs a basis"),
     ({"baseline": 5, "leading": 30}, "tiers", "per tier"),
     ({"per_product": {"max": 3, "standard_zh": "标准", "standard_en": "std"}}, "per_product",
      "not both")],
    ids=["overlap", "min-above-max", "tier-wrong-way", "no-tier", "no-basis",
         "baseline-beside-tiers", "tiers-and-products"],
)
def test_a_tier_defect_is_refused(change: dict[str, Any], path: str, problem: str) -> None:
    found = _tier_defects(**change)
    assert any(p == path and problem in text for p, text in found), found


def test_tiers_and_products_need_a_one_year_scheme() -> None:
    _, found = scheme_defects({**yaml.safe_load(SCHEME), "years": 3}, file="t.yaml")
    assert [d.path for d in found] == ["categories[0].indicators[0].tiers",
                                       "categories[0].indicators[1].per_product"]


def test_a_quantitative_indicator_needs_targets_or_tiers() -> None:
    found = _tier_defects(tiers=None, basis=None)
    assert ("baseline", ("a quantitative indicator needs a baseline and a leading value, "
                        "or tiers")) in found


# --- values as callers send and as they are stored ------------------------------------------------


def test_a_basis_and_products_are_stored_and_read_back() -> None:
    stored = domain.parse_value("renewable", amount="20", unit="%", option="", met=None,
                                yearly=[], basis="4000")
    assert stored == {"amount": "20", "unit": "%", "basis": "4000"}
    assert domain.stored_value(stored) == Quantity("20", "%", "4000")
    sent = {"name": "A", "amount": "100", "unit": "kgce/t", "standard": "GB 1",
            "grade1": "90", "grade2": "110", "weight": "3"}
    stored = domain.parse_value("energy", amount="", unit="", option="", met=None, yearly=[],
                                products=[sent])
    assert stored == {"products": [sent]}
    assert domain.stored_value(stored) == Products([Product(**sent)])


def test_a_value_stored_before_tiers_and_products_reads_as_it_did() -> None:
    assert domain.stored_value({"amount": "1", "unit": "%"}) == Quantity("1", "%")
    assert domain.stored_value({"yearly": ["1"], "unit": "%"}) == Yearly(["1"], "%")


def test_a_product_number_that_is_not_a_number_is_refused_when_sent() -> None:
    with pytest.raises(DomainError) as info:
        domain.parse_value("energy", amount="", unit="", option="", met=None, yearly=[],
                           products=[{"name": "A", "amount": "1,5", "weight": "1"}])
    assert info.value.code == "value.not_a_number" and info.value.params["value"] == "1,5"


def test_a_huge_number_is_refused_not_an_overflow() -> None:
    for amount in ("1e999999", "-1e999999", "9" * 20):
        with pytest.raises(DomainError) as info:
            run(energy=Quantity(amount, "kgce/万元"))
        assert info.value.code == "value.too_large"


# --- GB/T 36132-2025 version 2: the corrected structure ----------------------------------------


V2 = get_scheme("gbt36132-2025", 2)


def _indicator(indicator_id: str) -> Any:
    return next(i for _, i in V2.indicators() if i.id == indicator_id)


def test_version_2_keeps_30_30_and_adds_up() -> None:
    assert [(c.id, c.points) for c in V2.categories] == [
        ("energy_low_carbon", 30), ("resource_efficiency", 30), ("clean_production", 16),
        ("green_products", 16), ("land_intensive", 8)]
    assert V2.total == 100 and V2.provisional


def test_version_2_has_the_second_pass_rows() -> None:
    ids = {i.id for _, i in V2.indicators()}
    assert {"energy_saving_products_share", "wastewater_pollutants", "waste_gas_pollutants",
            "material_saving_case_1", "material_saving_case_2"} <= ids
    assert "pollutant_vs_permit" not in ids and "material_saving" not in ids
    for pollutant in ("wastewater_pollutants", "waste_gas_pollutants"):
        assert _indicator(pollutant).direction == "forward"
    assert all(isinstance(_indicator(f"material_saving_case_{n}"), Qualitative) for n in (1, 2))


def test_version_2_per_product_energy_and_water_and_tiered_renewables() -> None:
    energy, water = _indicator("energy_intensity"), _indicator("water_intensity")
    assert (energy.unit, energy.per_product.max) == ("kgce/万元", 3)
    assert (water.unit, water.per_product.max) == ("m³/万元", 3)
    renewable = _indicator("renewable_share")
    assert renewable.basis.unit == "tce"
    assert [(t.min, t.max) for t in renewable.tiers] == [
        (10000, None), (5000, 10000), (3000, 5000), (None, 3000)]
    assert _indicator("carbon_intensity").unit == "kgCO2/万元"
    assert _indicator("output_per_land").unit == "万元/m²"


def test_version_2_scores_a_full_evaluation() -> None:
    values: dict[str, Value] = {
        "energy_intensity": Products([product("A", "100", "90", "110", "3"),
                                      product("B", "80", "90", "110", "1")]),  # 3/4 × 4.5 + 1/4 × 9
        "carbon_intensity": Quantity("400", "kgCO2/万元"),      # 8 × 200/400 = 4
        "renewable_share": Quantity("20", "%", "12000"),         # 7 × 15/25 = 4.2
        "energy_carbon_platform": Quantity("8", "项"),           # 6
        "material_saving_case_1": "measured",                    # 4.5
        "material_saving_case_2": "described",                   # 2.25
        "water_intensity": Quantity("5", "m³/万元"),             # 7 × 3/6 = 3.5
        "water_reuse": Quantity("90", "%"),                      # 3.5
        "solid_waste_utilisation": Quantity("95", "%"),          # 7
        "advanced_equipment": "one",                             # 2
        "retrofit_projects": Quantity("1", "个/年"),             # 1.5
        "retrofit_investment": Quantity("3", "%"),               # 3
        "wastewater_pollutants": Quantity("25", "%"),            # 1.5
        "waste_gas_pollutants": Quantity("50", "%"),             # 3
        "green_design": "certified",                             # 6
        "carbon_footprint_share": Quantity("30", "%"),           # 2.5
        "energy_saving_products_share": Quantity("25", "%"),     # 2.5
        "output_per_land": Quantity("0.45", "万元/m²"),          # 1.5
        "building_coverage": Quantity("40", "%"),                # 1.5
        "plot_ratio": Quantity("1.5", "-"),                      # 2
    }
    result = score(V2, values, basic={r.id: True for r in V2.basic_requirements})
    assert result.indicator("energy_intensity").points == D("5.63")   # 5.625
    assert [c.points for c in result.categories] == [
        D("19.83"), D("20.75"), D("11.00"), D("11.00"), D("5.00")]
    assert result.total == D("67.58") and result.passed and result.missing == ()
    assert all(line.provisional for line in result.indicators)


def test_version_1_still_scores_exactly_as_before() -> None:
    v1 = get_scheme("gbt36132-2025", 1)
    result = score(v1, GBT2025_VALUES, basic={r.id: True for r in v1.basic_requirements})
    assert result.total == D("71.22")
    assert [line.points for line in result.indicators] == [
        D(p) for p in ("6.88", "6.00", "4.20", "6.00", "4.50", "4.67", "4.90", "7.00", "6.00",
                       "3.75", "2.40", "4.00", "3.00", "1.67", "2.00", "2.25", "2.00")]
    platform = result.indicator("energy_carbon_platform")
    assert platform.provisional == ("points", "baseline", "leading")
    assert isinstance(next(i for _, i in v1.indicators() if i.id == "renewable_share"),
                      Quantitative)
