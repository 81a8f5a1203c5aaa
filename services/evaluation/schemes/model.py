"""The scheme file format: pydantic models of a scheme and where each of its figures comes from.

A figure is a number the scheme sets: the scheme's ``total``, each ``pass_mark`` entry, each
category's ``points``, each indicator's ``points``, ``baseline``, ``leading`` (or ``tiers``),
``per_product`` and ``rubric``. Every figure names a source from the scheme's ``sources:`` table,
and a source says whether it is ``provisional`` (not from an official text). An item names its
sources with ``source:``: one source id for all its figures, or a mapping figure → source id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

LEVELS = ("municipal", "provincial", "national")
# no figure of the platform (a scheme's or a unit's) has more integer digits than this, so the
# arithmetic stays exact and 9E+999999 cannot overflow the decimal context
MAX_DIGITS = 15
# nor more decimal places than this in a scheme (a fraction 0.333333, a baseline 0.0125)
MAX_PLACES = 6


class _Strict(BaseModel):
    # extra="forbid": a misspelt key (``leadng``) is an error, not a silently ignored default
    model_config = ConfigDict(extra="forbid", frozen=True)


def _places(number: Decimal) -> int:
    """Decimal places once trailing zeros are dropped: 2.50 → 1, 1E+3 → 0, 1E-7 → 7."""
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite: checked before
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing))


def _bounded(number: Decimal) -> Decimal:
    """A scheme figure: finite (pydantic refuses NaN and Infinity), at most ``MAX_DIGITS``
    integer digits and ``MAX_PLACES`` decimal places, so scoring cannot overflow and no text
    that shows it grows without bound."""
    if not number:
        return Decimal(0)  # 0E+999999 is 0
    if number.adjusted() >= MAX_DIGITS:
        raise PydanticCustomError(
            "figure_too_large", "too large: at most {digits} digits before the point",
            {"digits": MAX_DIGITS})
    if _places(number) > MAX_PLACES:
        raise PydanticCustomError(
            "figure_too_precise", "too many decimal places: at most {places}",
            {"places": MAX_PLACES})
    return number


# every number a scheme sets
Figure = Annotated[Decimal, AfterValidator(_bounded)]

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Points = Annotated[Figure, Field(gt=0)]
# ``source: placeholder`` (every figure of the item) or ``source: {points: a, leading: b}``
SourceRef = Union[Id, dict[str, Id]]


class Source(_Strict):
    """Where figures come from: an official text (``provisional: false``) or not."""

    provisional: bool
    zh: Text
    en: Text
    ref: Text                   # the text or note it comes from, e.g. "DOMAIN-NOTES §3 [S]"


class _Sourced(_Strict):
    source: SourceRef | None = None

    def figures(self) -> tuple[str, ...]:
        """The names of the figures this item sets, in a fixed order."""
        return ()


class BasicRequirement(_Strict):
    """基本要求: must all be met, else the evaluation is vetoed (一票否决); not scored."""

    id: Id
    text_zh: Text
    text_en: Text


class _Indicator(_Sourced):
    id: Id
    name_zh: Text
    name_en: Text
    points: Points

    def figures(self) -> tuple[str, ...]:
        return ("points",)


class Tier(_Strict):
    """One tier of a tiered indicator: a range of the basis [min, max) and its own targets."""

    min: Figure | None = None   # inclusive; none: no lower bound
    max: Figure | None = None   # exclusive; none: no upper bound
    baseline: Figure
    leading: Figure

    def holds(self, basis: Decimal) -> bool:
        return (self.min is None or basis >= self.min) and (self.max is None or basis < self.max)


class Basis(_Strict):
    """The figure that picks a tier, e.g. annual energy use in tce."""

    name_zh: Text
    name_en: Text
    unit: Text


class PerProduct(_Strict):
    """A per-product option: up to ``max`` products, each scored against its own standard's
    grade 1 (leading) and grade 2 (baseline), weighted by its energy or water use."""

    max: Annotated[int, Field(ge=1, le=10)]
    standard_zh: Text
    standard_en: Text


class Quantitative(_Indicator):
    """定量指标: scored linearly between the baseline (基准值, 0 points) and the leading value
    (引领值, full points). ``forward`` (正向): more is better; ``reverse`` (逆向): less is better.
    With ``tiers`` the baseline and leading value depend on the ``basis`` the unit reports."""

    kind: Literal["quantitative"]
    unit: Text
    direction: Literal["forward", "reverse"]
    baseline: Figure | None = None
    leading: Figure | None = None
    basis: Basis | None = None
    tiers: tuple[Tier, ...] | None = None
    per_product: PerProduct | None = None
    # multi-year schemes only (parks): overrides the scheme's rule for this indicator
    aggregate: Literal["mean", "latest"] | None = None

    def figures(self) -> tuple[str, ...]:
        return ("points", *(["tiers"] if self.tiers is not None else ["baseline", "leading"]),
                *(["per_product"] if self.per_product is not None else []))


class RubricOption(_Strict):
    id: Id
    text_zh: Text
    text_en: Text
    fraction: Annotated[Figure, Field(ge=0, le=1)]


class Qualitative(_Indicator):
    """定性指标: the evaluator picks one rubric option; points × its fraction."""

    kind: Literal["qualitative"]
    rubric: Annotated[tuple[RubricOption, ...], Field(min_length=1)]

    def figures(self) -> tuple[str, ...]:
        return ("points", "rubric")


class Check(_Indicator):
    """A yes/no item. ``required`` (必选): must be met in full, else the evaluation fails;
    ``optional`` (可选): earns its points when met."""

    kind: Literal["required", "optional"]


Indicator = Annotated[Quantitative | Qualitative | Check, Field(discriminator="kind")]
KINDS = ("quantitative", "qualitative", "required", "optional")


class Category(_Sourced):
    """一级指标 with its points; its indicators' points must add up to them."""

    id: Id
    name_zh: Text
    name_en: Text
    points: Points
    indicators: Annotated[tuple[Indicator, ...], Field(min_length=1)]

    def figures(self) -> tuple[str, ...]:
        return ("points",)


