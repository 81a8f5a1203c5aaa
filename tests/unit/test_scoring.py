"""Automated scoring (SPEC §4, services/evaluation/scoring/)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml

from services.evaluation.schemes import Scheme, get_scheme, parse_scheme
from services.evaluation.scoring import (
    Quantity,
    Result,
    Value,
    Yearly,
    interpolate,
    round_points,
    score,
)
from services.kernel.errors import DomainError, Kind

D = Decimal

# Total 20: forward 10, reverse 4 and rubric 2 in category "a"; required 3 and optional 1 in "b".
# Every figure is official except the baseline and leading value of "intensity" and the rubric.
SCHEME = """
id: t
version: 1
title_zh: 测试
title_en: Test
category: factory
effective_from: 2025-01-01
sources:
  law: {provisional: false, zh: 正式文本, en: The official text, ref: GB/T 0-2025}
  draft: {provisional: true, zh: 暂定, en: Placeholder, ref: "notes [U]"}
total: 20
source: law
pass_mark: {default: 12, national: 16, source: law}
basic_requirements:
  - {id: lawful, text_zh: 依法设立, text_en: Lawfully established}
  - {id: no_accident, text_zh: 近三年无较大事故, text_en: No major accident in three years}
categories:
  - id: a
    name_zh: 甲
    name_en: A
    points: 16
    source: law
    indicators:
      - {id: reuse, kind: quantitative, name_zh: 工业用水重复利用率, name_en: Water reuse,
         unit: "%", direction: forward, baseline: 60, leading: 90, points: 10, source: law}
      - {id: intensity, kind: quantitative, name_zh: 单位产值综合能耗, name_en: Energy intensity,
         unit: tce/万元, direction: reverse, baseline: 0.5, leading: 0.1, points: 4,
         source: {points: law, baseline: draft, leading: draft}}
      - id: platform
        kind: qualitative
        name_zh: 能碳管理平台
        name_en: Energy and carbon platform
        points: 2
        source: {points: law, rubric: draft}
        rubric:
          - {id: none, text_zh: 无, text_en: None, fraction: 0}
          - {id: partial, text_zh: 部分, text_en: Partial, fraction: 0.5}
          - {id: full, text_zh: 完善, text_en: Complete, fraction: 1}
  - id: b
    name_zh: 乙
    name_en: B
    points: 4
    source: law
    indicators:
      - {id: ems, kind: required, name_zh: 能源管理体系, name_en: Energy management, points: 3,
         source: law}
      - {id: csr, kind: optional, name_zh: 社会责任报告, name_en: CSR report, points: 1,
         source: law}
