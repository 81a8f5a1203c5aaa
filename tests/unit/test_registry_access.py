"""Who reads a veto check on whose word (SPEC §1, §5): services/registry/domain/access.py.

The servicer only asks the institutions service and hands its answer over; these rules say who
must be vouched for, what the answer means, and what a vouched-for reader does not see."""

from __future__ import annotations

import pytest

from services.kernel.errors import Kind, Refusal
from services.registry.domain import (
    WITHHELD,
    Engagement,
    answers_engagement,
    engaged,
    must_be_vouched,
    redacts_others,
)


@pytest.mark.parametrize(("roles", "vouched"), [
    ({"institution"}, True),
    ({"institution", "expert"}, True),
    ({"institution", "enterprise"}, False),   # its enterprise role reads the register itself
    ({"province"}, False),
    ({"ministry"}, False),
    ({"expert"}, False),                       # no role here at all: refused by its roles
    (set(), False),
])
def test_only_an_institution_with_no_reading_role_must_be_vouched_for(
        roles: set[str], vouched: bool) -> None:
    assert must_be_vouched(roles) is vouched


def test_only_no_engagement_answers_the_question() -> None:
    assert answers_engagement("engagement.not_found")
    assert not answers_engagement("unavailable") and not answers_engagement("auth.forbidden_role")


def test_no_answer_is_no_engagement() -> None:
    assert engaged(None) is False


def test_an_engagement_vouched_for_lets_the_institution_in() -> None:
    assert engaged(Engagement(unit_id="u1")) is True


def test_no_engagement_is_not_engaged() -> None:
    assert engaged(Engagement(unit_id="u1", refused="engagement.not_found")) == Refusal(
        "unit.not_engaged", Kind.FORBIDDEN, {"unit_id": "u1"})


def test_enterprises_and_engaged_institutions_see_other_units_records_redacted() -> None:
    assert redacts_others(engaged=True, org="")
    assert redacts_others(engaged=False, org="91320100MA1N2P3Q43")
    assert not redacts_others(engaged=False, org="")
    assert set(WITHHELD) == {"description", "reference", "recorded_by"}
    assert not any(WITHHELD.values())
