"""The pass mark's and each category's provisional mark, bounded figures in every text, values
sent in one form at a time, and re-scoring's carry that never raises (issue 9 review M3, H4 and
the low items; services/evaluation/scoring/, schemes/, domain/values.py)."""

from __future__ import annotations

from decimal import Decimal, Overflow
from typing import Any

import pytest
import yaml

from services.evaluation import domain
from services.evaluation.schemes import format_number, parse_scheme
from services.evaluation.scoring import (
    Products,
    Quantity,
    accepts,
    engine,
    result_dict,
    score,
)
from services.kernel.errors import DomainError
from tests.unit.test_schemes import BASE
from tests.unit.test_scoring_figures import SCHEME, product, refused, run, scheme_of

D = Decimal


# --- M3: the pass mark and the category points carry their own mark -----------------------------


def test_the_pass_mark_and_each_category_say_whether_they_are_provisional() -> None:
    # the tiers scheme: pass mark from "draft" (provisional), the category's points from "law"
    result = run()
    assert result.pass_mark_provisional is True
    assert [(c.id, c.provisional) for c in result.categories] == [("a", False)]
    data = result_dict(result)
    assert data["pass_mark_provisional"] is True
    assert data["categories"][0]["provisional"] is False


def test_a_provisional_category_is_marked_and_an_official_pass_mark_is_not() -> None:
    raw = yaml.safe_load(SCHEME)
    raw["pass_mark"]["source"] = "law"
    raw["categories"][0]["source"] = "draft"
    result = score(parse_scheme(raw, file="t.yaml"), {}, basic={})
    assert result.pass_mark_provisional is False
    assert result.categories[0].provisional is True
    data = result_dict(result)
    assert (data["pass_mark_provisional"], data["categories"][0]["provisional"]) == (False, True)


@pytest.mark.parametrize(("level", "mark", "provisional"),
                         [(None, "12", True), ("municipal", "12", True),
                          ("national", "15", False)])
def test_the_mark_is_that_of_the_pass_mark_applied(level: str | None, mark: str,
                                                    provisional: bool) -> None:
    raw = yaml.safe_load(SCHEME)
    # the national mark is official, the default (which the municipal level falls back to) not
    raw["pass_mark"] = {"default": 12, "national": 15,
                        "source": {"default": "draft", "national": "law"}}
    result = score(parse_scheme(raw, file="t.yaml"), {}, basic={}, level=level)
    assert (result.pass_mark, result.pass_mark_provisional) == (D(mark), provisional)


def test_the_listed_definition_names_every_provisional_figure_and_the_pass_mark() -> None:
    definition = parse_scheme(yaml.safe_load(BASE), file="s.yaml").definition()
    assert definition["pass_mark_provisional"] is True
    assert definition["provisional_figures"] == [
        "pass_mark.default",
        "categories[0].indicators[0].baseline", "categories[0].indicators[0].leading",
        "categories[0].indicators[1].rubric", "categories[1].indicators[1].points"]
    assert definition["pass_mark"] == {"source": "placeholder", "default": "6",
                                       "municipal": None, "provincial": None, "national": None}
    raw = yaml.safe_load(BASE)
    raw["pass_mark"]["source"] = "official"
    assert parse_scheme(raw, file="s.yaml").definition()["pass_mark_provisional"] is False


# --- H4: every number written in a text is short ---------------------------------------------------


@pytest.mark.parametrize(("number", "text"),
                         [("2.50", "2.5"), ("1E+1", "10"), ("0.0125", "0.0125"), ("-3", "-3"),
                          ("9E+999999", "9E+999999"), ("1E-999999", "1E-999999"),
                          ("1" * 60, "1" * 37 + "...")])
def test_a_number_is_written_plainly_and_never_long(number: str, text: str) -> None:
    assert format_number(D(number)) == text


@pytest.mark.parametrize("value", [
    {"renewable": Quantity("20", "%", "1E-999999")},
    {"energy": Products([product(amount="1E-999999", grade1="0", grade2="1E-999998")])}],
    ids=["tiny-basis", "tiny-product"])
