"""Automated scoring (平台自动评分) of one evaluation under one scheme version (SPEC §4).

Pure and deterministic: the same scheme and values always give the same ``Result``, with an
explanation for every point. The rules:

* basic requirements (基本要求) are a one-vote veto (一票否决): one not declared met vetoes the
  evaluation. The score is still computed, so the unit sees where it stands, but it fails;
* quantitative (定量): 0 at or beyond the baseline (基准值), full points at or beyond the leading
  value (引领值), linear in between; a reverse (逆向) indicator is the mirror image;
* qualitative (定性): the chosen rubric option's fraction × the indicator's points;
* required (必选): met → full points; not met (or not reported) → 0 and the evaluation fails;
  optional (可选): met → full points, else 0;
* a missing value scores 0 and is listed;
* each indicator is rounded to 2 decimals half-up; categories and the total add the rounded figures,
  so the report's columns always add up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from typing import Any, Union

from services.evaluation.schemes import (
    LEVELS,
    Check,
    Qualitative,
    Quantitative,
    Scheme,
    format_number,
)
from services.kernel.errors import DomainError, invalid

CENT = Decimal("0.01")
# one fixed arithmetic context, whatever the caller's thread has set: scores must not drift
_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)

Number = Union[Decimal, int, float, str]


# --- values -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quantity:
    """A measured value of a quantitative indicator; ``unit`` must equal the indicator's exactly."""

    amount: Number
    unit: str


@dataclass(frozen=True, slots=True)
class Yearly:
    """Several years of a quantitative indicator (parks: 第1年/第2年/第3年), oldest first.

    Only quantitative indicators of a multi-year scheme take it; qualitative and yes/no items are
    judged once, on the unit's present state."""

    amounts: Sequence[Number]
    unit: str


# Quantity / Yearly for quantitative, a rubric option id (str) for qualitative, bool for required
# and optional items; None counts as not reported.
Value = Union[Quantity, Yearly, str, bool, None]


# --- the result -------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class CategoryScore:
    id: str
    name_zh: str
    name_en: str
    points: Decimal
    max_points: Decimal


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


# --- scoring ----------------------------------------------------------------------------------


def score(
    scheme: Scheme,
    values: Mapping[str, Value],
    *,
    basic: Mapping[str, bool],
    level: str | None = None,
) -> Result:
    """Score ``values`` (indicator id → value) under ``scheme``.

    ``basic`` declares each basic requirement met or not; one left out counts as not met, since a
    veto item needs a positive declaration. ``level`` picks the scheme's pass mark for that level
    (its default when the scheme has none for it, or when ``level`` is None).
    """
    if level is not None and level not in LEVELS:
        raise invalid("scoring.level_unknown", value=level, allowed="/".join(LEVELS))
    name = f"{scheme.id} v{scheme.version}"
    known = {indicator.id for _, indicator in scheme.indicators()}
    for key in values:
        if key not in known:
            raise invalid("value.unknown_indicator", scheme=name, id=key)
    requirements = {requirement.id for requirement in scheme.basic_requirements}
    for key, met in basic.items():
        if key not in requirements:
            raise invalid("value.unknown_requirement", scheme=name, id=key)
        if not isinstance(met, bool):
            raise invalid("value.expects_yes_no", id=key, got=_got(met))

    lines: list[IndicatorScore] = []
    categories: list[CategoryScore] = []
    with localcontext(_CONTEXT):
        for category in scheme.categories:
            subtotal = Decimal(0)
            for indicator in category.indicators:
                line = _score_one(scheme, category.id, indicator, values.get(indicator.id))
                lines.append(line)
                subtotal += line.points
            categories.append(CategoryScore(category.id, category.name_zh, category.name_en,
                                            subtotal, category.points))
        total = sum((c.points for c in categories), Decimal(0))

    vetoed_by = tuple(r.id for r in scheme.basic_requirements if basic.get(r.id) is not True)
    failed_required = tuple(line.id for line in lines
                            if line.kind == "required" and line.value is not True)
    missing = tuple(line.id for line in lines if line.missing)
    pass_mark = scheme.pass_mark.for_level(level)
    return Result(
        scheme_id=scheme.id,
        scheme_version=scheme.version,
        level=level,
        indicators=tuple(lines),
        categories=tuple(categories),
        total=total,
        max_total=scheme.total,
        pass_mark=pass_mark,
        passed=not vetoed_by and not failed_required and total >= pass_mark,
        vetoed_by=vetoed_by,
        failed_required=failed_required,
        missing=missing,
    )


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


