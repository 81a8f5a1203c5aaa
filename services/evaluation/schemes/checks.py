"""The checks pydantic cannot express: arithmetic, logic and sources. They collect every defect
of a scheme, in file order, rather than stopping at the first."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.evaluation.schemes.model import (
    LEVELS,
    Qualitative,
    Quantitative,
    Scheme,
    Tier,
    sources_of,
)
from services.kernel.errors import DomainError, invalid

LONGEST = 300  # the longest a defect's file, path or problem is written


@dataclass(frozen=True)
class Defect:
    """One thing wrong with a scheme file: where (``categories[2].indicators[5].leading``), why."""

    file: str
    path: str
    problem: str
    folder: str = ""            # where the file is, when read from a folder

    def __post_init__(self) -> None:
        # a path or a problem quotes the file (a key, a kind); a 1 MB key is not a 1 MB log line
        for name in ("file", "path", "problem"):
            text = getattr(self, name)
            if len(text) > LONGEST:
                object.__setattr__(self, name, text[:LONGEST - 3] + "...")

    def error(self) -> DomainError:
        return invalid("scheme.invalid", file=self.file, path=self.path or "(root)",
                       problem=self.problem)

    def line(self) -> str:
        where = f"{self.folder}/{self.file}" if self.folder else self.file
        return f"{where}: {self.path or '(root)'}: {self.problem}"


SHORT = 40  # the longest a number is written in a message or a rule text


def format_number(number: Decimal) -> str:
    """A Decimal as plain text for messages and rule texts: 2.50 → 2.5, 1E+1 → 10.

    Never longer than ``SHORT`` characters: a number too long to write out (9E+999999 would be
    a million digits) keeps its exponent and is cut."""
    _, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int) or len(digits) + abs(exponent) > SHORT:
        text = str(number)
        return text if len(text) <= SHORT else text[:SHORT - 3] + "..."
    text = format(number, "f")
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return text if len(text) <= SHORT else text[:SHORT - 3] + "..."


def check_scheme(scheme: Scheme, file: str) -> list[Defect]:
    """Every defect of a well-shaped scheme, in file order."""
    found: list[Defect] = []

    def defect(path: str, problem: str) -> None:
        found.append(Defect(file, path, problem))

    seen: dict[str, str] = {}  # id → path of its first use: ids are unique across the scheme

    def unique(identifier: str, path: str) -> None:
        if identifier in seen:
            defect(f"{path}.id", f"duplicate id {identifier!r} "
                                 f"(first used at {seen[identifier]}.id)")
        else:
            seen[identifier] = path

    for r, requirement in enumerate(scheme.basic_requirements):
        unique(requirement.id, f"basic_requirements[{r}]")

    category_sum = Decimal(0)
    for c, category in enumerate(scheme.categories):
        at = f"categories[{c}]"
        unique(category.id, at)
        category_sum += category.points
        indicator_sum = Decimal(0)
        for i, indicator in enumerate(category.indicators):
            here = f"{at}.indicators[{i}]"
            unique(indicator.id, here)
            indicator_sum += indicator.points
            if isinstance(indicator, Quantitative):
                for path, problem in _quantitative(scheme, indicator):
                    defect(f"{here}.{path}" if path else here, problem)
            elif isinstance(indicator, Qualitative):
                for path, problem in _rubric(indicator):
                    defect(f"{here}.{path}", problem)
        if indicator_sum != category.points:
            defect(f"{at}.points", f"indicators add up to {format_number(indicator_sum)}, "
                                   f"the category says {format_number(category.points)}")
    if category_sum != scheme.total:
        defect("total", f"categories add up to {format_number(category_sum)}, "
                        f"the scheme says {format_number(scheme.total)}")

    for name in ("default", *LEVELS):
        mark = getattr(scheme.pass_mark, name)
        if mark is not None and mark > scheme.total:
            defect(f"pass_mark.{name}", f"pass mark {format_number(mark)} is above "
                                        f"the total {format_number(scheme.total)}")
    for path, problem in _sources(scheme):
        defect(path, problem)
    return found


def _pair(direction: str, baseline: Decimal, leading: Decimal) -> str | None:
    b, lead = format_number(baseline), format_number(leading)
    if baseline == leading:
        return f"leading value equals the baseline ({b}); there is nothing to interpolate"
    if direction == "forward" and leading < baseline:
        return f"a forward indicator needs leading > baseline, got leading {lead} < baseline {b}"
    if direction == "reverse" and leading > baseline:
        return f"a reverse indicator needs leading < baseline, got leading {lead} > baseline {b}"
    return None


def _quantitative(scheme: Scheme, indicator: Quantitative) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if indicator.tiers is None:
        if indicator.baseline is None or indicator.leading is None:
            missing = "baseline" if indicator.baseline is None else "leading"
            found.append((missing, ("a quantitative indicator needs a baseline and a leading "
                                   "value, or tiers")))
        elif (problem := _pair(indicator.direction, indicator.baseline, indicator.leading)):
            found.append(("leading", problem))
        if indicator.basis is not None:
            found.append(("basis", "a basis applies only to an indicator with tiers"))
    else:
        found += _tiers(indicator)
    if indicator.per_product is not None and indicator.tiers is not None:
        found.append(("per_product", "an indicator has tiers or a per-product option, not both"))
    if scheme.years > 1 and (indicator.tiers is not None or indicator.per_product is not None):
        found.append(("tiers" if indicator.tiers is not None else "per_product",
                      "tiers and per-product values apply only to a one-year scheme"))
    if indicator.aggregate is not None and scheme.years == 1:
        found.append(("aggregate",
                      "aggregate applies only to a scheme with more than one year of data"))
    return found


def _tiers(indicator: Quantitative) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if indicator.baseline is not None or indicator.leading is not None:
        found.append(("tiers", ("a tiered indicator sets baseline and leading per tier, "
                               "not for the whole indicator")))
    if indicator.basis is None:
        found.append(("basis", ("a tiered indicator needs a basis (the figure that picks the "
                               "tier: name_zh, name_en, unit)")))
    if not indicator.tiers:
        found.append(("tiers", "at least one tier is needed"))
    tiers = indicator.tiers or ()
    for t, tier in enumerate(tiers):
        if tier.min is not None and tier.max is not None and tier.min >= tier.max:
            found.append((f"tiers[{t}].max", (f"max {format_number(tier.max)} is not above "
                                             f"min {format_number(tier.min)}")))
        elif (problem := _pair(indicator.direction, tier.baseline, tier.leading)):
            found.append((f"tiers[{t}].leading", problem))
    for t, tier in enumerate(tiers):
        for o, other in enumerate(tiers[:t]):
            low = max(_low(tier), _low(other))
            high = min(_high(tier), _high(other))
            if low < high:
                found.append((f"tiers[{t}]", f"overlaps tiers[{o}]: a basis must pick one tier"))
                break
    return found


def _low(tier: Tier) -> Decimal:
    return Decimal("-Infinity") if tier.min is None else tier.min


def _high(tier: Tier) -> Decimal:
    return Decimal("Infinity") if tier.max is None else tier.max


def _rubric(indicator: Qualitative) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    options: dict[str, int] = {}
    for o, option in enumerate(indicator.rubric):
        if option.id in options:
            found.append((f"rubric[{o}].id", (f"duplicate option id {option.id!r} "
                                             f"(first at rubric[{options[option.id]}])")))
        else:
            options[option.id] = o
    if not any(option.fraction == 1 for option in indicator.rubric):
        found.append(("rubric", "no option has fraction 1, so full points can never be reached"))
    return found


def _sources(scheme: Scheme) -> list[tuple[str, str]]:
    """Every figure names a known source; every source is used; a named figure exists."""
    found: list[tuple[str, str]] = []
    used: set[str] = set()
    for path, item in scheme.figure_items():
        at = f"{path}.source" if path else "source"
        figures = item.figures()
        named = sources_of(item)
        if isinstance(item.source, dict):
            for figure in item.source:
                if figure not in figures:
                    found.append((f"{at}.{figure}", (f"names a figure the item does not have; "
                                                    f"its figures are {', '.join(figures)}")))
        for figure, source in named.items():
            if figure in figures:
                used.add(source)
                if source not in scheme.sources:
                    found.append((at if isinstance(item.source, str) else f"{at}.{figure}",
                                  (f"unknown source {source!r}; the scheme's sources are "
                                  f"{', '.join(scheme.sources) or '(none)'}")))
        without = [figure for figure in figures if figure not in named]
        if without:
            found.append((at, (f"no source for {', '.join(without)}: every figure names one of "
                              "the scheme's sources")))
    for source_id in scheme.sources:
        if source_id not in used:
            found.append((f"sources.{source_id}", "source never used by any figure"))
    return found
