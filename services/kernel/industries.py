"""GB/T 4754-2017 国民经济行业分类 (with amendment no. 1, 2019): its sections (门类) and divisions
(大类), as data (``data/gbt4754.yaml``). The registry checks a unit's industry class against it;
the evaluation service names the industry in its reports. A 4-digit class is known as far as its
division: the shipped data lists no groups or classes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

import yaml

_FILE = Path(__file__).parent / "data" / "gbt4754.yaml"
_CLASS = re.compile(r"\d{4}")


@dataclass(frozen=True)
class Section:
    code: str            # A..T
    name_zh: str
    first: str           # its first and last division
    last: str


@dataclass(frozen=True)
class Division:
    code: str            # 2 digits
    section: str
    name_zh: str


@dataclass(frozen=True)
class _Table:
    sections: Mapping[str, Section]
    divisions: Mapping[str, Division]


@cache
def _table() -> _Table:
    raw = yaml.safe_load(_FILE.read_text(encoding="utf-8"))
    sections = {s["code"]: Section(s["code"], s["name_zh"], *map(str, s["divisions"]))
                for s in raw["sections"]}
    divisions: dict[str, Division] = {}
    for d in raw["divisions"]:
        code = str(d["code"]).zfill(2)
        section = sections.get(d["section"])
        if section is None or not section.first <= code <= section.last or code in divisions:
            raise ValueError(f"gbt4754.yaml: division {code} is outside its section or repeated")
        divisions[code] = Division(code, section.code, d["name_zh"])
    return _Table(MappingProxyType(sections), MappingProxyType(divisions))


def sections() -> Mapping[str, Section]:
    """The 20 sections by letter."""
    return _table().sections


def divisions() -> Mapping[str, Division]:
    """The 97 divisions by 2-digit code."""
    return _table().divisions


def division_of(industry: str) -> Division | None:
    """The division of a 4-digit class (``3971`` → 39), or None: malformed or unknown."""
    if not isinstance(industry, str) or not _CLASS.fullmatch(industry):
        return None
    return _table().divisions.get(industry[:2])


def industry_name(industry: str) -> str:
    """What a report states for a 4-digit class: its division's name (``3971`` →
    "计算机、通信和其他电子设备制造业"), or "" when the class is not known."""
    division = division_of(industry)
    return division.name_zh if division else ""