def result_dict(result: Result) -> dict[str, Any]:
    """A result as JSON-able data, numbers as text so nothing is lost to floats."""
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        return value

    return {
        "scheme_id": result.scheme_id, "scheme_version": result.scheme_version,
        "indicators": [{k: plain(getattr(line, k)) for k in line.__slots__}
                       for line in result.indicators],
        "categories": [{k: plain(getattr(c, k)) for k in c.__slots__} for c in result.categories],
        "total": str(result.total), "max_total": str(result.max_total),
        "pass_mark": str(result.pass_mark), "passed": result.passed,
        "vetoed_by": list(result.vetoed_by), "failed_required": list(result.failed_required),
        "missing": list(result.missing),
    }


# --- one indicator ----------------------------------------------------------------------------


def accepts(scheme: Scheme, indicator_id: str, value: Value) -> bool:
    """Whether ``scheme`` can score ``value`` for ``indicator_id`` (it exists there, with that
    type and unit) — what re-scoring carries over from data held under another version."""
    for category, indicator in scheme.indicators():
        if indicator.id == indicator_id:
            try:
                with localcontext(_CONTEXT):
                    _score_one(scheme, category.id, indicator, value)
            except DomainError:
                return False
            return True
    return False


def _score_one(scheme: Scheme, category: str,
               indicator: Quantitative | Qualitative | Check, value: Value) -> IndicatorScore:
    if isinstance(indicator, Quantitative):
        return _quantitative(scheme, category, indicator, value)
    if isinstance(indicator, Qualitative):
        return _qualitative(category, indicator, value)
    return _check(category, indicator, value)


def _line(
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
) -> IndicatorScore:
    """One explained line; ``points`` unrounded — rounding happens here, once."""
    missing = value is None
    rule_zh, rule_en = rule
    if missing:
        rule_zh, rule_en = f"{rule_zh}；未填报，得 0 分", f"{rule_en}; not reported: 0 points"
    return IndicatorScore(
        id=indicator.id, category=category, kind=indicator.kind, name_zh=indicator.name_zh,
        name_en=indicator.name_en, value=value, unit=unit, rule_zh=rule_zh, rule_en=rule_en,
        baseline=baseline, leading=leading, points=round_points(points),
        max_points=indicator.points, missing=missing, yearly=yearly,
    )


def _quantitative(scheme: Scheme, category: str, indicator: Quantitative,
                  value: Value) -> IndicatorScore:
    b, lead, p = (format_number(n) for n in (indicator.baseline, indicator.leading,
                                              indicator.points))
    if indicator.direction == "forward":
        rule = (f"正向定量：≤ 基准值 {b} 得 0 分，≥ 引领值 {lead} 得满分 {p} 分，其间线性插值",
                f"Forward: at or below the baseline {b} scores 0, at or above the leading value "
                f"{lead} scores the full {p}, linear in between")
    else:
        rule = (f"逆向定量：≥ 基准值 {b} 得 0 分，≤ 引领值 {lead} 得满分 {p} 分，其间线性插值",
                f"Reverse: at or above the baseline {b} scores 0, at or below the leading value "
                f"{lead} scores the full {p}, linear in between")

    yearly: tuple[Decimal, ...] = ()
    figure: Decimal | None = None
    if scheme.years > 1:
        how = scheme.aggregate_of(indicator)
        rule = ((f"取近 {scheme.years} 年平均值；" if how == "mean"
                 else f"取最近一年（第 {scheme.years} 年）数值；") + rule[0],
                (f"Mean of the {scheme.years} years; " if how == "mean"
                 else f"Latest of the {scheme.years} years; ") + rule[1])
        if value is not None:
            # a list or tuple: a string of digits is a sequence too, but not of years
            if not isinstance(value, Yearly) or not isinstance(value.amounts, (list, tuple)):
                raise invalid("value.expects_yearly", id=indicator.id, years=scheme.years,
                              unit=indicator.unit, got=_got(value))
            _same_unit(indicator, value.unit)
            if len(value.amounts) != scheme.years:
                raise invalid("value.years", id=indicator.id, expected=scheme.years,
                              got=len(value.amounts))
            yearly = tuple(_number(indicator.id, amount) for amount in value.amounts)
            figure = sum(yearly, Decimal(0)) / len(yearly) if how == "mean" else yearly[-1]
    elif value is not None:
        if not isinstance(value, Quantity):
            raise invalid("value.expects_quantity", id=indicator.id, unit=indicator.unit,
                          got=_got(value))
        _same_unit(indicator, value.unit)
        figure = _number(indicator.id, value.amount)

    points = Decimal(0) if figure is None else interpolate(
        figure, baseline=indicator.baseline, leading=indicator.leading, points=indicator.points)
    return _line(category, indicator, value=figure, rule=rule, points=points,
                 unit=indicator.unit, baseline=indicator.baseline, leading=indicator.leading,
                 yearly=yearly)


