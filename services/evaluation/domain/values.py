"""Values (填报数据): parsing what the caller sends, merging, scoring what is held."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from services.evaluation import scoring
from services.evaluation.schemes import Scheme
from services.kernel.errors import invalid

# --- values ---------------------------------------------------------------------------------------


PRODUCT_FIELDS = ("name", "amount", "unit", "standard", "grade1", "grade2", "weight")
PRODUCT_NUMBERS = ("amount", "grade1", "grade2", "weight")


def _decimal(indicator_id: str, number: str) -> None:
    try:
        Decimal(number)
    except InvalidOperation:
        raise invalid("value.not_a_number", id=indicator_id,
                      value=number if len(number) <= 80 else number[:77] + "...") from None


def parse_value(indicator_id: str, *, amount: str, unit: str, option: str, met: bool | None,
                yearly: Sequence[str], basis: str = "",
                products: Sequence[Mapping[str, str]] = ()) -> dict[str, Any]:
    """One value from a caller, in the form it is stored; its type is checked by the scorer.

    Stored forms: ``{"amount", "unit"}`` (with ``"basis"`` for a tiered indicator),
    ``{"yearly", "unit"}``, ``{"products": [{name, amount, unit, standard, grade1, grade2,
    weight}, …]}``, ``{"option"}``, ``{"met"}``; ``{}`` clears the indicator. One form at a
    time: products with an amount, years or a basis, two forms at once, or a basis without an
    amount are refused, never half-kept. (A value-level ``unit`` beside products is not used:
    each product carries its own standard's unit.)"""
    numbers = [amount, *yearly, basis,
               *(str(p.get(f, "")) for p in products for f in PRODUCT_NUMBERS)]
    for number in numbers:
        if number:
            _decimal(indicator_id, number)
    if products and (amount or yearly or basis):
        raise invalid("value.products_and_amount", id=indicator_id, extra="/".join(
            name for name, sent in (("amount", amount), ("yearly", yearly), ("basis", basis))
            if sent))
    forms = [name for name, sent in (("products", bool(products)), ("yearly", bool(yearly)),
                                     ("amount", bool(amount)), ("option", bool(option)),
                                     ("met", met is not None)) if sent]
    if len(forms) > 1:
        raise invalid("value.forms_mixed", id=indicator_id, forms="/".join(forms))
    if basis and not amount:
        raise invalid("value.basis_alone", id=indicator_id)
    if products:
        return {"products": [{f: str(p.get(f, "")) for f in PRODUCT_FIELDS} for p in products]}
    if yearly:
        return {"yearly": list(yearly), "unit": unit}
    if amount:
        return {"amount": amount, "unit": unit, **({"basis": basis} if basis else {})}
    if option:
        return {"option": option}
    if met is not None:
        return {"met": met}
    return {}


def stored_value(value: Mapping[str, Any]) -> scoring.Value:
    """A stored value as the scorer takes it."""
    if "products" in value:
        products = value["products"]
        if not isinstance(products, list):
            return scoring.Products(products)  # not a list: the scorer says what is wrong
        return scoring.Products([
            scoring.Product(**{f: str(p.get(f, "")) for f in PRODUCT_FIELDS})
            if isinstance(p, Mapping) else p for p in products])
    if "yearly" in value:
        return scoring.Yearly(value["yearly"], value.get("unit", ""))
    if "amount" in value:
        return scoring.Quantity(value["amount"], value.get("unit", ""), value.get("basis"))
    if "option" in value:
        return value["option"]
    return value.get("met")


def merge_values(held: Mapping[str, dict], declared: Mapping[str, bool], *,
                 values: Mapping[str, dict],
                 basic: Mapping[str, bool]) -> tuple[dict[str, dict], dict[str, bool]]:
    """A draft's values and basic-requirement declarations after a change: new ones replace
    old ones, an empty value clears its indicator."""
    merged = {k: v for k, v in {**held, **values}.items() if v}
    return merged, {**declared, **basic}


def score(scheme: Scheme, values: Mapping[str, Mapping[str, Any]],
          basic: Mapping[str, bool], *, level: str = "") -> scoring.Result:
    """Stored values scored under ``scheme`` with the pass mark of ``level`` (the scheme's
    default when "", not said); refuses a value the scheme cannot take."""
    return scoring.score(scheme, {k: stored_value(v) for k, v in values.items()}, basic=basic,
                         level=level or None)
