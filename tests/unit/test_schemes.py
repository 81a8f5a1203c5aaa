"""Evaluation schemes as data (SPEC §4, services/evaluation/schemes/ and data/schemes/)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.evaluation.schemes import (
    SCHEMES,
    Check,
    Quantitative,
    Scheme,
    collect,
    get_scheme,
    loading,
    read_scheme_file,
    schemes,
)
from services.kernel.errors import DomainError, Kind


def load_scheme(path: Path) -> Scheme:
    """One file read and checked, or its first defect raised."""
    scheme, found = read_scheme_file(path)
    if scheme is None:
        raise found[0].error()
    return scheme


def load_schemes(directory: Path) -> dict[tuple[str, int], Scheme]:
    """A folder read and checked, or its first defect raised."""
    catalogue = collect([directory])
    if catalogue.defects:
        raise catalogue.defects[0].error()
    return dict(catalogue.schemes)

# A small valid scheme; each defect below is one change to it.
BASE = """
id: test-scheme
version: 1
title_zh: 测试方案
title_en: Test scheme
category: factory
effective_from: 2025-01-01
sources:
  official: {provisional: false, zh: 正式文本, en: The official text, ref: GB/T 0-2025}
  placeholder: {provisional: true, zh: 暂定值, en: Placeholder, ref: "notes [U]"}
total: 10
source: official
pass_mark: {default: 6, source: placeholder}
basic_requirements:
  - {id: lawful, text_zh: 依法设立, text_en: Lawfully established}
categories:
  - id: energy
    name_zh: 能源
    name_en: Energy
    points: 6
    source: official
    indicators:
      - id: intensity
        kind: quantitative
        name_zh: 单位产值综合能耗
        name_en: Energy per output value
        unit: tce/万元
        direction: reverse
        baseline: 0.5
        leading: 0.1
        points: 4
        source: {points: official, baseline: placeholder, leading: placeholder}
      - id: platform
        kind: qualitative
        name_zh: 能碳管理平台
        name_en: Energy and carbon platform
        points: 2
        source: {points: official, rubric: placeholder}
        rubric:
          - {id: none, text_zh: 无, text_en: None, fraction: 0}
          - {id: full, text_zh: 完善, text_en: Complete, fraction: 1}
  - id: management
    name_zh: 管理体系
    name_en: Management
    points: 4
    source: official
    indicators:
      - {id: ems, kind: required, name_zh: 能源管理体系, name_en: Energy management, points: 3,
         source: official}
      - {id: csr, kind: optional, name_zh: 社会责任报告, name_en: CSR report, points: 1,
         source: placeholder}
