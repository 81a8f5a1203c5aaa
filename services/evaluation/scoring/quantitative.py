"""Quantitative (定量) lines: one figure, several years, a tier picked by a basis, or products."""

from __future__ import annotations

from decimal import Decimal

from services.evaluation.schemes import Quantitative, Scheme, Tier, format_number
from services.evaluation.scoring.lines import (
    got,
    interpolate,
    line,
    number,
    round_points,
    same_unit,
)
from services.evaluation.scoring.model import (
    IndicatorScore,
    Product,
    Products,
    ProductScore,
    Quantity,
    Value,
    Yearly,
)
from services.kernel.errors import invalid

MAX_TEXT = 100      # a product's name or standard
MAX_UNIT = 32


def rule_text(direction: str, baseline: Decimal, leading: Decimal,
              points: Decimal) -> tuple[str, str]:
    b, lead, p = (format_number(n) for n in (baseline, leading, points))
    if direction == "forward":
        return (f"正向定量：≤ 基准值 {b} 得 0 分，≥ 引领值 {lead} 得满分 {p} 分，其间线性插值",
                (f"Forward: at or below the baseline {b} scores 0, at or above the leading value "
                f"{lead} scores the full {p}, linear in between"))
    return (f"逆向定量：≥ 基准值 {b} 得 0 分，≤ 引领值 {lead} 得满分 {p} 分，其间线性插值",
            (f"Reverse: at or above the baseline {b} scores 0, at or below the leading value "
            f"{lead} scores the full {p}, linear in between"))


def tier_label(tier: Tier, unit: str) -> str:
    """A tier's range in words: "≥ 10000 tce", "5000–10000 tce", "< 3000 tce"."""
    low = None if tier.min is None else format_number(tier.min)
    high = None if tier.max is None else format_number(tier.max)
    if low is not None and high is not None:
        return f"{low}–{high} {unit}"
    if low is not None:
        return f"≥ {low} {unit}"
    if high is not None:
        return f"< {high} {unit}"
    return f"any {unit}"


def quantitative(scheme: Scheme, category: str, indicator: Quantitative,
                 value: Value) -> IndicatorScore:
    if isinstance(value, Products):
        if indicator.per_product is None:
            raise invalid("value.per_product_not_allowed", id=indicator.id)
        return _per_product(scheme, category, indicator, value)
    if indicator.tiers is not None:
        return _tiered(scheme, category, indicator, value)
    assert indicator.baseline is not None and indicator.leading is not None  # checked at load
    rule = rule_text(indicator.direction, indicator.baseline, indicator.leading, indicator.points)
    if indicator.per_product is not None:
        rule = (rule[0] + f"；或按产品（最多 {indicator.per_product.max} 种，"
                          f"对照{indicator.per_product.standard_zh}）计分",
                rule[1] + f"; or per product (at most {indicator.per_product.max}, against "
                          f"{indicator.per_product.standard_en})")
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
                              unit=indicator.unit, got=got(value))
            same_unit(indicator, value.unit)
            if len(value.amounts) != scheme.years:
                raise invalid("value.years", id=indicator.id, expected=scheme.years,
                              got=len(value.amounts))
            yearly = tuple(number(indicator.id, amount) for amount in value.amounts)
            figure = sum(yearly, Decimal(0)) / len(yearly) if how == "mean" else yearly[-1]
    elif value is not None:
        figure = _quantity(indicator, value)
        if value.basis is not None:
            raise invalid("value.basis_not_used", id=indicator.id)

    points = Decimal(0) if figure is None else interpolate(
        figure, baseline=indicator.baseline, leading=indicator.leading, points=indicator.points)
    return line(scheme, category, indicator, value=figure, rule=rule, points=points,
                unit=indicator.unit, baseline=indicator.baseline, leading=indicator.leading,
                yearly=yearly)


def _quantity(indicator: Quantitative, value: Value) -> Decimal:
    if not isinstance(value, Quantity):
        raise invalid("value.expects_quantity", id=indicator.id, unit=indicator.unit,
                      got=got(value))
    same_unit(indicator, value.unit)
    return number(indicator.id, value.amount)


