"""The registry's rules as data (services/registry/data): read once, never written. The veto
table and the GB/T 4754 industry classes are the kernel's (services/kernel/veto.py,
services/kernel/industries.py): the evaluation service names them in its reports."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import yaml

from services.kernel import industries, veto

DATA = Path(__file__).resolve().parent.parent / "data"
KINDS = ("factory", "park", "supply_chain")
LEVELS = ("municipal", "provincial", "national")


# The veto table (SPEC §5) under the names the registry has always used for it.
KindRule = veto.KindRule
VetoRules = veto.VetoTable
veto_rules = veto.veto_table


@lru_cache(maxsize=1)
def rules() -> dict:
    return yaml.safe_load((DATA / "registry.yaml").read_text(encoding="utf-8"))


def industry_divisions() -> Mapping[str, industries.Division]:
    """GB/T 4754-2017 divisions by 2-digit code, with their section letter."""
    return industries.divisions()
