"""The level an evaluation is for, and declarations the registry contradicts
(services/evaluation/domain/levels.py, declarations.py): one test per rule."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from services.evaluation import domain
from services.evaluation.facts import (
    EngagementStanding,
    InstitutionFact,
    UnitFact,
    VetoCondition,
    VetoFact,
    VetoRecord,
)
from services.evaluation.schemes import Scheme, get_scheme
from services.evaluation.scoring import score
from services.kernel.errors import DomainError, Kind
from tests.unit.test_scoring import GBT2025_VALUES

UNIT = UnitFact(id="u-1", uscc="u", site="", name="厂", kind="factory", location="320115",
                city="320100", industry="3971")
ENGAGED = EngagementStanding(id="en-1", institution_uscc="i", unit_id="u-1", unit=UNIT,
                             reports_accepted=True, institution=InstitutionFact("i", "机构"),
                             level="provincial")


def record(kind: str, on: str = "2025-03-02", condition: int = 2) -> VetoRecord:
    return VetoRecord(kind=kind, kind_zh=kind, kind_en=kind, condition=condition,
                      occurred_on=on)


def veto(*records: VetoRecord) -> VetoFact:
    by: dict[int, list[VetoRecord]] = {}
    for r in records:
        by.setdefault(r.condition, []).append(r)
    return VetoFact(vetoed=bool(records), on="2025-10-11", conditions=tuple(
        VetoCondition(condition=c, code=f"c{c}", title="", records=tuple(rs))
        for c, rs in sorted(by.items())))


# --- the level --------------------------------------------------------------------------------


@pytest.mark.parametrize("requested", ["", "municipal", "provincial", "national"])
def test_a_self_evaluation_is_for_the_level_it_asks(requested: str) -> None:
    assert domain.level_refusal(requested, None) is None
    assert domain.applied_level(requested, None) == requested


@pytest.mark.parametrize("requested", ["county", "National", " national", "省级", "x" * 10_000])
def test_a_level_that_is_none_of_the_three_is_refused(requested: str) -> None:
    with pytest.raises(DomainError) as caught:
        domain.applied_level(requested, None)
    assert caught.value.code == "evaluation.level_unknown" and caught.value.kind is Kind.INVALID
    assert len(caught.value.params["value"]) <= 40
    assert "municipal/provincial/national" in caught.value.message("en")


def test_an_institutions_evaluation_is_for_its_engagements_level() -> None:
    assert domain.applied_level("", ENGAGED) == "provincial"
    assert domain.applied_level("provincial", ENGAGED) == "provincial"
    assert domain.level_refusal("provincial", ENGAGED) is None
    refusal = domain.level_refusal("national", ENGAGED)
    assert refusal is not None and refusal.code == "evaluation.level_engagement"
    assert refusal.params == {"value": "national", "engagement": "provincial"}
    # an engagement without a level (older data): the request's is taken
    assert domain.applied_level("national", replace(ENGAGED, level="")) == "national"


def levelled() -> Scheme:
    """GB/T 36132-2025 v1 with a pass mark of its own for two levels (the shipped files have
    none yet): municipal 55, national 75, provincial the default 60."""
    scheme = get_scheme("gbt36132-2025", 1)
    marks = scheme.pass_mark.model_copy(update={"municipal": Decimal(55),
                                                "national": Decimal(75)})
    return scheme.model_copy(update={"pass_mark": marks})


@pytest.mark.parametrize("level, mark, passed", [
    ("", "60", True), ("municipal", "55", True), ("provincial", "60", True),
    ("national", "75", False)])
def test_the_level_picks_the_pass_mark(level: str, mark: str, passed: bool) -> None:
    scheme = levelled()
    basic = {r.id: True for r in scheme.basic_requirements}
    stored = {k: {"amount": str(v.amount), "unit": v.unit} if hasattr(v, "amount")
              else {"option": v} for k, v in GBT2025_VALUES.items()}
    result = domain.score(scheme, stored, basic, level=level)
    assert (str(result.pass_mark), result.passed, result.level) == (mark, passed, level or None)
    assert result.total == score(scheme, GBT2025_VALUES, basic=basic).total == Decimal("71.22")


# --- declarations the registry contradicts ----------------------------------------------------

MET = {"lawful_operation": True, "no_major_accident": True}


@pytest.mark.parametrize("kind", ["safety_accident", "quality_accident", "environmental_accident",
                                  "cyber_security_incident", "data_security_incident"])
def test_an_accident_record_contradicts_no_major_accident(kind: str) -> None:
    found = domain.contradictions(MET, veto(record(kind)))
    assert found == (domain.Contradiction("no_major_accident", (record(kind),)),)
    assert found[0].as_json() == {"requirement": "no_major_accident", "records": [
        {"kind": kind, "kind_zh": kind, "kind_en": kind, "condition": 2,
         "occurred_on": "2025-03-02", "ended_on": "", "reference": "", "source": ""}]}


def test_other_records_contradict_nothing() -> None:
    others = veto(record("tax_violation"), record("dishonest_debtor", condition=6),
                  record("abnormal_operations", condition=1))
    assert domain.contradictions(MET, others) == ()
    assert domain.contradictions(MET, VetoFact(on="2025-10-11")) == ()


def test_a_requirement_declared_not_met_is_no_false_declaration() -> None:
    accident = veto(record("safety_accident"))
    assert domain.contradictions({**MET, "no_major_accident": False}, accident) == ()
    assert domain.contradictions({}, accident) == ()


def test_every_contradicting_record_is_named_oldest_first() -> None:
    late, early = record("quality_accident", "2025-06-01"), record("safety_accident", "2023-01-05")
    found = domain.contradictions(MET, veto(late, record("tax_violation"), early))
    assert found[0].records == (early, late)


def test_which_records_contradict_which_requirement_is_data() -> None:
    rules = domain.parse_declaration_rules({"lawful_operation": {
        "contradicted_by": ["tax_violation"]}})
    found = domain.contradictions(MET, veto(record("tax_violation"), record("safety_accident")),
                                  rules)
    assert [c.requirement for c in found] == ["lawful_operation"]
    shipped = domain.declaration_rules().contradicted_by["no_major_accident"]
    assert "safety_accident" in shipped and "tax_violation" not in shipped


def test_the_score_is_kept_with_its_contradictions() -> None:
    scheme = get_scheme("gbt36132-2025", 1)
    basic = {r.id: True for r in scheme.basic_requirements}
    result = score(scheme, GBT2025_VALUES, basic=basic)
    found = domain.contradictions(basic, veto(record("safety_accident")))
    kept = domain.scored(result, found)
    assert kept["total"] == "71.22" and kept["passed"] is True   # the arithmetic is unchanged
    assert kept["contradictions"] == [found[0].as_json()]
