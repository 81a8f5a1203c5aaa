"""Declarations (自我声明) the registry contradicts: a basic requirement the unit declares met
(``no_major_accident``: no major accident in three years) while the registry's veto check holds
a record of a kind that says otherwise (a safety accident last year). Which kinds contradict which
requirement is data (``data/evaluation.yaml``, ``declarations``). A contradiction changes no
figure — the registry's veto decides the outcome — it makes the false declaration visible."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from services.evaluation import scoring
from services.evaluation.facts import VetoFact, VetoRecord


@dataclass(frozen=True)
class DeclarationRules:
    contradicted_by: Mapping[str, frozenset[str]]   # requirement id → record kinds


def parse_declaration_rules(data: Mapping[str, Any]) -> DeclarationRules:
    """The ``declarations`` part of ``data/evaluation.yaml``."""
    return DeclarationRules({requirement: frozenset(spec["contradicted_by"])
                             for requirement, spec in data.items()})


@lru_cache(maxsize=1)
def declaration_rules() -> DeclarationRules:
    return parse_declaration_rules(yaml.safe_load(
        (Path(__file__).parents[1] / "data" / "evaluation.yaml").read_text("utf-8"))
        ["declarations"])


@dataclass(frozen=True)
class Contradiction:
    """A requirement declared met, and the registry's records that say it is not."""

    requirement: str
    records: tuple[VetoRecord, ...]

    def as_json(self) -> dict[str, Any]:
        return {"requirement": self.requirement, "records": [asdict(r) for r in self.records]}


def contradictions(basic: Mapping[str, bool], veto: VetoFact,
                   rules: DeclarationRules | None = None) -> tuple[Contradiction, ...]:
    """Each requirement declared met (``basic``) that a record of the veto check contradicts,
    in the order of the rules, with its records oldest first. A requirement declared not met
    (or not declared) is no false declaration: the veto already follows from it."""
    rules = rules or declaration_rules()
    found = []
    for requirement, kinds in rules.contradicted_by.items():
        if basic.get(requirement) is not True:
            continue
        records = tuple(r for r in veto.records() if r.kind in kinds)
        if records:
            found.append(Contradiction(requirement, records))
    return tuple(found)


def scored(result: scoring.Result, found: Sequence[Contradiction]) -> dict[str, Any]:
    """The score as kept and shown (``result_json``): the explained result, and the declarations
    the registry contradicts."""
    return {**scoring.result_dict(result), "contradictions": [c.as_json() for c in found]}
