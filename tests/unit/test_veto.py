"""The veto check over compliance records (SPEC §5, services/kernel/data/veto.yaml), and
what makes a record: one per fact, ended once."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.kernel.clock import add_years
from services.kernel.errors import DomainError
from services.registry.domain import (
    Fact,
    Record,
    check_record,
    check_veto,
    condition_code,
    condition_title,
    end_record,
    fingerprint,
    months_between,
    record_applies,
    restated,
    veto_rules,
)

ON = date(2025, 6, 15)  # the day checked; the 3-year window starts 2022-06-15
STATE_KINDS = ["abnormal_operations", "energy_rectification", "dishonest_debtor"]


def rec(kind: str, occurred: date, ended: date | None = None, rid: str = "r1") -> Record:
    return Record(id=rid, kind=kind, occurred_on=occurred, ended_on=ended)


# --- the rules file ---------------------------------------------------------------------------


def test_rules_cover_the_six_conditions_with_a_three_year_window() -> None:
    vr = veto_rules()
    assert vr.window_years == 3
    assert sorted(vr.conditions) == [1, 2, 3, 4, 5, 6]
    assert sorted({rule.condition for rule in vr.kinds.values()}) == [1, 2, 3, 4, 5, 6]
    assert [condition_code(c) for c in range(1, 7)] == [
        "not_operating", "accident_or_violation", "removed_from_list", "inspection",
        "energy_rectification", "dishonest_debtor",
    ]


# --- each condition triggers, with the record that triggered it --------------------------------


@pytest.mark.parametrize(
    ("kind", "condition"),
    [
        ("deregistered", 1),
        ("abnormal_operations", 1),
        ("safety_accident", 2),
        ("cyber_security_incident", 2),
        ("data_security_incident", 2),
        ("quality_accident", 2),
        ("environmental_accident", 2),
        ("tax_violation", 2),
        ("list_removal", 3),
        ("inspection_serious_problem", 4),
        ("energy_rectification", 5),
        ("dishonest_debtor", 6),
    ],
)
def test_each_kind_triggers_its_condition(kind: str, condition: int) -> None:
    record = rec(kind, date(2024, 3, 1), rid=f"rec-{kind}")
    outcome = check_veto([record], ON)
    assert outcome.vetoed
    assert outcome.triggered == {condition: [record]}


def test_the_outcome_names_the_condition_in_both_languages() -> None:
    outcome = check_veto([rec("dishonest_debtor", date(2024, 3, 1))], ON)
    (condition,) = outcome.triggered
    assert condition_code(condition) == "dishonest_debtor"
    assert condition_title(condition, "zh") == "被列为失信被执行人"
    assert condition_title(condition, "en") == "Listed as a dishonest judgment debtor"


def test_a_long_production_stop_triggers_condition_1() -> None:
    stop = rec("production_stopped", date(2023, 1, 1), date(2024, 6, 1), rid="stop")
    assert check_veto([stop], ON).triggered == {1: [stop]}


def test_no_records_no_veto() -> None:
    outcome = check_veto([], ON)
    assert not outcome.vetoed and outcome.triggered == {}
    assert outcome.on == ON and outcome.window_from == date(2022, 6, 15)


def test_unknown_record_kind_is_ignored_by_the_check() -> None:
    assert not check_veto([rec("parking_ticket", date(2025, 1, 1))], ON).vetoed


# --- the 3-year window for events --------------------------------------------------------------


def test_accident_exactly_three_years_before_is_inside_the_window() -> None:
    assert check_veto([rec("safety_accident", date(2022, 6, 15))], ON).triggered.keys() == {2}


def test_accident_one_day_earlier_is_outside_the_window() -> None:
    assert not check_veto([rec("safety_accident", date(2022, 6, 14))], ON).vetoed


def test_accident_on_the_day_checked_vetoes() -> None:
    assert check_veto([rec("quality_accident", ON)], ON).vetoed


def test_removal_bars_reapplication_for_exactly_three_years() -> None:
    removal = rec("list_removal", date(2022, 6, 15))
    assert check_veto([removal], date(2025, 6, 15)).vetoed
    assert not check_veto([removal], date(2025, 6, 16)).vetoed


def test_record_dated_after_the_day_checked_does_not_veto() -> None:
    for kind in ("safety_accident", "dishonest_debtor", "abnormal_operations"):
        assert not check_veto([rec(kind, date(2025, 6, 16))], ON).vetoed, kind
    stop = rec("production_stopped", date(2025, 6, 16))
    assert not check_veto([stop], ON).vetoed


# --- state records: only while in force --------------------------------------------------------


@pytest.mark.parametrize("kind", STATE_KINDS)
def test_state_record_applies_while_not_ended(kind: str) -> None:
    # started long before the window: a state record still vetoes while it lasts
    assert check_veto([rec(kind, date(2015, 1, 1))], ON).vetoed
    assert check_veto([rec(kind, date(2015, 1, 1), ended=date(2025, 6, 16))], ON).vetoed


@pytest.mark.parametrize("kind", STATE_KINDS)
def test_state_record_ended_does_not_veto(kind: str) -> None:
    assert not check_veto([rec(kind, date(2024, 1, 1), ended=date(2025, 1, 1))], ON).vetoed
    # ended on the day checked: no longer in force that day
    assert not check_veto([rec(kind, date(2024, 1, 1), ended=ON)], ON).vetoed


def test_state_record_checked_on_a_past_day_when_it_was_in_force() -> None:
    debtor = rec("dishonest_debtor", date(2024, 1, 1), ended=date(2025, 1, 1))
    assert check_veto([debtor], date(2024, 12, 31)).vetoed
    assert not check_veto([debtor], date(2023, 12, 31)).vetoed


# --- production stops ------------------------------------------------------------------------


def test_months_between_counts_whole_months() -> None:
    assert months_between(date(2024, 1, 10), date(2025, 1, 10)) == 12
    assert months_between(date(2024, 1, 10), date(2025, 1, 9)) == 11
    assert months_between(date(2024, 1, 10), date(2024, 12, 10)) == 11
    assert months_between(date(2024, 1, 10), date(2024, 1, 10)) == 0
    assert months_between(date(2023, 11, 20), date(2024, 2, 19)) == 2


def test_stop_of_11_months_does_not_veto() -> None:
    stop = rec("production_stopped", date(2024, 1, 10), date(2024, 12, 10))
    assert not check_veto([stop], ON).vetoed


def test_stop_of_12_months_vetoes() -> None:
    stop = rec("production_stopped", date(2024, 1, 10), date(2025, 1, 10))
    assert check_veto([stop], ON).triggered == {1: [stop]}


def test_ongoing_stop_counts_up_to_the_day_checked() -> None:
    stop = rec("production_stopped", date(2024, 6, 16))
    assert not check_veto([stop], date(2025, 6, 15)).vetoed  # 11 months and 30 days
    assert check_veto([stop], date(2025, 6, 16)).vetoed       # 12 months


def test_stop_ending_after_the_day_checked_counts_only_up_to_that_day() -> None:
    stop = rec("production_stopped", date(2024, 6, 16), ended=date(2026, 1, 1))
    assert not check_veto([stop], date(2025, 6, 15)).vetoed
    assert check_veto([stop], date(2025, 6, 16)).vetoed


def test_long_stop_that_ended_before_the_window_does_not_veto() -> None:
    stop = rec("production_stopped", date(2019, 1, 1), date(2022, 6, 14))
    assert not check_veto([stop], ON).vetoed
    reaching = rec("production_stopped", date(2019, 1, 1), date(2022, 6, 15))
    assert check_veto([reaching], ON).vetoed


def test_record_applies_directly() -> None:
    rules = veto_rules().kinds
    window_from = add_years(ON, -3)
    tax = rules["tax_violation"]
    assert record_applies(tax, rec("tax_violation", window_from), ON, window_from)
    assert not record_applies(tax, rec("tax_violation", date(2020, 1, 1)), ON, window_from)
    assert record_applies(
        rules["production_stopped"], rec("production_stopped", date(2023, 1, 1)), ON, window_from
    )


# --- several conditions at once ----------------------------------------------------------------


def test_several_conditions_sorted_with_their_records_in_date_order() -> None:
    debtor = rec("dishonest_debtor", date(2024, 5, 1), rid="d")
    tax = rec("tax_violation", date(2024, 2, 1), rid="t2")
    fire = rec("safety_accident", date(2023, 1, 1), rid="t1")
    removal = rec("list_removal", date(2023, 7, 1), rid="x")
    old = rec("safety_accident", date(2020, 1, 1), rid="old")  # outside the window
    outcome = check_veto([debtor, tax, removal, old, fire], ON)
    assert list(outcome.triggered) == [2, 3, 6]
    assert outcome.triggered[2] == [fire, tax]
    assert outcome.triggered[3] == [removal]
    assert outcome.triggered[6] == [debtor]


# --- 29 February -----------------------------------------------------------------------------


def test_add_years_backwards() -> None:
    assert add_years(date(2025, 6, 15), -3) == date(2022, 6, 15)
    assert add_years(date(2024, 2, 29), -3) == date(2021, 2, 28)
    assert add_years(date(2024, 2, 29), -4) == date(2020, 2, 29)


def test_window_checked_on_29_february() -> None:
    on = date(2024, 2, 29)
    outcome = check_veto([rec("safety_accident", date(2021, 2, 28))], on)
    assert outcome.window_from == date(2021, 2, 28) and outcome.vetoed
    assert not check_veto([rec("safety_accident", date(2021, 2, 27))], on).vetoed


def test_accident_on_29_february_bars_until_28_february_three_years_on() -> None:
    accident = rec("environmental_accident", date(2024, 2, 29))
    assert check_veto([accident], date(2027, 2, 28)).vetoed
    assert not check_veto([accident], date(2027, 3, 1)).vetoed


def test_stop_from_29_february_reaches_12_months_at_the_end_of_february() -> None:
    """A period counted in months that starts on a day the last month lacks ends on that month's
    last day (Civil Code art. 202), the same convention ``add_years`` uses for 29 February.
    """
    assert months_between(date(2024, 2, 29), date(2025, 2, 28)) == 12
    stop = rec("production_stopped", date(2024, 2, 29))
    assert check_veto([stop], date(2025, 2, 28)).vetoed


# --- recording: the same fact once, a state ended (services/registry/domain/compliance.py) --------


def test_a_fact_is_fingerprinted_by_what_makes_it_not_by_its_end() -> None:
    fact = Fact(kind="safety_accident", occurred_on=date(2026, 1, 5), ended_on=None,
                description="A车间爆炸", source="official", reference="")
    assert fact.fingerprint == fingerprint("safety_accident", date(2026, 1, 5), "", "A车间爆炸")
    assert replace(fact, ended_on=date(2026, 2, 1), source="import").fingerprint == fact.fingerprint
    assert replace(fact, description="B车间火灾").fingerprint != fact.fingerprint


def test_ending_a_record_and_ending_it_again() -> None:
    state = rec("abnormal_operations", date(2025, 5, 1))
    ended = end_record(state, date(2026, 3, 1))
    assert ended == replace(state, ended_on=date(2026, 3, 1))
    assert ended is not None and end_record(ended, date(2026, 3, 1)) is None


def test_a_record_does_not_end_before_it_began() -> None:
    with pytest.raises(DomainError) as err:
        end_record(rec("abnormal_operations", date(2025, 5, 1)), date(2025, 4, 30))
    assert err.value.code == "compliance.ended_before_start"


def test_a_fact_restated_with_its_end_ends_the_record() -> None:
    state = rec("abnormal_operations", date(2025, 5, 1))
    fact = Fact(kind="abnormal_operations", occurred_on=date(2025, 5, 1), ended_on=None,
                description="", source="import", reference="")
    assert restated(state, fact) is None
    assert restated(state, replace(fact, ended_on=date(2025, 9, 1))) == replace(
        state, ended_on=date(2025, 9, 1))
    ended = replace(state, ended_on=date(2025, 9, 1))
    assert restated(ended, replace(fact, ended_on=date(2025, 9, 1))) is None


def test_check_record_names_the_kinds() -> None:
    assert check_record("tax_violation", date(2025, 1, 1), None).condition == 2
    with pytest.raises(DomainError) as err:
        check_record("flood", date(2025, 1, 1), None)
    assert err.value.code == "compliance.kind_unknown"
