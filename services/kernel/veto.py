"""Veto conditions (否决条件, SPEC §5) and the compliance-record kinds that feed them, as data
(``data/veto.yaml``). Two services read the one table: the registry checks compliance records
against it, the evaluation service names a record's kind and condition in its reports."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

_FILE = Path(__file__).parent / "data" / "veto.yaml"
MODES = ("event", "state", "stoppage")


@dataclass(frozen=True)
class KindRule:
    """A compliance-record kind: the condition it feeds, how a record applies on a day (``mode``)
    and its name."""

    condition: int
    mode: str            # event | state | stoppage
    zh: str
    en: str
    min_months: int = 0


@dataclass(frozen=True)
class VetoTable:
    window_years: int
    conditions: dict[int, dict[str, str]]   # 1..6 → code, zh, en
    kinds: dict[str, KindRule]


@cache
def veto_table() -> VetoTable:
    """The table, read once; a kind naming an unknown condition or mode stops the start."""
    raw = yaml.safe_load(_FILE.read_text(encoding="utf-8"))
    kinds = {name: KindRule(**spec) for name, spec in raw["kinds"].items()}
    conditions = {int(k): dict(v) for k, v in raw["conditions"].items()}
    for name, rule in kinds.items():
        if rule.condition not in conditions or rule.mode not in MODES:
            raise ValueError(f"veto.yaml: kind {name!r} has a bad condition or mode")
    return VetoTable(int(raw["window_years"]), conditions, kinds)


def kind_names(kind: str) -> tuple[str, str]:
    """(zh, en) name of a compliance-record kind; the code itself for a kind the table lacks."""
    rule = veto_table().kinds.get(kind)
    return (rule.zh, rule.en) if rule else (kind, kind)


def condition_names(condition: int) -> tuple[str, str]:
    """(zh, en) title of a veto condition; its number for one the table lacks."""
    spec = veto_table().conditions.get(condition)
    return (spec["zh"], spec["en"]) if spec else (str(condition), str(condition))
