"""Scoring one evaluation: every indicator line, the categories, the total and the verdict."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, localcontext
from typing import Any

from services.evaluation.schemes import (
    LEVELS,
    Check,
    Qualitative,
    Quantitative,
    Scheme,
    format_number,
)
from services.evaluation.scoring.lines import got, line
from services.evaluation.scoring.model import (
    CONTEXT,
    CategoryScore,
    IndicatorScore,
    Result,
    Value,
)
from services.evaluation.scoring.quantitative import quantitative
from services.kernel.errors import DomainError, invalid


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
            raise invalid("value.expects_yes_no", id=key, got=got(met))

    lines: list[IndicatorScore] = []
    categories: list[CategoryScore] = []
    with localcontext(CONTEXT):
        for category in scheme.categories:
            subtotal = Decimal(0)
            for indicator in category.indicators:
                scored = score_one(scheme, category.id, indicator, values.get(indicator.id))
                lines.append(scored)
                subtotal += scored.points
            categories.append(CategoryScore(
                category.id, category.name_zh, category.name_en, subtotal, category.points,
                provisional="points" in scheme.provisional_figures(category)))
        total = sum((c.points for c in categories), Decimal(0))

    vetoed_by = tuple(r.id for r in scheme.basic_requirements if basic.get(r.id) is not True)
    failed_required = tuple(scored.id for scored in lines
                            if scored.kind == "required" and scored.value is not True)
    missing = tuple(scored.id for scored in lines if scored.missing)
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
        provisional=scheme.provisional,
        pass_mark_provisional=scheme.pass_mark_provisional(level),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def result_dict(result: Result) -> dict[str, Any]:
    """A result as JSON-able data, numbers as text so nothing is lost to floats."""
    return {
        "scheme_id": result.scheme_id, "scheme_version": result.scheme_version,
        "indicators": [_plain(scored) for scored in result.indicators],
        "categories": [_plain(c) for c in result.categories],
        "total": str(result.total), "max_total": str(result.max_total),
        "pass_mark": str(result.pass_mark), "passed": result.passed,
        "vetoed_by": list(result.vetoed_by), "failed_required": list(result.failed_required),
        "missing": list(result.missing), "provisional": result.provisional,
        "pass_mark_provisional": result.pass_mark_provisional,
    }


def accepts(scheme: Scheme, indicator_id: str, value: Value) -> bool:
    """Whether ``scheme`` can score ``value`` for ``indicator_id`` (it exists there, with that
    type and unit) — what re-scoring carries over from data held under another version. A value
    the scorer refuses, or cannot work with at all (a malformed shape held from long ago, a
    figure whose arithmetic fails), is not carried: the answer is no, never an exception."""
    for category, indicator in scheme.indicators():
        if indicator.id == indicator_id:
            try:
                with localcontext(CONTEXT):
                    score_one(scheme, category.id, indicator, value)
            except (DomainError, ArithmeticError, TypeError, ValueError, AttributeError):
                return False
            return True
    return False


def score_one(scheme: Scheme, category: str,
              indicator: Quantitative | Qualitative | Check, value: Value) -> IndicatorScore:
    if isinstance(indicator, Quantitative):
        return quantitative(scheme, category, indicator, value)
    if isinstance(indicator, Qualitative):
        return _qualitative(scheme, category, indicator, value)
    return _check(scheme, category, indicator, value)


def _qualitative(scheme: Scheme, category: str, indicator: Qualitative,
                 value: Value) -> IndicatorScore:
    p = format_number(indicator.points)
    options = {option.id: option for option in indicator.rubric}
    if value is None:
        return line(scheme, category, indicator, value=None, points=Decimal(0),
                    rule=(f"定性：所选档次的得分比例 × {p} 分",
                          f"Qualitative: the chosen option's fraction × {p}"))
    if not isinstance(value, str):
        raise invalid("value.expects_option", id=indicator.id, allowed="/".join(options),
                      got=got(value))
    option = options.get(value)
    if option is None:
        raise invalid("value.unknown_option", id=indicator.id, option=value,
                      allowed="/".join(options))
    f = format_number(option.fraction)
    return line(scheme, category, indicator, value=option.id,
                points=option.fraction * indicator.points,
                rule=(f"定性：所选档次“{option.text_zh}”，得分比例 {f} × {p} 分",
                      f"Qualitative: chosen option '{option.text_en}', fraction {f} × {p}"))


def _check(scheme: Scheme, category: str, indicator: Check, value: Value) -> IndicatorScore:
    p = format_number(indicator.points)
    if indicator.kind == "required":
        rule = (f"必选项：须完全满足；满足得 {p} 分，不满足得 0 分且评价不通过",
                (f"Required: must be met in full; met scores {p}, not met scores 0 and fails "
                "the evaluation"))
    else:
        rule = (f"可选项：满足得 {p} 分，不满足得 0 分",
                f"Optional: met scores {p}, not met scores 0")
    if value is not None and not isinstance(value, bool):
        raise invalid("value.expects_yes_no", id=indicator.id, got=got(value))
    return line(scheme, category, indicator, value=value, rule=rule,
                points=indicator.points if value is True else Decimal(0))