def test_a_tiny_figure_sent_does_not_make_a_huge_rule_text(value: dict[str, Any]) -> None:
    (line,) = [i for i in run(**value).indicators if not i.missing]
    assert len(line.rule_zh) < 600 and len(line.rule_en) < 600


def test_carrying_a_value_never_raises_whatever_the_scorer_meets(
        monkeypatch: pytest.MonkeyPatch) -> None:
    scheme = scheme_of()
    assert accepts(scheme, "energy", Quantity("100", "kgce/万元"))
    assert not accepts(scheme, "energy", Quantity("100", "%"))

    def overflow(*args: object, **kwargs: object) -> None:
        raise Overflow("9E+999999 × 10")

    monkeypatch.setattr(engine, "score_one", overflow)
    assert not accepts(scheme, "energy", Quantity("100", "kgce/万元"))


def test_a_stored_products_value_of_the_wrong_shape_is_refused_not_a_crash() -> None:
    value = domain.stored_value({"products": 5})
    assert not accepts(scheme_of(), "energy", value)
    assert refused(energy=value).code == "value.products_count"


# --- values come in one form at a time ------------------------------------------------------------


def parse(**sent: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"amount": "", "unit": "", "option": "", "met": None, "yearly": []}
    return domain.parse_value("energy", **{**fields, **sent})


PRODUCT = {"name": "A", "amount": "100", "unit": "kgce/t", "standard": "GB 1",
           "grade1": "90", "grade2": "110", "weight": "3"}


@pytest.mark.parametrize(
    ("sent", "code", "params"),
    [({"products": [PRODUCT], "amount": "165", "unit": "kgce/万元"}, "value.products_and_amount",
      {"extra": "amount"}),
     ({"products": [PRODUCT], "basis": "5000"}, "value.products_and_amount", {"extra": "basis"}),
     ({"products": [PRODUCT], "yearly": ["1", "2", "3"]}, "value.products_and_amount",
      {"extra": "yearly"}),
     ({"amount": "1", "option": "full"}, "value.forms_mixed", {"forms": "amount/option"}),
     ({"yearly": ["1"], "amount": "1"}, "value.forms_mixed", {"forms": "yearly/amount"}),
     ({"option": "full", "met": True}, "value.forms_mixed", {"forms": "option/met"}),
     ({"basis": "5000"}, "value.basis_alone", {})],
    ids=["products-amount", "products-basis", "products-yearly", "amount-option",
         "yearly-amount", "option-met", "basis-alone"])
def test_two_forms_at_once_are_refused_never_half_kept(sent: dict[str, Any], code: str,
                                                      params: dict[str, str]) -> None:
    with pytest.raises(DomainError) as info:
        parse(**sent)
    assert info.value.code == code
    assert params.items() <= info.value.params.items()
    assert info.value.message("en") != code and info.value.message("zh") != code


def test_one_form_with_its_own_fields_is_kept() -> None:
    assert parse(products=[PRODUCT], unit="ignored") == {"products": [PRODUCT]}
    assert parse(amount="20", unit="%", basis="4000") == {"amount": "20", "unit": "%",
                                                          "basis": "4000"}
    assert parse(met=False) == {"met": False}
    assert parse() == {}


def test_a_negative_basis_is_refused() -> None:
    err = refused(renewable=Quantity("20", "%", "-1"))
    assert err.code == "value.basis_negative"
    assert err.params == {"id": "renewable", "basis": "-1", "unit": "tce"}
    assert run(renewable=Quantity("60", "%", "0")).indicator("renewable").tier == "< 3000 tce"


@pytest.mark.parametrize("unit", ["kg\x00ce/t", "kgce/t\n", "u" * 33])
def test_a_product_unit_is_the_standards_text_without_control_characters(unit: str) -> None:
    assert refused(energy=Products([product(unit=unit)])).code == "value.product_text"


def test_products_under_different_standards_may_have_different_units() -> None:
    line = run(energy=Products([product("A", unit="kgce/t"),
                                product("B", unit="kgce/m²", standard="GB 2")])).indicator("energy")
    assert [p.unit for p in line.products] == ["kgce/t", "kgce/m²"]