def _tiered(scheme: Scheme, category: str, indicator: Quantitative,
            value: Value) -> IndicatorScore:
    assert indicator.tiers is not None and indicator.basis is not None  # checked at load
    basis = indicator.basis
    labels = [tier_label(tier, basis.unit) for tier in indicator.tiers]
    if value is None:
        listed_zh = "；".join(f"{label}：基准值 {format_number(t.baseline)}，引领值 "
                             f"{format_number(t.leading)}"
                             for label, t in zip(labels, indicator.tiers, strict=True))
        listed_en = "; ".join(f"{label}: baseline {format_number(t.baseline)}, leading "
                              f"{format_number(t.leading)}"
                              for label, t in zip(labels, indicator.tiers, strict=True))
        return line(scheme, category, indicator, value=None, points=Decimal(0),
                    unit=indicator.unit,
                    rule=(f"分档定量：按{basis.name_zh}取档（{listed_zh}）",
                          f"Tiered by {basis.name_en} ({listed_en})"))
    figure = _quantity(indicator, value)
    assert isinstance(value, Quantity)
    if value.basis is None or (isinstance(value.basis, str) and not value.basis.strip()):
        raise invalid("value.basis_missing", id=indicator.id, basis=basis.name_zh,
                      basis_en=basis.name_en, unit=basis.unit)
    amount = number(indicator.id, value.basis)
    if amount < 0:
        raise invalid("value.basis_negative", id=indicator.id, basis=format_number(amount),
                      unit=basis.unit)
    for tier, label in zip(indicator.tiers, labels, strict=True):
        if tier.holds(amount):
            break
    else:
        raise invalid("value.basis_out_of_tiers", id=indicator.id, basis=format_number(amount),
                      unit=basis.unit, tiers=" / ".join(labels))
    zh, en = rule_text(indicator.direction, tier.baseline, tier.leading, indicator.points)
    shown = f"{format_number(amount)} {basis.unit}"
    rule = (f"分档定量：{basis.name_zh} {shown}，取档“{label}”；{zh}",
            f"Tiered: {basis.name_en} {shown}, tier '{label}'; {en}")
    points = interpolate(figure, baseline=tier.baseline, leading=tier.leading,
                         points=indicator.points)
    return line(scheme, category, indicator, value=figure, rule=rule, points=points,
                unit=indicator.unit, baseline=tier.baseline, leading=tier.leading,
                basis=amount, tier=label)


def _text(indicator_id: str, index: int, field: str, text: object, limit: int) -> str:
    if (not isinstance(text, str) or not text.strip() or len(text) > limit
            or any(ord(c) < 32 or ord(c) == 127 for c in text)):
        raise invalid("value.product_text", id=indicator_id, index=index, field=field,
                      max=limit)
    return text.strip()


def _product(indicator: Quantitative, index: int, product: object) -> ProductScore:
    if not isinstance(product, Product):
        raise invalid("value.expects_products", id=indicator.id, got=got(product))
    name = _text(indicator.id, index, "name", product.name, MAX_TEXT)
    unit = _text(indicator.id, index, "unit", product.unit, MAX_UNIT)
    standard = _text(indicator.id, index, "standard", product.standard, MAX_TEXT)
    amount, grade1, grade2, weight = (number(indicator.id, n) for n in (
        product.amount, product.grade1, product.grade2, product.weight))
    better = grade1 < grade2 if indicator.direction == "reverse" else grade1 > grade2
    if not better:
        raise invalid("value.product_grades", id=indicator.id, index=index,
                      grade1=format_number(grade1), grade2=format_number(grade2),
                      direction=indicator.direction)
    if weight <= 0:
        raise invalid("value.product_weight", id=indicator.id, index=index,
                      weight=format_number(weight))
    return ProductScore(name=name, amount=amount, unit=unit, standard=standard, grade1=grade1,
                        grade2=grade2, weight=weight, share=Decimal(0), points=Decimal(0))


def _per_product(scheme: Scheme, category: str, indicator: Quantitative,
                 value: Products) -> IndicatorScore:
    assert indicator.per_product is not None
    allowed = indicator.per_product.max
    products = value.products
    if not isinstance(products, (list, tuple)) or not 1 <= len(products) <= allowed:
        raise invalid("value.products_count", id=indicator.id, max=allowed,
                      got=len(products) if isinstance(products, (list, tuple)) else got(products))
    parsed = [_product(indicator, i + 1, p) for i, p in enumerate(products)]
    names = [p.name for p in parsed]
    if len(set(names)) != len(names):
        raise invalid("value.products_duplicate", id=indicator.id)
    total_weight = sum((p.weight for p in parsed), Decimal(0))
    points = Decimal(0)
    scored: list[ProductScore] = []
    parts_zh: list[str] = []
    parts_en: list[str] = []
    for p in parsed:
        share = p.weight / total_weight
        earned = share * interpolate(p.amount, baseline=p.grade2, leading=p.grade1,
                                     points=indicator.points)
        points += earned
        scored.append(ProductScore(name=p.name, amount=p.amount, unit=p.unit,
                                   standard=p.standard, grade1=p.grade1, grade2=p.grade2,
                                   weight=p.weight, share=share.quantize(Decimal("0.0001")),
                                   points=round_points(earned)))
        a, g1, g2 = (format_number(n) for n in (p.amount, p.grade1, p.grade2))
        pct = format_number((share * 100).quantize(Decimal("0.1")))
        parts_zh.append(f"{p.name} {a} {p.unit}（{p.standard}：1 级 {g1}，2 级 {g2}；"
                        f"权重 {pct}%）")
        parts_en.append(f"{p.name} {a} {p.unit} ({p.standard}: grade 1 {g1}, grade 2 {g2}; "
                        f"weight {pct}%)")
    per = indicator.per_product
    rule = (f"按产品定量（{per.standard_zh}，1 级为引领值、2 级为基准值，按各产品用量加权）："
            + "；".join(parts_zh),
            f"Per product ({per.standard_en}; grade 1 is the leading value, grade 2 the "
            "baseline; weighted by each product's use): " + "; ".join(parts_en))
    return line(scheme, category, indicator, value="per_product", rule=rule, points=points,
                products=tuple(scored))