def _qualitative(category: str, indicator: Qualitative, value: Value) -> IndicatorScore:
    p = format_number(indicator.points)
    options = {option.id: option for option in indicator.rubric}
    if value is None:
        return _line(category, indicator, value=None, points=Decimal(0),
                     rule=(f"定性：所选档次的得分比例 × {p} 分",
                           f"Qualitative: the chosen option's fraction × {p}"))
    if not isinstance(value, str):
        raise invalid("value.expects_option", id=indicator.id, allowed="/".join(options),
                      got=_got(value))
    option = options.get(value)
    if option is None:
        raise invalid("value.unknown_option", id=indicator.id, option=value,
                      allowed="/".join(options))
    f = format_number(option.fraction)
    return _line(category, indicator, value=option.id,
                 points=option.fraction * indicator.points,
                 rule=(f"定性：所选档次“{option.text_zh}”，得分比例 {f} × {p} 分",
                       f"Qualitative: chosen option '{option.text_en}', fraction {f} × {p}"))


def _check(category: str, indicator: Check, value: Value) -> IndicatorScore:
    p = format_number(indicator.points)
    if indicator.kind == "required":
        rule = (f"必选项：须完全满足；满足得 {p} 分，不满足得 0 分且评价不通过",
                f"Required: must be met in full; met scores {p}, not met scores 0 and fails "
                "the evaluation")
    else:
        rule = (f"可选项：满足得 {p} 分，不满足得 0 分",
                f"Optional: met scores {p}, not met scores 0")
    if value is not None and not isinstance(value, bool):
        raise invalid("value.expects_yes_no", id=indicator.id, got=_got(value))
    return _line(category, indicator, value=value, rule=rule,
                 points=indicator.points if value is True else Decimal(0))


# --- helpers ----------------------------------------------------------------------------------


def _same_unit(indicator: Quantitative, unit: str) -> None:
    # exact match: "％" or "t/万元" for "tce/万元" are different claims, not typos to guess at
    if unit != indicator.unit:
        raise invalid("value.unit_mismatch", id=indicator.id, unit=unit, expected=indicator.unit)


def _number(indicator_id: str, amount: object) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int, float, str)):
        raise invalid("value.not_a_number", id=indicator_id, value=_got(amount))
    try:
        # a float goes through its shortest repr: 0.1 means 0.1, not 0.1000000000000000055…
        number = Decimal(repr(amount)) if isinstance(amount, float) else Decimal(amount)
    except InvalidOperation:
        raise invalid("value.not_a_number", id=indicator_id, value=str(amount)) from None
    if not number.is_finite():
        raise invalid("value.not_a_number", id=indicator_id, value=str(amount))
    return number


def _got(value: object) -> str:
    text = f"{type(value).__name__} {value!r}"
    return text if len(text) <= 80 else text[:77] + "..."
