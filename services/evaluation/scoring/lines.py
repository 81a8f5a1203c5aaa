"""Pieces every indicator line uses: interpolation, rounding, numbers, the explained line."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from services.evaluation.schemes import MAX_DIGITS, Check, Qualitative, Quantitative, Scheme
from services.evaluation.scoring.model import CENT, IndicatorScore, ProductScore
from services.kernel.errors import invalid

# a unit's figure, like a scheme's, has at most MAX_DIGITS integer digits (arithmetic stays exact,
# and 1E+999999 cannot overflow the decimal context)

# the figures an indicator line may name as provisional, in both languages
FIGURE_NAMES = {
    "points": ("分值", "points"),
    "baseline": ("基准值", "baseline"),
    "leading": ("引领值", "leading value"),
    "tiers": ("分档目标值", "tier targets"),
    "per_product": ("按产品计分的产品数", "number of products scored"),
    "rubric": ("评分档次及比例", "rubric fractions"),
}


def interpolate(value: Decimal, *, baseline: Decimal, leading: Decimal, points: Decimal) -> Decimal:
    """Linear points between baseline (0) and leading (full), clamped, not yet rounded.

    One formula serves both directions: for a reverse indicator leading < baseline, so the
    fraction (value − baseline) / (leading − baseline) still grows as the value improves.
    """
    if (value - baseline) * (leading - baseline) <= 0:
        return Decimal(0)  # at the baseline or on its far side
    if (value - leading) * (leading - baseline) >= 0:
        return points      # at the leading value or past it
    # multiply before dividing, so exact inputs (2.345) stay exact before rounding
    return points * (value - baseline) / (leading - baseline)


def round_points(points: Decimal) -> Decimal:
    return points.quantize(CENT, rounding=ROUND_HALF_UP)


@lru_cache(maxsize=256)  # a handful of distinct figure sets; asked once per indicator line
def provisional_note(figures: tuple[str, ...]) -> tuple[str, str]:
    """The words a rule ends with when some of its figures are provisional."""
    if not figures:
        return "", ""
    zh = "、".join(FIGURE_NAMES.get(f, (f, f))[0] for f in figures)
    en = ", ".join(FIGURE_NAMES.get(f, (f, f))[1] for f in figures)
    return f"（暂定值：{zh}）", f" (provisional: {en})"


def line(
    scheme: Scheme,
    category: str,
    indicator: Quantitative | Qualitative | Check,
    *,
    value: Decimal | str | bool | None,
    rule: tuple[str, str],
    points: Decimal,
    unit: str = "",
    baseline: Decimal | None = None,
    leading: Decimal | None = None,
    yearly: tuple[Decimal, ...] = (),
    basis: Decimal | None = None,
    tier: str = "",
    products: tuple[ProductScore, ...] = (),
) -> IndicatorScore:
    """One explained line; ``points`` unrounded — rounding happens here, once."""
    missing = value is None
    rule_zh, rule_en = rule
    if missing:
        rule_zh, rule_en = f"{rule_zh}；未填报，得 0 分", f"{rule_en}; not reported: 0 points"
    provisional = scheme.provisional_figures(indicator)
    note_zh, note_en = provisional_note(provisional)
    return IndicatorScore(
        id=indicator.id, category=category, kind=indicator.kind, name_zh=indicator.name_zh,
        name_en=indicator.name_en, value=value, unit=unit, rule_zh=rule_zh + note_zh,
        rule_en=rule_en + note_en, baseline=baseline, leading=leading,
        points=round_points(points), max_points=indicator.points, missing=missing,
        yearly=yearly, provisional=provisional, basis=basis, tier=tier, products=products,
    )


def same_unit(indicator: Quantitative, unit: str) -> None:
    # exact match: "％" or "t/万元" for "tce/万元" are different claims, not typos to guess at
    if unit != indicator.unit:
        raise invalid("value.unit_mismatch", id=indicator.id, unit=unit, expected=indicator.unit)


def number(indicator_id: str, amount: object) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int, float, str)):
        raise invalid("value.not_a_number", id=indicator_id, value=got(amount))
    try:
        # a float goes through its shortest repr: 0.1 means 0.1, not 0.1000000000000000055…
        parsed = Decimal(repr(amount)) if isinstance(amount, float) else Decimal(amount)
    except InvalidOperation:
        raise invalid("value.not_a_number", id=indicator_id, value=got_text(amount)) from None
    if not parsed.is_finite():
        raise invalid("value.not_a_number", id=indicator_id, value=got_text(amount))
    if parsed and parsed.adjusted() >= MAX_DIGITS:
        raise invalid("value.too_large", id=indicator_id, value=got_text(amount),
                      digits=MAX_DIGITS)
    return parsed


def got_text(value: object) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def got(value: object) -> str:
    text = f"{type(value).__name__} {value!r}"
    return text if len(text) <= 80 else text[:77] + "..."
