"""What scoring takes (values) and gives (an explained result)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Union

CENT = Decimal("0.01")
# one fixed arithmetic context, whatever the caller's thread has set: scores must not drift
CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)

Number = Union[Decimal, int, float, str]


# --- values -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quantity:
    """A measured value of a quantitative indicator; ``unit`` must equal the indicator's exactly.
    ``basis`` is the figure that picks the tier of a tiered indicator (e.g. annual energy use
    in tce), and only that."""

    amount: Number
    unit: str
    basis: Number | None = None


@dataclass(frozen=True, slots=True)
class Yearly:
    """Several years of a quantitative indicator (parks: 第1年/第2年/第3年), oldest first.

    Only quantitative indicators of a multi-year scheme take it; qualitative and yes/no items are
    judged once, on the unit's present state."""

    amounts: Sequence[Number]
    unit: str


@dataclass(frozen=True, slots=True)
class Product:
    """One product of a per-product value: its figure (e.g. 单位产品综合能耗) against its own
    standard's grade 1 (the leading value) and grade 2 (the baseline), weighted by ``weight``
    (the product's energy or water use)."""

    name: str
    amount: Number
    unit: str
    standard: str
    grade1: Number
    grade2: Number
    weight: Number


@dataclass(frozen=True, slots=True)
class Products:
    """A per-product value of an indicator that allows one (``per_product`` in the scheme)."""

    products: Sequence[Product]


# Quantity / Yearly / Products for quantitative, a rubric option id (str) for qualitative, bool
# for required and optional items; None counts as not reported.
Value = Union[Quantity, Yearly, Products, str, bool, None]


# --- the result -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductScore:
    """One product of a per-product line: its share of the weight and its unrounded points."""

    name: str
    amount: Decimal
    unit: str
    standard: str
    grade1: Decimal
    grade2: Decimal
    weight: Decimal
    share: Decimal               # weight / Σ weight, to 4 places (for display)
    points: Decimal              # share × its interpolated points, to 2 places (for display;
                                 # the line's points add the unrounded figures)


@dataclass(frozen=True, slots=True)
class IndicatorScore:
    id: str
    category: str
    kind: str
    name_zh: str
    name_en: str
    value: Decimal | str | bool | None   # the figure scored (a mean for parks), option id, met
    unit: str
    rule_zh: str
    rule_en: str
    baseline: Decimal | None
    leading: Decimal | None
    points: Decimal
    max_points: Decimal
    missing: bool = False
    yearly: tuple[Decimal, ...] = ()     # the years reported, when the scheme has several
    # the names of this indicator's figures that are provisional ("points", "baseline", …)
    provisional: tuple[str, ...] = ()
    basis: Decimal | None = None         # the figure that picked the tier, for a tiered one
    tier: str = ""                       # the tier's range, e.g. "≥ 10000 tce"
    products: tuple[ProductScore, ...] = ()  # a per-product value, product by product


@dataclass(frozen=True, slots=True)
class CategoryScore:
    id: str
    name_zh: str
    name_en: str
    points: Decimal
    max_points: Decimal
    provisional: bool = False         # the category's points figure is not from an official text


@dataclass(frozen=True, slots=True)
class Result:
    scheme_id: str
    scheme_version: int
    level: str | None
    indicators: tuple[IndicatorScore, ...]
    categories: tuple[CategoryScore, ...]
    total: Decimal
    max_total: Decimal
    pass_mark: Decimal
    passed: bool
    vetoed_by: tuple[str, ...]        # basic requirements not met (一票否决)
    failed_required: tuple[str, ...]  # required (必选) items not met or not reported
    missing: tuple[str, ...]          # indicators without a value
    provisional: bool = False         # the scheme version has figures not from an official text
    pass_mark_provisional: bool = False  # the pass mark applied is not from an official text

    @property
    def vetoed(self) -> bool:
        return bool(self.vetoed_by)

    def indicator(self, indicator_id: str) -> IndicatorScore:
        for line in self.indicators:
            if line.id == indicator_id:
                return line
        raise KeyError(indicator_id)

    def category(self, category_id: str) -> CategoryScore:
        for category in self.categories:
            if category.id == category_id:
                return category
        raise KeyError(category_id)
