"""Evaluation schemes (评价方案) as versioned data files (SPEC §4).

A scheme is one YAML file in ``data/schemes/``: basic requirements (基本要求, one-vote veto
一票否决), first-level categories (一级指标) and their indicators (二级指标). Adding an industry
scheme is adding a file; no code changes. A file is checked twice at load:

1. its shape, by the pydantic models below (types, allowed kinds and directions, missing fields);
2. its arithmetic and logic, by ``_check`` (unique ids, points that add up, baseline and leading
   values that point the way the direction says, rubrics that can reach full marks, pass marks).

Either refusal is a ``scheme.invalid`` DomainError naming the file, the path inside it
(``categories[2].indicators[5].leading``) and the problem, so a malformed scheme never reaches
scoring.
"""

from __future__ import annotations

import os

from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from services.kernel.errors import DomainError, invalid, load_messages, not_found

DATA = Path(__file__).parent / "data"
SCHEMES = DATA / "schemes"
LEVELS = ("municipal", "provincial", "national")

load_messages(DATA / "messages.yaml")


# --- the file format ----------------------------------------------------------------------------


class _Strict(BaseModel):
    # extra="forbid": a misspelt key (``leadng``) is an error, not a silently ignored default
    model_config = ConfigDict(extra="forbid", frozen=True)


Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Points = Annotated[Decimal, Field(gt=0)]


class BasicRequirement(_Strict):
    """基本要求: must all be met, else the evaluation is vetoed (一票否决); not scored."""

    id: Id
    text_zh: Text
    text_en: Text


class _Indicator(_Strict):
    id: Id
    name_zh: Text
    name_en: Text
    points: Points


class Quantitative(_Indicator):
    """定量指标: scored linearly between the baseline (基准值, 0 points) and the leading value
    (引领值, full points). ``forward`` (正向): more is better; ``reverse`` (逆向): less is better."""

    kind: Literal["quantitative"]
    unit: Text
    direction: Literal["forward", "reverse"]
    baseline: Decimal
    leading: Decimal
    # multi-year schemes only (parks): overrides the scheme's rule for this indicator
    aggregate: Literal["mean", "latest"] | None = None


class RubricOption(_Strict):
    id: Id
    text_zh: Text
    text_en: Text
    fraction: Annotated[Decimal, Field(ge=0, le=1)]


class Qualitative(_Indicator):
    """定性指标: the evaluator picks one rubric option; points × its fraction."""

    kind: Literal["qualitative"]
    rubric: Annotated[tuple[RubricOption, ...], Field(min_length=1)]


class Check(_Indicator):
    """A yes/no item. ``required`` (必选): must be met in full, else the evaluation fails;
    ``optional`` (可选): earns its points when met."""

    kind: Literal["required", "optional"]


Indicator = Annotated[Union[Quantitative, Qualitative, Check], Field(discriminator="kind")]
KINDS = ("quantitative", "qualitative", "required", "optional")


class Category(_Strict):
    """一级指标 with its points; its indicators' points must add up to them."""

    id: Id
    name_zh: Text
    name_en: Text
    points: Points
    indicators: Annotated[tuple[Indicator, ...], Field(min_length=1)]


class PassMark(_Strict):
    """The scheme's default pass mark, optionally different per level (市/省/国家).
    A campaign's own mark is applied later, at review, to the same score."""

    default: Annotated[Decimal, Field(ge=0)]
    municipal: Annotated[Decimal, Field(ge=0)] | None = None
    provincial: Annotated[Decimal, Field(ge=0)] | None = None
    national: Annotated[Decimal, Field(ge=0)] | None = None

    def for_level(self, level: str | None) -> Decimal:
        mark = getattr(self, level) if level else None
        return self.default if mark is None else mark


class Scheme(_Strict):
    id: Id
    version: Annotated[int, Field(ge=1)]
    title_zh: Text
    title_en: Text
    category: Literal["factory", "park", "supply_chain"]
    effective_from: date
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

    def indicators(self) -> Iterator[tuple[Category, Quantitative | Qualitative | Check]]:
        for category in self.categories:
            for indicator in category.indicators:
                yield category, indicator

    def aggregate_of(self, indicator: Quantitative) -> str:
        return indicator.aggregate or self.aggregate


# --- loading ------------------------------------------------------------------------------------


def _refuse(file: str, path: str, problem: str) -> DomainError:
    return invalid("scheme.invalid", file=file, path=path or "(root)", problem=problem)


def _path(loc: tuple[int | str, ...]) -> str:
    """pydantic's error location → ``categories[2].indicators[5].leading``."""
    out = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(previous, int) and part in KINDS:
            pass  # the discriminated union inserts the kind as a location step; not a key
        else:
            out += f".{part}" if out else part
        previous = part
    return out


def parse_scheme(raw: Any, *, file: str) -> Scheme:
    """A scheme from already-parsed YAML, or ``scheme.invalid`` naming where it is wrong."""
    if not isinstance(raw, dict):
        raise _refuse(file, "", "a scheme file must be a mapping of keys")
    try:
        scheme = Scheme.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        path = _path(first["loc"])
        if first["type"] == "union_tag_invalid":
            path += ".kind"
            problem = (f"unknown kind {first['ctx']['tag']!r}; "
                       f"expected one of {', '.join(KINDS)}")
        elif first["type"] == "union_tag_not_found":
            path += ".kind"
            problem = f"missing kind; expected one of {', '.join(KINDS)}"
        else:
            problem = first["msg"]
        raise _refuse(file, path, problem) from None
    _check(scheme, file)
    return scheme


