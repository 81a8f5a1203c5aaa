"""Re-scoring under a new scheme version (重新评分), from the data held."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.evaluation import scoring
from services.evaluation.domain.values import stored_value
from services.evaluation.schemes import Scheme

# --- re-scoring under a new version ---------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """A submitted evaluation's data as held: what re-scoring starts from."""

    evaluation_id: str
    unit_id: str
    scheme_version: int
    values: Mapping[str, Mapping[str, Any]]
    basic: Mapping[str, bool]
    result: Mapping[str, Any]           # the result as stored at submission (scoring.result_dict)
    vetoed: bool
    level: str = ""                     # the level applied for: its pass mark applies again


@dataclass(frozen=True)
class IndicatorChange:
    indicator_id: str
    old_points: str
    new_points: str
    fell: bool                          # fewer points than before
    was_provisional: bool = False       # the old version's figures for it were provisional
    now_provisional: bool = False       # the new version's figures for it are provisional


@dataclass(frozen=True)
class RescoreRow:
    evaluation_id: str
    unit_id: str
    from_version: int
    old_total: str
    new_total: str
    old_passed: bool
    new_passed: bool
    now_below_mark: bool
    changes: tuple[IndicatorChange, ...]
    not_carried: tuple[str, ...]
    from_provisional: bool = False      # the version it was scored under has provisional figures
    to_provisional: bool = False        # the new version has provisional figures


def carry(scheme: Scheme,
          values: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, scoring.Value], list[str]]:
    """The held values the new version can take; the others are named, not guessed."""
    carried: dict[str, scoring.Value] = {}
    dropped: list[str] = []
    for indicator_id, value in sorted(values.items()):
        if scoring.accepts(scheme, indicator_id, stored_value(value)):
            carried[indicator_id] = stored_value(value)
        else:
            dropped.append(indicator_id)
    return carried, dropped


def rescore(new: Scheme, held: Held) -> RescoreRow:
    """``held`` scored again under ``new``, and, indicator by indicator, what moved. A veto
    held stays: re-scoring changes points, not the registry's findings."""
    carried, dropped = carry(new, held.values)
    requirements = {r.id for r in new.basic_requirements}
    result = scoring.score(new, carried,
                           basic={k: v for k, v in held.basic.items() if k in requirements},
                           level=held.level or None)
    before = {line["id"]: Decimal(line["points"]) for line in held.result["indicators"]}
    # a result stored before figures carried sources was scored under provisional figures: every
    # figure of every scheme then shipped was (see the sources of their version 1)
    was = {line["id"]: bool(line.get("provisional", True)) for line in held.result["indicators"]}
    changes = tuple(
        IndicatorChange(indicator_id=line.id, old_points=str(before.get(line.id, Decimal(0))),
                        new_points=str(line.points),
                        fell=line.points < before.get(line.id, Decimal(0)),
                        was_provisional=was.get(line.id, False),
                        now_provisional=bool(line.provisional))
        for line in result.indicators
        if line.points != before.get(line.id, Decimal(0))
        or (line.id in was and was[line.id] != bool(line.provisional)))
    passed_before = bool(held.result["passed"]) and not held.vetoed
    passed_now = result.passed and not held.vetoed
    return RescoreRow(evaluation_id=held.evaluation_id, unit_id=held.unit_id,
                      from_version=held.scheme_version, old_total=held.result["total"],
                      new_total=str(result.total), old_passed=passed_before,
                      new_passed=passed_now, now_below_mark=passed_before and not passed_now,
                      changes=changes, not_carried=tuple(dropped),
                      from_provisional=bool(held.result.get("provisional", True)),
                      to_provisional=result.provisional)
