"""Facts another service states, as the evaluation service's use cases take them.

The servicer (api.py) asks the registry and the institutions service on the caller's behalf and
turns their answers into these frozen values; a use case never sees a proto message or a dict
of unknown shape. What is stored keeps the shape it always had: ``UnitFact.as_json`` is the
``unit_json`` column byte for byte; ``InstitutionFact.as_report`` and the ``VetoFact`` (its
records as ``VetoRecord``) are what the report (and its content hash) states.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar


@dataclass(frozen=True)
class UnitFact:
    """The unit (工厂/园区/供应链单位) as the registry shows it to the caller, or as an
    engagement froze it when the institution accepted the work. Kept with the evaluation as it
    was at creation (``unit_json``)."""

    id: str
    uscc: str
    site: str
    name: str
    kind: str            # factory | park | supply_chain: must be the scheme's category
    location: str        # GB/T 2260 code: confines a city
    city: str
    industry: str

    # What the report states of the unit (单位信息); the others are kept but not printed.
    REPORTED: ClassVar[tuple[str, ...]] = ("id", "uscc", "name", "kind", "location", "industry")

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> UnitFact:
        """The fact from a mapping holding at least ``UNIT_KEYS`` (others are ignored)."""
        return cls(**{key: data[key] for key in UNIT_KEYS})

    def as_json(self) -> str:
        """The stored ``unit_json``: the keys in ``UNIT_KEYS`` order, Chinese kept as is."""
        return json.dumps(asdict(self), ensure_ascii=False)


UNIT_KEYS: tuple[str, ...] = tuple(f.name for f in fields(UnitFact))


@dataclass(frozen=True)
class InstitutionFact:
    """The third-party institution (第三方评价机构) as its report names it."""

    uscc: str
    name: str
    address: str = ""
    legal_representative: str = ""

    def as_report(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class EngagementStanding:
    """An institution's accepted engagement as the institutions service sees it now: whose work
    it is, on which unit, whether the institution's reports are accepted (采信) today, and who
    is one party with the institution (``party``: the USCCs of itself, its parent company and
    the institutions sharing its legal representative or parent)."""

    id: str
    institution_uscc: str
    unit_id: str
    unit: UnitFact
    reports_accepted: bool
    institution: InstitutionFact
    party: tuple[str, ...] = ()
    level: str = ""            # the level the engagement is for (municipal/provincial/national)


@dataclass(frozen=True)
class VetoRecord:
    """A compliance record (合规记录) as a report states it: its kind by code and name, its
    condition, when it occurred (and ended), its document reference (文号) and source. Not the
    registry's record id, the unit's id, nor who recorded it when: they identify people and
    rows, not the fact."""

    kind: str
    kind_zh: str
    kind_en: str
    condition: int
    occurred_on: str
    ended_on: str = ""
    reference: str = ""
    source: str = ""


@dataclass(frozen=True)
class VetoCondition:
    """One SPEC §5 veto condition (否决条件) that applies, with the records that trigger it.
    ``title`` is in the caller's language (as the registry said it), ``title_zh``/``title_en``
    both, from the veto table."""

    condition: int
    code: str
    title: str
    records: tuple[VetoRecord, ...] = ()
    title_zh: str = ""
    title_en: str = ""


@dataclass(frozen=True)
class VetoFact:
    """The registry's veto check (否决条件核查) of the unit on a day (``on``)."""

    vetoed: bool = False
    on: str = ""
    conditions: tuple[VetoCondition, ...] = ()

    def records(self) -> tuple[VetoRecord, ...]:
        """Every record of every condition that applies, oldest first."""
        return tuple(sorted((r for c in self.conditions for r in c.records),
                            key=lambda r: (r.occurred_on, r.kind, r.reference)))