def load_scheme(path: Path) -> Scheme:
    """Read and validate one scheme file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise _refuse(path.name, where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return parse_scheme(raw, file=path.name)


def load_schemes(directory: Path) -> dict[tuple[str, int], Scheme]:
    """Every ``*.yaml`` in ``directory``; two files may not claim the same (id, version)."""
    found: dict[tuple[str, int], Scheme] = {}
    origin: dict[tuple[str, int], str] = {}
    for path in sorted(directory.glob("*.yaml")):
        scheme = load_scheme(path)
        if scheme.key in found:
            raise _refuse(path.name, "version",
                          f"{scheme.id} version {scheme.version} is already defined in "
                          f"{origin[scheme.key]}")
        found[scheme.key], origin[scheme.key] = scheme, path.name
    return found


@lru_cache(maxsize=1)
def _shipped() -> Mapping[tuple[str, int], Scheme]:
    """The shipped schemes plus an operator's folder (``GL_SCHEMES_DIR``): a new industry
    scheme or a new version of one arrives as a file there, with no release. A file there may
    not redefine a shipped (id, version): a pinned version never changes."""
    found = load_schemes(SCHEMES)
    extra = os.environ.get("GL_SCHEMES_DIR")
    if extra:
        for key, scheme in load_schemes(Path(extra)).items():
            if key in found:
                raise _refuse(extra, "version", f"{scheme.id} version {scheme.version} is shipped "
                              "already; a new version needs a new number")
            found[key] = scheme
    return MappingProxyType(found)


def schemes() -> Mapping[tuple[str, int], Scheme]:
    """All schemes keyed by (id, version); loaded and validated once."""
    return _shipped()


def get_scheme(scheme_id: str, version: int | None = None) -> Scheme:
    """A shipped scheme; the highest version of ``scheme_id`` when ``version`` is None."""
    shipped = schemes()
    if version is None:
        versions = [v for (sid, v) in shipped if sid == scheme_id]
        if versions:
            return shipped[(scheme_id, max(versions))]
    elif (scheme_id, version) in shipped:
        return shipped[(scheme_id, version)]
    raise not_found("scheme.unknown", id=scheme_id,
                    version="latest" if version is None else str(version))


# --- the checks pydantic cannot express -----------------------------------------------------------


def format_number(number: Decimal) -> str:
    """A Decimal as plain text for messages and rule texts: 2.50 → 2.5, 1E+1 → 10."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _check(scheme: Scheme, file: str) -> None:
    """Arithmetic and logic of a well-shaped scheme; the first problem is refused."""
    seen: dict[str, str] = {}  # id → path of its first use: ids are unique across the scheme

    def unique(identifier: str, path: str) -> None:
        if identifier in seen:
            raise _refuse(file, f"{path}.id", f"duplicate id {identifier!r} "
                                              f"(first used at {seen[identifier]}.id)")
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
                _check_quantitative(scheme, indicator, file, here)
            elif isinstance(indicator, Qualitative):
                _check_rubric(indicator, file, here)
        if indicator_sum != category.points:
            raise _refuse(file, f"{at}.points",
                          f"indicators add up to {format_number(indicator_sum)}, "
                          f"the category says {format_number(category.points)}")
    if category_sum != scheme.total:
        raise _refuse(file, "total", f"categories add up to {format_number(category_sum)}, "
                                     f"the scheme says {format_number(scheme.total)}")

    for name in ("default", *LEVELS):
        mark = getattr(scheme.pass_mark, name)
        if mark is not None and mark > scheme.total:
            raise _refuse(file, f"pass_mark.{name}", f"pass mark {format_number(mark)} is above "
                                                     f"the total {format_number(scheme.total)}")


def _check_quantitative(scheme: Scheme, indicator: Quantitative, file: str, here: str) -> None:
    baseline, leading = format_number(indicator.baseline), format_number(indicator.leading)
    if indicator.baseline == indicator.leading:
        raise _refuse(file, f"{here}.leading", f"leading value equals the baseline ({baseline}); "
                                               "there is nothing to interpolate")
    if indicator.direction == "forward" and indicator.leading < indicator.baseline:
        raise _refuse(file, f"{here}.leading", "a forward indicator needs leading > baseline, "
                                               f"got leading {leading} < baseline {baseline}")
    if indicator.direction == "reverse" and indicator.leading > indicator.baseline:
        raise _refuse(file, f"{here}.leading", "a reverse indicator needs leading < baseline, "
                                               f"got leading {leading} > baseline {baseline}")
    if indicator.aggregate is not None and scheme.years == 1:
        raise _refuse(file, f"{here}.aggregate",
                      "aggregate applies only to a scheme with more than one year of data")


def _check_rubric(indicator: Qualitative, file: str, here: str) -> None:
    options: dict[str, int] = {}
    for o, option in enumerate(indicator.rubric):
        if option.id in options:
            first = options[option.id]
            raise _refuse(file, f"{here}.rubric[{o}].id",
                          f"duplicate option id {option.id!r} (first at rubric[{first}])")
        options[option.id] = o
    if not any(option.fraction == 1 for option in indicator.rubric):
        raise _refuse(file, f"{here}.rubric",
                      "no option has fraction 1, so full points can never be reached")
