"""Every figure of a scheme names its source, and a source says whether it is provisional
(issue 9 §1; services/evaluation/schemes/, data/schemes/*.yaml)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import yaml

from services.evaluation.schemes import (
    Qualitative,
    Quantitative,
    get_scheme,
    parse_scheme,
    scheme_defects,
    schemes,
)
from services.kernel.errors import DomainError
from tests.unit.test_schemes import BASE, IND0, _delete, _set


def base() -> dict[str, Any]:
    return yaml.safe_load(BASE)


def defects_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    scheme, found = scheme_defects(data, file="s.yaml")
    assert (scheme is None) == bool(found)
    return [(d.path, d.problem) for d in found]


# --- the base scheme: some figures official, some provisional ------------------------------------


def test_provisional_figures_are_named_per_item() -> None:
    scheme = parse_scheme(base(), file="s.yaml")
    energy = scheme.categories[0]
    intensity, platform = energy.indicators
    assert scheme.provisional_figures(scheme) == ()                  # total: official
    assert scheme.provisional_figures(scheme.pass_mark) == ("default",)
    assert scheme.provisional_figures(energy) == ()
    assert scheme.provisional_figures(intensity) == ("baseline", "leading")
    assert scheme.provisional_figures(platform) == ("rubric",)
    assert scheme.provisional


def test_a_scheme_with_only_official_figures_is_not_provisional() -> None:
    data = base()
    data["sources"]["placeholder"]["provisional"] = False
    assert not parse_scheme(data, file="s.yaml").provisional


def test_the_definition_carries_the_sources() -> None:
    definition = json.loads(parse_scheme(base(), file="s.yaml").model_dump_json())
    assert definition["sources"]["placeholder"] == {
        "provisional": True, "zh": "暂定值", "en": "Placeholder", "ref": "notes [U]"}
    assert definition["categories"][0]["indicators"][0]["source"] == {
        "points": "official", "baseline": "placeholder", "leading": "placeholder"}


# --- defects ---------------------------------------------------------------------------------


SOURCE_DEFECTS: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("a figure without a source", _delete(("categories", 1, "indicators", 0, "source")),
     "categories[1].indicators[0].source", "no source for points"),
    ("a figure left out of a mapping", _set((*IND0, "source"),
                                            {"points": "official", "baseline": "placeholder"}),
     "categories[0].indicators[0].source", "no source for leading"),
    ("the total without a source", _delete(("source",)), "source", "no source for total"),
    ("a pass mark without a source", _delete(("pass_mark", "source")),
     "pass_mark.source", "no source for default"),
    ("an unknown source", _set(("categories", 1, "source"), "hearsay"),
     "categories[1].source", "unknown source 'hearsay'"),
    ("an unknown source in a mapping", _set((*IND0, "source"), {
        "points": "official", "baseline": "placeholder", "leading": "rumour"}),
     "categories[0].indicators[0].source.leading", "unknown source 'rumour'"),
    ("a figure the item does not have", _set(("categories", 1, "indicators", 0, "source"), {
        "points": "official", "baseline": "placeholder"}),
     "categories[1].indicators[0].source.baseline", "names a figure the item does not have"),
    ("a source without its provisional flag", _delete(("sources", "official", "provisional")),
     "sources.official.provisional", "Field required"),
]


@pytest.mark.parametrize(("change", "path", "problem"), [d[1:] for d in SOURCE_DEFECTS],
                         ids=[d[0] for d in SOURCE_DEFECTS])
def test_a_source_defect_is_refused_at_its_path(change: Callable[[dict[str, Any]], None],
                                                path: str, problem: str) -> None:
    data = base()
    change(data)
    found = defects_of(data)
    assert any(p == path and problem in text for p, text in found), found
    with pytest.raises(DomainError) as info:
        parse_scheme(data, file="s.yaml")
    assert info.value.code == "scheme.invalid"


def test_a_source_never_used_is_refused() -> None:
    data = base()
    data["sources"]["hearsay"] = {"provisional": True, "zh": "传闻", "en": "Hearsay", "ref": "-"}
    assert defects_of(data) == [("sources.hearsay", "source never used by any figure")]


def test_every_defect_of_a_scheme_is_collected() -> None:
    data = base()
    data["total"] = 12                                              # arithmetic
    data["categories"][0]["indicators"][0]["leading"] = 0.5         # logic
    del data["categories"][1]["indicators"][1]["source"]            # a source missing
    data["sources"]["unused"] = {"provisional": True, "zh": "无", "en": "None", "ref": "-"}
    paths = [path for path, _ in defects_of(data)]
    assert paths == ["categories[0].indicators[0].leading", "total",
                     "categories[1].indicators[1].source", "sources.unused"]


def test_every_shape_defect_is_collected() -> None:
    data = base()
    data["categories"][0]["indicators"][0]["direction"] = "upward"
    data["categories"][1]["indicators"][1]["points"] = 0
    paths = [path for path, _ in defects_of(data)]
    assert paths == ["categories[0].indicators[0].direction",
                     "categories[1].indicators[1].points"]


# --- the shipped schemes carry their sources truthfully ----------------------------------------


@pytest.mark.parametrize("key", sorted(schemes()), ids=lambda k: f"{k[0]}-v{k[1]}")
def test_an_official_source_cites_a_verified_text(key: tuple[str, int]) -> None:
    """Only what DOMAIN-NOTES marks [V] may be official; [S] and [U] are provisional."""
    scheme = schemes()[key]
    assert scheme.sources
    for source_id, source in scheme.sources.items():
        if not source.provisional:
            assert "[V]" in source.ref, source_id
        else:
            assert "[V]" not in source.ref, source_id
    assert scheme.provisional  # no shipped version is all official


@pytest.mark.parametrize("version", [1, 2])
def test_every_figure_of_gbt36132_2025_is_provisional(version: int) -> None:
    scheme = get_scheme("gbt36132-2025", version)
    for _, item in scheme.figure_items():
        assert scheme.provisional_figures(item) == item.figures()


def test_supply_chain_points_are_official_and_its_rubrics_and_targets_provisional() -> None:
    scheme = get_scheme("supply-chain-general")
    assert scheme.provisional_figures(scheme) == ()                   # total 100 [V]
    assert scheme.provisional_figures(scheme.pass_mark) == ("default",)
    for category, indicator in scheme.indicators():
        assert scheme.provisional_figures(category) == ()
        expected = (("baseline", "leading") if isinstance(indicator, Quantitative)
                    else ("rubric",) if isinstance(indicator, Qualitative) else ())
        assert scheme.provisional_figures(indicator) == expected, indicator.id


def test_gbt36132_2018_infrastructure_weight_is_the_only_official_figure() -> None:
    scheme = get_scheme("gbt36132-2018")
    official = [(path, figure) for path, item in scheme.figure_items() for figure in item.figures()
                if figure not in scheme.provisional_figures(item)]
    assert official == [("categories[0]", "points")]
    assert scheme.categories[0].name_zh == "基础设施" and scheme.categories[0].points == Decimal(20)