class PassMark(_Sourced):
    """The scheme's default pass mark, optionally different per level (市/省/国家).
    A campaign's own mark is applied later, at review, to the same score."""

    default: Annotated[Figure, Field(ge=0)]
    municipal: Annotated[Figure, Field(ge=0)] | None = None
    provincial: Annotated[Figure, Field(ge=0)] | None = None
    national: Annotated[Figure, Field(ge=0)] | None = None

    def for_level(self, level: str | None) -> Decimal:
        mark = getattr(self, level) if level else None
        return self.default if mark is None else mark

    def figures(self) -> tuple[str, ...]:
        return tuple(name for name in ("default", *LEVELS) if getattr(self, name) is not None)


class Scheme(_Sourced):
    id: Id
    version: Annotated[int, Field(ge=1)]
    title_zh: Text
    title_en: Text
    category: Literal["factory", "park", "supply_chain"]
    effective_from: date
    # source id → where figures come from; ``source:`` at the top names the source of ``total``
    sources: Mapping[Id, Source] = Field(default_factory=dict)
    total: Points
    pass_mark: PassMark
    # parks report three years of data (第1年/第2年/第3年), oldest first; quantitative values are
    # reduced to one figure by ``aggregate`` before scoring
    years: Annotated[int, Field(ge=1, le=10)] = 1
    aggregate: Literal["mean", "latest"] = "mean"
    basic_requirements: tuple[BasicRequirement, ...] = ()
    categories: Annotated[tuple[Category, ...], Field(min_length=1)]

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.version)

    def figures(self) -> tuple[str, ...]:
        return ("total",)

    def indicators(self) -> Iterator[tuple[Category, Quantitative | Qualitative | Check]]:
        for category in self.categories:
            for indicator in category.indicators:
                yield category, indicator

    def aggregate_of(self, indicator: Quantitative) -> str:
        return indicator.aggregate or self.aggregate

    def figure_items(self) -> Iterator[tuple[str, _Sourced]]:
        """Every item that sets figures, with its path in the file."""
        yield "", self
        yield "pass_mark", self.pass_mark
        for c, category in enumerate(self.categories):
            yield f"categories[{c}]", category
            for i, indicator in enumerate(category.indicators):
                yield f"categories[{c}].indicators[{i}]", indicator

    def provisional_figures(self, item: _Sourced) -> tuple[str, ...]:
        """The names of ``item``'s figures whose source is provisional (or unknown)."""
        known = self._provisional_by_item.get(id(item))
        return known if known is not None else self._provisional_of(item)

    def _provisional_of(self, item: _Sourced) -> tuple[str, ...]:
        named = sources_of(item)
        return tuple(figure for figure in item.figures()
                     if (source := self.sources.get(named.get(figure, ""))) is None
                     or source.provisional)

    @cached_property
    def _provisional_by_item(self) -> dict[int, tuple[str, ...]]:
        # the scheme is frozen and holds its items, so their ids are stable: scoring asks per
        # indicator line, and working it out each time doubled the cost of a score
        return {id(item): self._provisional_of(item) for _, item in self.figure_items()}

    @cached_property
    def provisional(self) -> bool:
        """Whether any figure of this version is not from an official text."""
        return any(self.provisional_figures(item) for _, item in self.figure_items())

    def pass_mark_provisional(self, level: str | None = None) -> bool:
        """Whether the pass mark of ``level`` (the default when None or not set for it) is not
        from an official text."""
        figure = level if level and getattr(self.pass_mark, level) is not None else "default"
        return figure in self.provisional_figures(self.pass_mark)

    def definition(self) -> dict[str, Any]:
        """The scheme as data (numbers as text), with where it is provisional:
        ``provisional_figures``, the path of every figure not from an official text
        (``pass_mark.default``, ``categories[0].indicators[2].leading``), and
        ``pass_mark_provisional`` (the default pass mark's)."""
        return {
            **self.model_dump(mode="json"),
            "provisional_figures": [f"{path}.{figure}" if path else figure
                                    for path, item in self.figure_items()
                                    for figure in self.provisional_figures(item)],
            "pass_mark_provisional": self.pass_mark_provisional(),
        }


def sources_of(item: _Sourced) -> Mapping[str, str]:
    """figure → source id, as the item names them."""
    if item.source is None:
        return {}
    if isinstance(item.source, str):
        return {figure: item.source for figure in item.figures()}
    return dict(item.source)
