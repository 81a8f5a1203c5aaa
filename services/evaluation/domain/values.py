"""Values (填报数据): parsing what the caller sends, merging, scoring what is held."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from services.evaluation import scoring
from services.evaluation.schemes import Scheme
from services.kernel.errors import invalid

# --- values ---------------------------------------------------------------------------------------


def parse_value(indicator_id: str, *, amount: str, unit: str, option: str, met: bool | None,
                yearly: Sequence[str]) -> dict[str, Any]:
    """One value from a caller, in the form it is stored; its type is checked by the scorer."""
    for number in [amount, *yearly]:
        if number:
            try:
                Decimal(number)
            except InvalidOperation:
                raise invalid("value.not_a_number", id=indicator_id, value=number) from None
    if yearly:
        return {"yearly": list(yearly), "unit": unit}
    if amount:
        return {"amount": amount, "unit": unit}
    if option:
        return {"option": option}
    if met is not None:
        return {"met": met}
    return {}


def stored_value(value: Mapping[str, Any]) -> scoring.Value:
    """A stored value as the scorer takes it."""
    if "yearly" in value:
        return scoring.Yearly(value["yearly"], value.get("unit", ""))
    if "amount" in value:
        return scoring.Quantity(value["amount"], value.get("unit", ""))
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
          basic: Mapping[str, bool]) -> scoring.Result:
    """Stored values scored under ``scheme``; refuses a value the scheme cannot take."""
    return scoring.score(scheme, {k: stored_value(v) for k, v in values.items()}, basic=basic)