"""

MET = {"lawful": True, "no_accident": True}


def scheme_of(text: str = SCHEME, **changes: Any) -> Scheme:
    raw = yaml.safe_load(text)
    raw.update(changes)
    return parse_scheme(raw, file="t.yaml")


def full(**overrides: Value) -> dict[str, Value]:
    """Every indicator of SCHEME at full points, then ``overrides``."""
    values: dict[str, Value] = {
        "reuse": Quantity(95, "%"), "intensity": Quantity("0.1", "tce/万元"),
        "platform": "full", "ems": True, "csr": True,
    }
    values.update(overrides)
    return values


def run(values: dict[str, Value], *, basic: dict[str, bool] | None = None,
        level: str | None = None) -> Result:
    return score(scheme_of(), values, basic=MET if basic is None else basic, level=level)


def refusal(values: dict[str, Value], *, basic: dict[str, bool] | None = None,
            level: str | None = None) -> DomainError:
    with pytest.raises(DomainError) as info:
        run(values, basic=basic, level=level)
    assert info.value.kind is Kind.INVALID
    return info.value


# --- interpolation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "points"),
    [(60, "0.00"), (90, "10.00"), (75, "5.00"), (40, "0.00"), (99, "10.00"), (70, "3.33")],
    ids=["baseline", "leading", "midpoint", "below-baseline", "beyond-leading", "third"],
)
def test_forward_interpolation(value: int, points: str) -> None:
    result = run(full(reuse=Quantity(value, "%")))
    assert result.indicator("reuse").points == D(points)


@pytest.mark.parametrize(
    ("value", "points"),
    [("0.5", "0.00"), ("0.1", "4.00"), ("0.3", "2.00"), ("0.7", "0.00"), ("0.05", "4.00")],
    ids=["baseline", "leading", "midpoint", "worse-than-baseline", "beyond-leading"],
)
def test_reverse_interpolation(value: str, points: str) -> None:
    result = run(full(intensity=Quantity(value, "tce/万元")))
    assert result.indicator("intensity").points == D(points)


def test_interpolate_is_one_formula_for_both_directions() -> None:
    assert interpolate(D(75), baseline=D(60), leading=D(90), points=D(10)) == 5
    assert interpolate(D("0.3"), baseline=D("0.5"), leading=D("0.1"), points=D(4)) == 2
    # unrounded: the rounding is the caller's last step
    assert interpolate(D(70), baseline=D(60), leading=D(90), points=D(10)) == D(10) / 3


def test_float_input_is_taken_at_its_shortest_repr() -> None:
    result = run(full(intensity=Quantity(0.3, "tce/万元")))
    assert result.indicator("intensity").value == D("0.3")
    assert result.indicator("intensity").points == D("2.00")


# --- explanation --------------------------------------------------------------------------------


def test_every_indicator_is_explained() -> None:
    line = run(full(reuse=Quantity(75, "%"))).indicator("reuse")
    assert (line.id, line.category, line.kind, line.name_zh) == ("reuse", "a", "quantitative",
                                                                 "工业用水重复利用率")
    assert (line.value, line.unit, line.baseline, line.leading) == (75, "%", 60, 90)
    assert (line.points, line.max_points, line.missing) == (D("5.00"), 10, False)
    assert line.rule_zh == "正向定量：≤ 基准值 60 得 0 分，≥ 引领值 90 得满分 10 分，其间线性插值"
    assert line.rule_en.startswith("Forward: at or below the baseline 60 scores 0")
    reverse = run(full()).indicator("intensity")
    assert reverse.rule_zh.startswith("逆向定量：≥ 基准值 0.5 得 0 分，≤ 引领值 0.1 得满分 4 分")


# --- qualitative ------------------------------------------------------------------------------


def test_rubric_scores_fraction_times_points() -> None:
    result = run(full(platform="partial"))
    line = result.indicator("platform")
    assert line.points == D("1.00") and line.max_points == 2 and line.value == "partial"
    assert "“部分”" in line.rule_zh and "fraction 0.5 × 2" in line.rule_en
    assert run(full(platform="none")).indicator("platform").points == 0


def test_unknown_rubric_option_is_refused() -> None:
    err = refusal(full(platform="excellent"))
    assert err.code == "value.unknown_option"
    assert err.params == {"id": "platform", "option": "excellent", "allowed": "none/partial/full"}


# --- required and optional items --------------------------------------------------------------


def test_required_item_not_met_fails_the_evaluation_and_is_named() -> None:
    result = run(full(ems=False))
    assert result.indicator("ems").points == 0
    assert result.failed_required == ("ems",)
    assert result.total == D("17.00") and result.total >= result.pass_mark
    assert not result.passed and not result.vetoed


def test_optional_item_not_met_only_costs_its_points() -> None:
    result = run(full(csr=False))
    assert result.total == D("19.00") and result.passed and result.failed_required == ()


# --- basic requirements: one-vote veto ---------------------------------------------------------


def test_basic_requirement_unmet_vetoes_but_the_score_is_still_computed() -> None:
    result = run(full(), basic={"lawful": True, "no_accident": False})
    assert result.vetoed and result.vetoed_by == ("no_accident",)
    assert result.total == 20 and not result.passed


def test_basic_requirement_not_declared_counts_as_unmet() -> None:
    result = run(full(), basic={"lawful": True})
    assert result.vetoed_by == ("no_accident",) and not result.passed


def test_all_basic_requirements_met_no_veto() -> None:
    result = run(full())
    assert not result.vetoed and result.passed and result.total == 20


# --- rounding --------------------------------------------------------------------------------


def test_each_indicator_rounds_half_up_to_two_decimals() -> None:
    wide = scheme_of(SCHEME.replace("baseline: 60, leading: 90", "baseline: 0, leading: 1000"))
    result = score(wide, full(reuse=Quantity("234.5", "%")), basic=MET)
    assert result.indicator("reuse").points == D("2.35")  # exactly 2.345 before rounding
    result = score(wide, full(reuse=Quantity("234.4999", "%")), basic=MET)
    assert result.indicator("reuse").points == D("2.34")
    assert round_points(D("2.345")) == D("2.35") and round_points(D("2.355")) == D("2.36")


def test_category_and_total_add_the_rounded_figures() -> None:
    # reuse 60.375 → 0.125 → 0.13; intensity 0.4875 → 0.125 → 0.13; the category is 0.26, not the
    # 0.25 that rounding the raw sum would give
    result = run(full(reuse=Quantity("60.375", "%"), intensity=Quantity("0.4875", "tce/万元"),
                      platform="none"))
    assert result.indicator("reuse").points == result.indicator("intensity").points == D("0.13")
    assert result.category("a").points == D("0.26")
    assert result.total == D("0.26") + result.category("b").points == D("4.26")
    assert result.total == sum(line.points for line in result.indicators)


# --- units and invalid input ------------------------------------------------------------------


def test_unit_must_match_exactly() -> None:
    err = refusal(full(reuse=Quantity(95, "％")))  # a full-width percent sign is another unit
    assert err.code == "value.unit_mismatch"
    assert err.params == {"id": "reuse", "unit": "％", "expected": "%"}
    assert "'%'" in err.message("en")


@pytest.mark.parametrize(
    ("values", "code", "params"),
    [
        ({"water": Quantity(1, "%")}, "value.unknown_indicator", {"scheme": "t v1", "id": "water"}),
        ({"reuse": 95}, "value.expects_quantity", {"id": "reuse", "unit": "%", "got": "int 95"}),
        ({"reuse": Yearly([1, 2, 3], "%")}, "value.expects_quantity", None),
        ({"platform": Quantity(1, "%")}, "value.expects_option", None),
        ({"ems": "yes"}, "value.expects_yes_no", {"id": "ems", "got": "str 'yes'"}),
        ({"csr": 1}, "value.expects_yes_no", None),
        ({"reuse": Quantity("NaN", "%")}, "value.not_a_number", {"id": "reuse", "value": "NaN"}),
        ({"reuse": Quantity("lots", "%")}, "value.not_a_number", None),
        ({"reuse": Quantity(True, "%")}, "value.not_a_number", None),
    ],
    ids=["unknown-indicator", "bare-number", "yearly-on-one-year", "quantity-for-rubric",
         "string-for-yes-no", "int-for-yes-no", "nan", "text", "bool-amount"],
)
def test_invalid_values_are_refused(values: dict[str, Value], code: str,
                                    params: dict[str, str] | None) -> None:
    err = refusal(values)
    assert err.code == code
    if params is not None:
        assert err.params == params
    assert err.message("en") != code and err.message("zh") != code  # both catalogued


def test_unknown_or_non_boolean_basic_requirement_is_refused() -> None:
    assert refusal(full(), basic={**MET, "tax": True}).code == "value.unknown_requirement"
    assert refusal(full(), basic={"lawful": "yes"}).code == "value.expects_yes_no"


# --- missing values ---------------------------------------------------------------------------


def test_missing_values_score_zero_and_are_listed() -> None:
    values = full()
    del values["reuse"], values["platform"], values["csr"]
    values["ems"] = None  # an empty form field counts as not reported
    result = run(values)
    assert result.missing == ("reuse", "platform", "ems", "csr")
    assert result.failed_required == ("ems",)  # a required item not reported is not met
    assert result.total == D("4.00") and not result.passed
    line = result.indicator("reuse")
    assert line.missing and line.value is None and line.points == 0 and line.max_points == 10
    assert line.rule_zh.endswith("未填报，得 0 分") and line.rule_en.endswith("not reported: 0 points")


# --- pass marks -------------------------------------------------------------------------------


def test_pass_mark_per_level_falls_back_to_the_default() -> None:
    values = full(reuse=Quantity(78, "%"))  # 6 of 10 → total 16
    assert run(values).pass_mark == 12 and run(values).passed
    assert run(values, level="provincial").pass_mark == 12
    national = run(values, level="national")
    assert national.pass_mark == 16 and national.passed and national.level == "national"
    below = run(full(reuse=Quantity(75, "%")), level="national")  # 15 < 16
    assert below.total == 15 and not below.passed


def test_unknown_level_is_refused() -> None:
    err = refusal(full(), level="county")
    assert err.code == "scoring.level_unknown"


# --- parks: three years of data ---------------------------------------------------------------


def test_park_indicator_scores_the_three_year_mean() -> None:
    park = get_scheme("park-requirements")
    # 能源产出率 baseline 1, leading 3, 8 points: mean of 1.5, 2, 2.5 is 2 → 4 points
    result = score(park, {"energy_productivity": Yearly(["1.5", 2, "2.5"], "万元/tce")},
                   basic={r.id: True for r in park.basic_requirements})
    line = result.indicator("energy_productivity")
    assert line.yearly == (D("1.5"), D(2), D("2.5")) and line.value == 2
    assert line.points == D("4.00") and line.rule_zh.startswith("取近 3 年平均值；正向定量")
    assert len(result.missing) == 30 and not result.passed


def test_an_indicator_may_take_the_latest_year() -> None:
    text = SCHEME.replace("points: 10, source: law}", "points: 10, source: law, aggregate: latest}")
    three_years = scheme_of(text, years=3)
    values = full(reuse=Yearly([90, 90, 75], "%"), intensity=Yearly(["0.3"] * 3, "tce/万元"))
    result = score(three_years, values, basic=MET)
    assert result.indicator("reuse").value == 75 and result.indicator("reuse").points == 5
    assert result.indicator("intensity").value == D("0.3")  # the mean, the scheme's default


@pytest.mark.parametrize(
    ("value", "code"),
    [(Yearly([1, 2], "万元/tce"), "value.years"),
     (Yearly([1, 2, 3, 4], "万元/tce"), "value.years"),
     (Quantity(2, "万元/tce"), "value.expects_yearly"),
     (Yearly("123", "万元/tce"), "value.expects_yearly"),
     (Yearly([1, 2, 3], "tce/万元"), "value.unit_mismatch")],
    ids=["two-years", "four-years", "single-quantity", "string-of-digits", "unit"],
)
def test_park_values_need_three_years_in_the_right_unit(value: Value, code: str) -> None:
    park = get_scheme("park-requirements")
    with pytest.raises(DomainError) as info:
        score(park, {"energy_productivity": value}, basic={})
    assert info.value.code == code


# --- a full GB/T 36132-2025 evaluation --------------------------------------------------------


GBT2025_VALUES: dict[str, Value] = {
    "energy_per_output": Quantity("0.12", "tce/万元"),    # 9 × 0.13/0.17 = 6.882… → 6.88
    "carbon_per_output": Quantity("0.3", "tCO2/万元"),    # 8 × 0.3/0.4 = 6.00
    "renewable_share": Quantity(20, "%"),                 # 7 × 15/25 = 4.20
    "energy_carbon_platform": Quantity(9, "项"),          # past the leading value 8 → 6.00
    "material_saving": "one_case",                        # 0.5 × 9 = 4.50
    "water_per_output": Quantity(4, "m³/万元"),           # 7 × 4/6 = 4.666… → 4.67
    "water_reuse": Quantity(92, "%"),                     # 7 × 7/10 = 4.90
    "solid_waste_utilisation": Quantity(95, "%"),         # at the leading value → 7.00
    "advanced_equipment": "several",                      # 6.00
    "retrofit_projects": Quantity("1.5", "个/年"),        # 5 × 1.5/2 = 3.75
    "retrofit_investment": Quantity(2, "%"),              # 4 × 1.5/2.5 = 2.40
    "pollutant_vs_permit": Quantity(60, "%"),             # 5 × 40/50 = 4.00
    "green_design": "ecodesign",                          # 0.5 × 6 = 3.00
    "carbon_footprint_share": Quantity(25, "%"),          # 4 × 25/60 = 1.666… → 1.67
    "output_per_land": Quantity(4500, "万元/公顷"),       # 4 × 3000/6000 = 2.00
    "building_coverage": Quantity(45, "%"),               # 3 × 15/20 = 2.25
    "plot_ratio": Quantity("1.2", "-"),                   # 3 × 0.6/0.9 = 2.00
}


def test_full_gbt36132_2025_evaluation_passes() -> None:
    scheme = get_scheme("gbt36132-2025", 1)
    assert set(GBT2025_VALUES) == {ind.id for _, ind in scheme.indicators()}
    basic = {r.id: True for r in scheme.basic_requirements}
    result = score(scheme, GBT2025_VALUES, basic=basic)
    assert [(c.id, c.points, c.max_points) for c in result.categories] == [
        ("energy_low_carbon", D("23.08"), 30), ("resource_efficiency", D("21.07"), 30),
        ("clean_production", D("12.15"), 15), ("green_products", D("8.67"), 15),
        ("land_intensive", D("6.25"), 10),
    ]
    assert result.total == D("71.22") and result.max_total == 100
    assert result.pass_mark == 60 and result.passed
    assert result.missing == result.failed_required == result.vetoed_by == ()
    assert (result.scheme_id, result.scheme_version) == ("gbt36132-2025", 1)
    assert score(scheme, GBT2025_VALUES, basic=basic) == result  # deterministic


def test_full_gbt36132_2025_evaluation_vetoed_by_one_basic_requirement() -> None:
    scheme = get_scheme("gbt36132-2025", 1)
    basic = {r.id: r.id != "no_major_accident" for r in scheme.basic_requirements}
    result = score(scheme, GBT2025_VALUES, basic=basic)
    assert result.total == D("71.22") and not result.passed
    assert result.vetoed_by == ("no_major_accident",)


def test_full_gbt36132_2025_evaluation_below_the_mark() -> None:
    scheme = get_scheme("gbt36132-2025", 1)
    weak = dict(GBT2025_VALUES, energy_per_output=Quantity("0.3", "tce/万元"),
                carbon_per_output=Quantity("0.6", "tCO2/万元"), material_saving="none")
    result = score(scheme, weak, basic={r.id: True for r in scheme.basic_requirements})
    assert result.indicator("energy_per_output").points == 0  # worse than the baseline
    assert result.total == D("71.22") - D("6.88") - D("6.00") - D("4.50") == D("53.84")
    assert not result.passed and not result.vetoed and result.failed_required == ()


# --- supply chain: the GSCI is the total ------------------------------------------------------


def test_gsci_is_the_sum_of_the_indicator_scores() -> None:
    scheme = get_scheme("supply-chain-general")
    values: dict[str, Value] = {ind.id: "partial" for _, ind in scheme.indicators()
                                if ind.kind == "qualitative"}
    values.update(X26=Quantity(70, "%"), X41=Quantity(15, "%"), X42=Quantity(50, "%"))
    result = score(scheme, values, basic={r.id: True for r in scheme.basic_requirements})
    # qualitative: 86 points at half → 43; X26 4 × 20/40 = 2; X41 5 × 15/30 = 2.5; X42 5
    assert result.total == D("52.50")
    assert result.total == sum(line.points for line in result.indicators)
    assert result.total == sum(c.points for c in result.categories)
    assert [c.points for c in result.categories] == [
        D("10.00"), D("10.00"), D("10.00"), D("12.50"), D("5.00"), D("5.00")]


def test_2018_required_items_fail_the_evaluation_even_with_a_high_score() -> None:
    scheme = get_scheme("gbt36132-2018")
    values: dict[str, Value] = {}
    for _, ind in scheme.indicators():
        if ind.kind in ("required", "optional"):
            values[ind.id] = True
        elif ind.kind == "quantitative":
            values[ind.id] = Quantity(ind.leading, ind.unit)
    values["metering"] = False
    result = score(scheme, values, basic={r.id: True for r in scheme.basic_requirements})
    assert result.total == 98 and result.failed_required == ("metering",) and not result.passed