"""


def base() -> dict[str, Any]:
    return yaml.safe_load(BASE)


def write(tmp_path: Path, data: dict[str, Any] | str, name: str = "scheme.yaml") -> Path:
    path = tmp_path / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, data: dict[str, Any] | str) -> DomainError:
    with pytest.raises(DomainError) as info:
        load_scheme(write(tmp_path, data))
    assert info.value.code == "scheme.invalid" and info.value.kind is Kind.INVALID
    assert info.value.params["file"] == "scheme.yaml"
    return info.value


def quantitative(d: dict[str, Any]) -> dict[str, Any]:
    return d["categories"][0]["indicators"][0]


def rubric(d: dict[str, Any]) -> list[dict[str, Any]]:
    return d["categories"][0]["indicators"][1]["rubric"]


def test_the_base_scheme_is_valid(tmp_path: Path) -> None:
    scheme = load_scheme(write(tmp_path, base()))
    assert scheme.key == ("test-scheme", 1)
    assert [ind.id for _, ind in scheme.indicators()] == ["intensity", "platform", "ems", "csr"]
    assert scheme.pass_mark.for_level(None) == scheme.pass_mark.for_level("national") == 6


# --- every kind of defect is refused, naming where ------------------------------------------------


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        *parents, last = path
        for key in parents:
            d = d[key]
        d[last] = value
    return change


def _delete(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        *parents, last = path
        for key in parents:
            d = d[key]
        del d[last]
    return change


IND0 = ("categories", 0, "indicators", 0)
RUBRIC = ("categories", 0, "indicators", 1, "rubric")

DEFECTS: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("duplicate indicator id", _set(("categories", 1, "indicators", 1, "id"), "intensity"),
     "categories[1].indicators[1].id", "duplicate id 'intensity'"),
    ("category id reuses a requirement id", _set(("categories", 1, "id"), "lawful"),
     "categories[1].id", "first used at basic_requirements[0].id"),
    ("duplicate rubric option id", _set((*RUBRIC, 1, "id"), "none"),
     "categories[0].indicators[1].rubric[1].id", "duplicate option id 'none'"),
    ("indicators do not add up to their category", _set((*IND0, "points"), 5),
     "categories[0].points", "indicators add up to 7, the category says 6"),
    ("categories do not add up to the total", _set(("total",), 12),
     "total", "categories add up to 10, the scheme says 12"),
    ("baseline equals leading", _set((*IND0, "leading"), 0.5),
     "categories[0].indicators[0].leading", "equals the baseline"),
    ("forward indicator with leading below baseline", _set((*IND0, "direction"), "forward"),
     "categories[0].indicators[0].leading", "forward indicator needs leading > baseline"),
    ("reverse indicator with leading above baseline", _set((*IND0, "leading"), 0.9),
     "categories[0].indicators[0].leading", "reverse indicator needs leading < baseline"),
    ("unknown direction", _set((*IND0, "direction"), "upward"),
     "categories[0].indicators[0].direction", "'forward' or 'reverse'"),
    ("unknown kind", _set(("categories", 1, "indicators", 1, "kind"), "bonus"),
     "categories[1].indicators[1].kind", "unknown kind 'bonus'; expected one of quantitative"),
    ("missing kind", _delete(("categories", 1, "indicators", 0, "kind")),
     "categories[1].indicators[0].kind", "missing kind"),
    ("rubric fraction above 1", _set((*RUBRIC, 1, "fraction"), 1.5),
     "categories[0].indicators[1].rubric[1].fraction", "less than or equal to 1"),
    ("rubric fraction below 0", _set((*RUBRIC, 0, "fraction"), -0.1),
     "categories[0].indicators[1].rubric[0].fraction", "greater than or equal to 0"),
    ("no rubric option reaches full points", _set((*RUBRIC, 1, "fraction"), 0.8),
     "categories[0].indicators[1].rubric", "no option has fraction 1"),
    ("quantitative indicator without a unit", _delete((*IND0, "unit")),
     "categories[0].indicators[0].unit", "Field required"),
    ("quantitative indicator with a blank unit", _set((*IND0, "unit"), "  "),
     "categories[0].indicators[0].unit", "at least 1 character"),
    ("default pass mark above the total", _set(("pass_mark", "default"), 11),
     "pass_mark.default", "pass mark 11 is above the total 10"),
    ("level pass mark above the total", _set(("pass_mark", "national"), 10.5),
     "pass_mark.national", "pass mark 10.5 is above the total 10"),
    ("misspelt key", _set((*IND0, "leadng"), 0.1),
     "categories[0].indicators[0].leadng", "Extra inputs are not permitted"),
    ("aggregate on a one-year scheme", _set((*IND0, "aggregate"), "latest"),
     "categories[0].indicators[0].aggregate", "more than one year"),
    ("unknown scheme category", _set(("category",), "shop"),
     "category", "'factory', 'park' or 'supply_chain'"),
    ("non-positive points", _set(("categories", 1, "indicators", 1, "points"), 0),
     "categories[1].indicators[1].points", "greater than 0"),
    ("category without indicators", _set(("categories", 1, "indicators"), []),
     "categories[1].indicators", "at least 1 item"),
    ("malformed id", _set(("basic_requirements", 0, "id"), "has space"),
     "basic_requirements[0].id", "should match pattern"),
]


@pytest.mark.parametrize(("change", "path", "problem"),
                         [d[1:] for d in DEFECTS], ids=[d[0] for d in DEFECTS])
def test_a_defect_is_refused_at_its_path(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], path: str, problem: str
) -> None:
    data = base()
    change(data)
    err = refusal(tmp_path, data)
    assert err.params["path"] == path
    assert problem in err.params["problem"]


def test_the_refusal_reads_in_both_languages(tmp_path: Path) -> None:
    data = base()
    quantitative(data)["leading"] = 0.5
    err = refusal(tmp_path, data)
    assert err.message("en").startswith(
        "Scheme file scheme.yaml is invalid at categories[0].indicators[0].leading: ")
    assert err.message("zh").startswith(
        "评价方案文件 scheme.yaml 有误：categories[0].indicators[0].leading：")


def test_not_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    err = refusal(tmp_path, "id: x\ncategories: [\n  - a: b\n")
    assert err.params["path"].startswith("line ")
    assert "not valid YAML" in err.params["problem"]


def test_a_list_is_not_a_scheme(tmp_path: Path) -> None:
    err = refusal(tmp_path, "- id: x\n")
    assert err.params["path"] == "(root)"


def test_two_files_may_not_claim_the_same_version(tmp_path: Path) -> None:
    write(tmp_path, base(), "a.yaml")
    write(tmp_path, base(), "b.yaml")
    with pytest.raises(DomainError) as info:
        load_schemes(tmp_path)
    assert info.value.params["file"] == "b.yaml" and info.value.params["path"] == "version"
    assert "already defined in a.yaml" in info.value.params["problem"]


# --- the shipped schemes ----------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(SCHEMES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_scheme_loads(path: Path) -> None:
    scheme = load_scheme(path)
    assert scheme.total == 100
    assert sum(c.points for c in scheme.categories) == scheme.total
    assert scheme.basic_requirements, "every scheme has one-vote-veto basic requirements"
    assert schemes()[scheme.key] == scheme


def test_the_shipped_set() -> None:
    assert sorted(schemes()) == [
        ("gbt36132-2018", 1), ("gbt36132-2025", 1), ("gbt36132-2025", 2),
        ("park-requirements", 1), ("supply-chain-general", 1),
    ]
    assert schemes() is schemes()  # loaded once


def _categories(scheme_id: str) -> list[tuple[str, Decimal]]:
    return [(c.name_zh, c.points) for c in get_scheme(scheme_id).categories]


def test_gbt36132_2018_six_indicators_with_required_and_optional_items() -> None:
    assert _categories("gbt36132-2018") == [
        ("基础设施", 20), ("管理体系", 15), ("能源与资源投入", 15),
        ("产品", 10), ("环境排放", 10), ("绩效", 30),
    ]
    scheme = get_scheme("gbt36132-2018")
    for category in scheme.categories[:5]:
        kinds = {ind.kind for ind in category.indicators}
        assert kinds == {"required", "optional"}, category.id
    performance = scheme.categories[5].indicators
    assert len(performance) == 12 and all(isinstance(i, Quantitative) for i in performance)


@pytest.mark.parametrize("version", [1, 2])
def test_gbt36132_2025_five_indicators_energy_and_resources_weigh_60(version: int) -> None:
    scheme = get_scheme("gbt36132-2025", version)
    assert [c.name_zh for c in scheme.categories] == [
        "能源低碳化", "资源高效化", "生产洁净化", "产品绿色化", "用地集约化"]
    assert scheme.effective_from.isoformat() == "2025-12-31"
    assert scheme.categories[0].points + scheme.categories[1].points == 60
    kinds = [ind.kind for _, ind in scheme.indicators()]
    assert set(kinds) == {"quantitative", "qualitative"}
    directions = {ind.direction for _, ind in scheme.indicators() if isinstance(ind, Quantitative)}
    assert directions == {"forward", "reverse"}
    quantitative_points = sum(ind.points for _, ind in scheme.indicators()
                              if isinstance(ind, Quantitative))
    assert quantitative_points > scheme.total / 2  # quantitative indicators dominate


def test_park_scheme_six_categories_31_indicators_three_years() -> None:
    assert [name for name, _ in _categories("park-requirements")] == [
        "能源利用绿色化", "资源利用绿色化", "基础设施绿色化",
        "产业绿色化", "生态环境绿色化", "运行管理绿色化"]
    scheme = get_scheme("park-requirements")
    assert scheme.category == "park" and scheme.years == 3 and scheme.aggregate == "mean"
    assert len(list(scheme.indicators())) == 31


def test_supply_chain_scheme_20_indicators_100_points() -> None:
    assert [points for _, points in _categories("supply-chain-general")] == [20, 20, 20, 20, 10, 10]
    scheme = get_scheme("supply-chain-general")
    ids = [ind.id for _, ind in scheme.indicators()]
    assert len(ids) == 20 and ids[0] == "X11" and ids[-1] == "X64"
    assert not any(isinstance(ind, Check) for _, ind in scheme.indicators())


# --- looking schemes up -----------------------------------------------------------------------


def test_get_scheme_by_version_and_latest(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A new version is a new file; without a version the highest one is returned."""
    write(tmp_path, base(), "test-scheme.yaml")
    newer = base()
    newer["version"] = 2
    newer["pass_mark"]["default"] = 7
    write(tmp_path, newer, "test-scheme.v2.yaml")
    loaded = load_schemes(tmp_path)
    monkeypatch.setattr(loading, "schemes", lambda: loaded)
    assert get_scheme("test-scheme").version == 2
    assert get_scheme("test-scheme", 1).pass_mark.default == 6
    assert get_scheme("test-scheme", 2).pass_mark.default == 7


def test_get_scheme_shipped_latest() -> None:
    assert get_scheme("gbt36132-2025").key == ("gbt36132-2025", 2)


@pytest.mark.parametrize(("scheme_id", "version", "shown"),
                         [("gbt36132-2030", None, "latest"), ("gbt36132-2025", 9, "9")])
def test_unknown_scheme_is_not_found(scheme_id: str, version: int | None, shown: str) -> None:
    with pytest.raises(DomainError) as info:
        get_scheme(scheme_id, version)
    assert info.value.code == "scheme.unknown" and info.value.kind is Kind.NOT_FOUND
    assert info.value.params == {"id": scheme_id, "version": shown}
    assert scheme_id in info.value.message("en")
