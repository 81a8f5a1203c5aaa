"""The values route takes a tiered indicator's basis and a per-product value, passes them to the
evaluation service as sent, and refuses, before any service sees them, what is not a decimal
number, more than 3 products, or over-long text (issue 9 §1; gateway/routes/evaluation.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.gateway_fakes import Gateway, build

PATH = "/api/v1/tenants/320000/evaluations/e-1/values"
PRODUCT = {"name": "水泥熟料", "amount": "100", "unit": "kgce/t", "standard": "GB 16780-2021",
           "grade1": "90", "grade2": "110", "weight": "3"}


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    return build(tmp_path_factory.mktemp("gateway-values"))


@pytest.fixture(scope="module")
def owner(gw: Gateway) -> dict[str, str]:
    return gw.headers("factory")


def test_a_basis_and_products_reach_the_service(gw: Gateway, owner: dict[str, str]) -> None:
    gw.answer(full=False)
    before = len(gw.sent)
    r = gw.http.patch(PATH, headers=owner, json={"values": [
        {"indicator_id": "renewable_share", "amount": "20", "unit": "%", "basis": "12000"},
        {"indicator_id": "energy_intensity", "products": [PRODUCT, {**PRODUCT, "name": "B"}]}]})
    assert r.status_code == 200, r.text
    (sent,) = gw.sent[before:]
    renewable, energy = sent.request.values  # type: ignore[attr-defined]
    assert (renewable.amount, renewable.basis) == ("20", "12000")
    assert [(p.name, p.amount, p.unit, p.standard, p.grade1, p.grade2, p.weight)
            for p in energy.products] == [
        ("水泥熟料", "100", "kgce/t", "GB 16780-2021", "90", "110", "3"),
        ("B", "100", "kgce/t", "GB 16780-2021", "90", "110", "3")]


@pytest.mark.parametrize(
    ("value", "where"),
    [({"indicator_id": "e", "products": [PRODUCT] * 4}, "products"),
     ({"indicator_id": "e", "amount": "1e5", "unit": "%"}, "amount"),
     ({"indicator_id": "e", "amount": "12abc", "unit": "%"}, "amount"),
     ({"indicator_id": "e", "amount": "9" * 41, "unit": "%"}, "amount"),
     ({"indicator_id": "e", "amount": "1", "unit": "%", "basis": "many"}, "basis"),
     ({"indicator_id": "e", "yearly": ["1", "x", "3"], "unit": "%"}, "yearly"),
     ({"indicator_id": "e", "products": [{**PRODUCT, "weight": "heavy"}]}, "weight"),
     ({"indicator_id": "e", "products": [{**PRODUCT, "grade1": ""}]}, "grade1"),
     ({"indicator_id": "e", "products": [{**PRODUCT, "name": "n" * 101}]}, "name"),
     ({"indicator_id": "e", "products": [{**PRODUCT, "standard": ""}]}, "standard"),
     ({"indicator_id": "e", "products": [{k: v for k, v in PRODUCT.items() if k != "unit"}]},
      "unit"),
     ({"indicator_id": "e" * 65, "amount": "1"}, "indicator_id"),
     ({"indicator_id": "e", "option": "o" * 65}, "option"),
     ({"indicator_id": "e", "amount": "1", "unit": "u" * 33}, "unit"),
     ({"indicator_id": "e", "products": [{**PRODUCT, "unit": "kgce/t\n"}]}, "unit"),
     ({"indicator_id": "e", "products": [{**PRODUCT, "name": "A\tB"}]}, "name"),
     ({"indicator_id": "e", "products": [{**PRODUCT, "standard": "GB\x7f1"}]}, "standard")],
    ids=["four-products", "exponent", "not-a-number", "too-long", "basis", "yearly", "weight",
         "empty-grade", "long-name", "empty-standard", "missing-unit", "long-id", "long-option",
         "long-unit", "product-unit-newline", "product-name-tab", "product-standard-del"],
)
def test_a_malformed_value_is_refused_before_any_service(gw: Gateway, owner: dict[str, str],
                                                         value: dict[str, Any],
                                                         where: str) -> None:
    before = len(gw.sent)
    r = gw.http.patch(PATH, headers={**owner, "Accept-Language": "en"},
                      json={"values": [value]})
    assert r.status_code == 422, r.text
    assert where in r.text
    assert len(gw.sent) == before
