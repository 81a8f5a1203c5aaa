"""Inputs the register refuses (services/registry/domain): compliance records dated after the
platform's today, page tokens it never handed out."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.kernel.errors import DomainError, Kind
from services.registry import domain

TODAY = date(2025, 10, 11)


def test_a_record_of_today_or_before_passes() -> None:
    assert domain.in_the_future(TODAY, occurred_on=TODAY, ended_on=None) is None
    assert domain.in_the_future(TODAY, occurred_on=date(2020, 1, 1), ended_on=TODAY) is None


@pytest.mark.parametrize(("days", "field", "value"), [
    ({"occurred_on": date(2099, 1, 1), "ended_on": None}, "occurred_on", "2099-01-01"),
    ({"occurred_on": date(2025, 10, 12), "ended_on": None}, "occurred_on", "2025-10-12"),
    ({"occurred_on": date(2025, 1, 1), "ended_on": date(2025, 10, 12)}, "ended_on", "2025-10-12"),
    ({"ended_on": date(2099, 1, 1)}, "ended_on", "2099-01-01"),
])
def test_a_record_dated_after_today_is_refused(days: dict, field: str, value: str) -> None:
    refusal = domain.in_the_future(TODAY, **days)
    assert refusal is not None and refusal.kind is Kind.INVALID
    assert (refusal.code, dict(refusal.params)) == (
        "compliance.in_the_future", {"field": field, "value": value, "today": "2025-10-11"})


def test_a_page_token_is_the_id_it_was_handed_out_as() -> None:
    unit_id = str(uuid.uuid4())
    assert domain.page_after(unit_id) == unit_id
    assert domain.page_after("") == ""
    query = domain.unit_query(uscc="", kind="", city="", name_contains="", page_size=10,
                              scope_prefix="", page_token=unit_id)
    assert isinstance(query, domain.UnitQuery) and query.after == unit_id


UNIT_ID = "3f2b8a4e-9c1d-4e57-8a6b-2d0c9e7f1a35"


@pytest.mark.parametrize("token", ["zzz", "0", " ", "' OR 1=1 --", UNIT_ID.upper(),
                                   UNIT_ID.replace("-", ""), "{" + UNIT_ID + "}"])
def test_a_page_token_never_handed_out_is_refused(token: str) -> None:
    with pytest.raises(DomainError) as info:
        domain.page_after(token)
    assert (info.value.code, info.value.kind, info.value.params) == (
        "unit.page_token", Kind.INVALID, {"field": "page_token"})
