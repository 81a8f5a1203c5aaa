"""The rules file (``data/institutions.yaml``) and the refusals every institutions rule shares.

Figures an operator may change live in the file; a defective file is refused at start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import yaml

from services.kernel.errors import Kind, Refusal, invalid
from services.kernel.uscc import validate_uscc

NATIONAL = "000000"


@dataclass(frozen=True)
class Rules:
    titles: tuple[str, ...]
    min_full_time_qualified: int
    min_senior_share: Decimal
    experience_years: int
    experience_min_items: int
    categories: tuple[str, ...]
    levels: tuple[str, ...]
    cap: int
    counted_level: str
    work_report_due: tuple[int, int]
    sanction_kinds: tuple[str, ...]
    province_may: tuple[str, ...]
    max_not_accepted_days: int


def parse_rules(data: dict) -> Rules:
    month, day = (int(x) for x in data["work_report"]["due_month_day"].split("-"))
    date(2024, month, day)  # a real day, or a ValueError at start
    rules = Rules(
        titles=tuple(data["staff"]["titles"]),
        min_full_time_qualified=int(data["staff"]["min_full_time_qualified"]),
        min_senior_share=Decimal(str(data["staff"]["min_senior_share"])),
        experience_years=int(data["experience"]["years"]),
        experience_min_items=int(data["experience"]["min_items"]),
        categories=tuple(data["categories"]),
        levels=tuple(data["levels"]),
        cap=int(data["cap"]["per_legal_rep_per_year"]),
        counted_level=data["cap"]["counted_level"],
        work_report_due=(month, day),
        sanction_kinds=tuple(data["sanctions"]["kinds"]),
        province_may=tuple(data["sanctions"]["province_may"]),
        max_not_accepted_days=int(data["sanctions"]["max_not_accepted_days"]),
    )
    if rules.counted_level not in rules.levels or not set(rules.province_may) <= set(rules.sanction_kinds):
        raise ValueError("institutions.yaml: counted_level or province_may names an unknown value")
    return rules


@lru_cache(maxsize=1)
def rules() -> Rules:
    return parse_rules(yaml.safe_load(
        (Path(__file__).parent.parent / "data" / "institutions.yaml").read_text("utf-8")))


# --- refusals shared by every sub-domain -----------------------------------------------------------


def required(field: str, value: str) -> Refusal | None:
    """An empty text where one is needed (a reason, a summary …)."""
    return None if value else Refusal("field.required", Kind.INVALID, {"field": field})


def uscc_field(raw: str, field: str) -> str:
    """A USCC a caller typed, checked (checksum included); malformed input is refused."""
    if not raw.strip():
        raise invalid("field.required", field=field)
    return validate_uscc(raw).code


def national_only(tenant: str) -> Refusal | None:
    """The registry of institutions and their work reports are written nationally only."""
    if tenant != NATIONAL:
        return Refusal("institution.national_only", Kind.PRECONDITION, {"tenant": tenant})
    return None


def crossing_refusal(tenant: str, *, declared: bool) -> Refusal | None:
    """A province's records are kept nationally only by the declared store crossing
    ``institutions_registry_is_national``; without it nothing crosses."""
    if tenant != NATIONAL and not declared:
        return Refusal("crossing.undeclared", Kind.FORBIDDEN,
                       {"event": "institutions", "source": tenant, "target": NATIONAL})
    return None
