"""The registry's rules as data (services/registry/data): read once, never written."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parent.parent / "data"
KINDS = ("factory", "park", "supply_chain")
LEVELS = ("municipal", "provincial", "national")


@dataclass(frozen=True)
class KindRule:
    condition: int
    mode: str            # event | state | stoppage
    zh: str
    en: str
    min_months: int = 0


@dataclass(frozen=True)
class VetoRules:
    window_years: int
    conditions: dict[int, dict[str, str]]
    kinds: dict[str, KindRule]


@lru_cache(maxsize=1)
def veto_rules() -> VetoRules:
    raw = yaml.safe_load((DATA / "veto.yaml").read_text(encoding="utf-8"))
    kinds = {name: KindRule(**spec) for name, spec in raw["kinds"].items()}
    conditions = {int(k): v for k, v in raw["conditions"].items()}
    for name, rule in kinds.items():
        if rule.condition not in conditions or rule.mode not in ("event", "state", "stoppage"):
            raise ValueError(f"veto.yaml: kind {name!r} has a bad condition or mode")
    return VetoRules(int(raw["window_years"]), conditions, kinds)


@lru_cache(maxsize=1)
def rules() -> dict:
    return yaml.safe_load((DATA / "registry.yaml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def industry_divisions() -> dict[str, dict]:
    """GB/T 4754-2017 divisions by 2-digit code, with their section letter."""
    raw = yaml.safe_load((DATA / "gbt4754.yaml").read_text(encoding="utf-8"))
    out: dict[str, dict] = {}
    for div in raw["divisions"]:
        out[str(div["code"]).zfill(2)] = div
    return out
