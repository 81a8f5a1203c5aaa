"""Every event names the role that authorised the action, and carries the reason wherever the
API takes one (SPEC §13): a person with two grants in one tenant acts with the one the rule let
in; the USCC checksum override and its reason travel in unit.registered, and so in the chain."""

from __future__ import annotations

from typing import Any

from generated.events.v1 import events_pb2 as ev
from services.institutions import handlers as inst
from services.kernel.identity import Grant, Identity
from services.registry import handlers
from services.registry.store import Unit
from tests.helpers import bad_checksum, person_id, uscc
from tests.service.conftest import UseCases
from tests.service.institutions_world import JIANGSU as JS_PROVINCE
from tests.service.institutions_world import JS, N, verified

JIANGSU = Identity(subject="js", grants=(Grant("province", "320000"),))
OWN = uscc("320100")
# One person, two grants in Jiangsu: the enterprise OWN, and the Nanjing city department.
BOTH = Identity(subject="two-hats", grants=(Grant("enterprise", "320000", org=OWN),
                                            Grant("city", "320000", city="320100")))


def _register(registry: UseCases, as_: Identity = JIANGSU, **fields: Any) -> Unit:
    unit, _ = registry(handlers.register_unit, as_=as_, tenant="320000",
                       **{"kind": "factory", "uscc": uscc("320100"), "site": "",
                          "name": "南京示例厂", "location": "320115", "industry": "3971",
                          **fields})
    return unit


def _actor(event: Any) -> tuple[str, str, str]:
    actor = event.envelope.actor
    return actor.subject, actor.role, actor.jurisdiction


def test_the_event_names_the_grant_that_authorised_the_action(registry: UseCases) -> None:
    # Its own enterprise, in Suzhou: only the enterprise grant may register it.
    own = _register(registry, as_=BOTH, uscc=OWN, location="320505")
    (registered,) = registry.recorded("320000")
    assert _actor(registered) == ("two-hats", "enterprise", OWN)
    # A rename is an official's act: the city grant authorised it, though listed second.
    nanjing = _register(registry, location="320104")
    registry.recorded("320000")
    registry(handlers.rename_unit, as_=BOTH, tenant="320000", unit_id=nanjing.id,
             new_name="南京新名", effective_on="", reason="更名")
    (renamed,) = registry.recorded("320000")
    assert _actor(renamed) == ("two-hats", "city", "320100")
    # The next call starts afresh: the enterprise grant again.
    registry(handlers.set_ownership, as_=BOTH, tenant="320000", unit_id=own.id,
             parent_uscc="", legal_representative="张三", legal_rep_id=person_id(1))
    assert [_actor(e) for e in registry.recorded("320000")] == [
        ("two-hats", "enterprise", OWN)]


def test_the_checksum_override_and_its_reason_travel_in_unit_registered(
        registry: UseCases) -> None:
    failing = bad_checksum(uscc("320100"))
    unit = _register(registry, uscc=failing, uscc_override_reason=" 早期赋码，已核营业执照 ")
    (event,) = registry.recorded("320000")
    assert event.body.uscc == failing == unit.uscc
    assert event.body.uscc_checksum_override is True
    assert event.body.uscc_override_reason == "早期赋码，已核营业执照"
    assert event.envelope.reason == "早期赋码，已核营业执照"
    _register(registry)   # a code that passes: no override, no reason
    (plain,) = registry.recorded("320000")
    assert not plain.body.uscc_checksum_override and plain.body.uscc_override_reason == ""
    assert plain.envelope.reason == ""


def test_the_reason_travels_in_every_registry_event_that_takes_one(registry: UseCases) -> None:
    a, b = _register(registry), _register(registry)
    [(record, _)] = registry(handlers.add_compliance_record, as_=JIANGSU, tenant="320000",
                             unit_id=a.id, uscc="", kind="abnormal_operations",
                             occurred_on="2025-05-01", ended_on="", description="", source="",
                             reference="")
    registry.recorded("320000")
    calls: list[tuple[Any, dict[str, Any]]] = [
        (handlers.rename_unit, {"unit_id": a.id, "new_name": "新名", "effective_on": ""}),
        (handlers.relocate_unit, {"unit_id": a.id, "new_location": "320505", "new_site": "",
                                  "effective_on": ""}),
        (handlers.end_compliance_record, {"unit_id": a.id, "record_id": record.id,
                                          "ended_on": "2025-09-01"}),
        (handlers.merge_units, {"absorbed_id": a.id, "into_id": b.id, "effective_on": ""}),
    ]
    for fn, kwargs in calls:
        registry(fn, as_=JIANGSU, tenant="320000", reason=f"因为 {fn.__name__}", **kwargs)
    events = registry.recorded("320000")
    assert [type(e.body) for e in events] == [ev.UnitRenamed, ev.UnitRelocated,
                                              ev.ComplianceEnded, ev.UnitsMerged]
    assert [e.envelope.reason for e in events] == [f"因为 {fn.__name__}" for fn, _ in calls]
    assert {_actor(e) for e in events} == {("js", "province", "320000")}


def test_the_reason_travels_in_filing_events(institutions: UseCases) -> None:
    code = verified(institutions, provinces=()).uscc
    institutions.recorded(N)
    institutions(inst.file, as_=JS_PROVINCE, tenant=JS, uscc=code, reason="在苏开展评价")
    institutions(inst.revoke_filing, as_=JS_PROVINCE, tenant=JS, uscc=code, reason="停止备案")
    events = institutions.recorded(N)
    assert [e.envelope.reason for e in events] == ["在苏开展评价", "停止备案"]
    assert {_actor(e) for e in events} == {("js", "province", JS)}
