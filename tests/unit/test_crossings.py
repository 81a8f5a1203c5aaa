"""The declared cross-tenant effects (ARCHITECTURE §2) and how authorisation reads them."""

from __future__ import annotations

import pytest

from services.kernel.crossings import crossing_for_effect, crossing_for_read
from services.kernel.errors import DomainError
from services.kernel.identity import Grant, Identity, authorize

MINISTRY = Identity("m", (Grant("ministry", "000000"),))


def test_the_ministry_reads_every_tenant_but_writes_none():
    assert crossing_for_read("ministry", "000000", "320000").name == "ministry_reads_provinces"
    assert MINISTRY.in_tenant("320000") and not MINISTRY.in_tenant("320000", write=True)
    authorize(MINISTRY, "320000", ("ministry",))
    with pytest.raises(DomainError) as err:
        authorize(MINISTRY, "320000", ("ministry",), write=True)
    assert err.value.code == "auth.forbidden_role"


def test_a_province_reads_no_other_tenant():
    assert crossing_for_read("province", "330000", "320000") is None
    assert Identity("p", (Grant("province", "330000"),)).in_tenant("320000") == ()


@pytest.mark.parametrize(
    ("event", "source", "target", "name"),
    [
        ("entry.added", "000000", "320000", "national_factory_on_provincial_list"),
        ("entry.added", "330000", "320000", None),           # a province's list stays its own
        ("entry.removed", "000000", "330200", "removal_reaches_every_list"),
        ("application.approved", "320000", "000000", "provincial_approval_to_national_list"),
        ("application.approved", "000000", "320000", None),
        ("unit.registered", "320000", "000000", None),       # nothing undeclared crosses
    ],
)
def test_effects_cross_only_where_declared(event, source, target, name):
    crossing = crossing_for_effect(event, source, target)
    assert (crossing.name if crossing else None) == name
