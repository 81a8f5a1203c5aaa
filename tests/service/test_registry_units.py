"""Registry use cases in-process: registration, look-ups, renames, relocations, mergers,
ownership, bulk import — and listing's events heard."""

from __future__ import annotations

from typing import Any

import pytest

from generated.events.v1 import events_pb2 as ev
from services.kernel.errors import DomainError, Kind
from services.kernel.identity import Grant, Identity
from services.registry import handlers
from services.registry.store import Unit
from tests.helpers import person_id, uscc
from tests.service.conftest import UseCases

JIANGSU = Identity(subject="js", grants=(Grant("province", "320000"),))
NANJING = Identity(subject="nj", grants=(Grant("city", "320000", city="320100"),))
SUZHOU = Identity(subject="sz", grants=(Grant("city", "320000", city="320500"),))
MINISTRY = Identity(subject="mi", grants=(Grant("ministry", "000000"),))


def _register(registry: UseCases, as_: Identity = JIANGSU, **fields: Any) -> Unit:
    unit, _ = registry(handlers.register_unit, as_=as_, tenant="320000",
                       **{"kind": "factory", "uscc": uscc("320100"), "site": "",
                          "name": "南京示例厂", "location": "320115", "industry": "3971",
                          "uscc_override_reason": "", "park_level": "",
                          "industrial_value_added_share": None, "park_boundary": "", **fields})
    return unit


def _refused(registry: UseCases, fn: Any, as_: Identity = JIANGSU, **kwargs: Any) -> DomainError:
    with pytest.raises(DomainError) as err:
        registry(fn, as_=as_, tenant="320000", **kwargs)
    return err.value


def _events(registry: UseCases) -> list[type]:
    return [type(e.body) for e in registry.recorded("320000")]


# --- registration and look-ups --------------------------------------------------------------------


def test_registration_is_idempotent_and_recorded_once(registry: UseCases) -> None:
    code = uscc("320100")
    first = _register(registry, uscc=code)
    again = _register(registry, uscc=code)
    assert again.id == first.id
    events = registry.recorded("320000")
    assert [type(e.body) for e in events] == [ev.UnitRegistered]
    assert events[0].body.unit_id == first.id and events[0].envelope.actor.role == "province"
    other_site = _register(registry, uscc=code, site="二厂区")
    assert other_site.id != first.id and _events(registry) == [ev.UnitRegistered]


def test_re_registering_does_not_reveal_a_unit_outside_the_city(registry: UseCases) -> None:
    code = uscc("320100")
    _register(registry, as_=NANJING, uscc=code, location="320104")
    registry.recorded("320000")
    err = _refused(registry, handlers.register_unit, as_=SUZHOU,
                   kind="factory", uscc=code, site="", name="苏州探测", location="320505",
                   industry="3311")
    assert err.code == "auth.outside_city" and err.kind is Kind.FORBIDDEN
    assert _events(registry) == []


def test_a_city_acts_on_its_own_units_only(registry: UseCases) -> None:
    unit = _register(registry, as_=NANJING, location="320104")
    assert _refused(registry, handlers.get_unit, as_=SUZHOU, unit_id=unit.id).code == (
        "auth.outside_city")
    assert _refused(registry, handlers.rename_unit, as_=SUZHOU, unit_id=unit.id,
                    new_name="苏州改名", effective_on="", reason="").kind is Kind.FORBIDDEN
    renamed = registry(handlers.rename_unit, as_=NANJING, tenant="320000", unit_id=unit.id,
                       new_name="南京改名", effective_on="", reason="")
    assert renamed.name == "南京改名"
    assert registry(handlers.get_unit, as_=MINISTRY, tenant="320000", unit_id=unit.id).id == unit.id
    assert _refused(registry, handlers.rename_unit, as_=MINISTRY, unit_id=unit.id,
                    new_name="部里改名", effective_on="", reason="").kind is Kind.FORBIDDEN


def test_a_unit_unknown_here_is_not_found_and_a_stranger_forbidden(registry: UseCases) -> None:
    assert _refused(registry, handlers.get_unit, unit_id="nope").code == "unit.not_found"
    stranger = Identity(subject="zj", grants=(Grant("province", "330000"),))
    assert _refused(registry, handlers.get_unit, as_=stranger, unit_id="nope").kind is (
        Kind.FORBIDDEN)


def test_find_units_is_confined_and_checks_its_arguments(registry: UseCases) -> None:
    nanjing_unit = _register(registry, location="320104")
    suzhou_unit = _register(registry, location="320505")
    seen, _ = registry(handlers.find_units, as_=SUZHOU, tenant="320000")
    assert [u.id for u in seen] == [suzhou_unit.id]
    assert _refused(registry, handlers.find_units, as_=SUZHOU, city="320100").code == (
        "auth.outside_city")
    err = _refused(registry, handlers.find_units, kind="shop")
    assert err.code == "unit.kind_unknown" and err.params["allowed"] == "factory/park/supply_chain"
    own = Identity(subject="e", grants=(Grant("enterprise", "320000", org=nanjing_unit.uscc),))
    mine, _ = registry(handlers.find_units, as_=own, tenant="320000")
    assert [u.id for u in mine] == [nanjing_unit.id]
    page, token = registry(handlers.find_units, as_=JIANGSU, tenant="320000", page_size=1)
    rest, end = registry(handlers.find_units, as_=JIANGSU, tenant="320000", page_token=token)
    assert len(page) == 1 and token and end == ""
    assert {u.id for u in page + rest} == {nanjing_unit.id, suzhou_unit.id}


@pytest.mark.parametrize("garbage", ["zzz", "' OR 1=1 --", "00000000", "ffffffff-ffff",
                                     "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF", " "])
def test_a_page_token_not_handed_out_is_refused(registry: UseCases, garbage: str) -> None:
    """A token that is no unit id is refused naming page_token — not read as a place to start
    (``"zzz"`` would otherwise answer an empty last page, ``"0"`` the first)."""
    _register(registry)
    err = _refused(registry, handlers.find_units, page_token=garbage)
    assert (err.code, err.kind, err.params) == ("unit.page_token", Kind.INVALID,
                                                {"field": "page_token"})
    assert "page_token" in err.message("en") and "page_token" in err.message("zh")


# --- renames and relocations ----------------------------------------------------------------------


def test_a_retried_rename_changes_nothing(registry: UseCases) -> None:
    unit = _register(registry)
    registry.recorded("320000")
    for _ in range(2):
        renamed = registry(handlers.rename_unit, as_=JIANGSU, tenant="320000", unit_id=unit.id,
                           new_name="  南京新名称 制造有限公司 ", effective_on="2026-05-01",
                           reason="更名")
    assert renamed.name == "南京新名称 制造有限公司" and renamed.version == 2
    (event,) = registry.recorded("320000")
    assert event.body == ev.UnitRenamed(unit_id=unit.id, old_name="南京示例厂",
                                        new_name="南京新名称 制造有限公司",
                                        effective_on="2026-05-01")
    changes = registry(handlers.history, as_=JIANGSU, tenant="320000", unit_id=unit.id)
    assert [(c.kind, c.field_from, c.reason) for c in changes] == [
        ("registered", "", ""), ("renamed", "南京示例厂", "更名")]


def test_a_relocation_out_of_the_tenant_is_refused(registry: UseCases) -> None:
    unit = _register(registry)
    err = _refused(registry, handlers.relocate_unit, unit_id=unit.id, new_location="330106",
                   new_site="", effective_on="", reason="")
    assert err.code == "unit.location_other_tenant" and err.kind is Kind.INVALID
    assert err.params == {"location": "330106", "tenant": "320000", "owner": "330000"}


def test_a_relocation_moves_the_unit_into_another_city_once(registry: UseCases) -> None:
    unit = _register(registry)
    registry.recorded("320000")
    for _ in range(2):
        moved = registry(handlers.relocate_unit, as_=JIANGSU, tenant="320000", unit_id=unit.id,
                         new_location="320505", new_site="", effective_on="", reason="搬迁")
    assert (moved.location, moved.city, moved.site) == ("320505", "320500", "")
    (event,) = registry.recorded("320000")
    assert event.body == ev.UnitRelocated(unit_id=unit.id, old_location="320115",
                                          new_location="320505", old_city="320100",
                                          new_city="320500")
    # Nanjing may not move a unit into Suzhou.
    other = _register(registry, location="320104")
    assert _refused(registry, handlers.relocate_unit, as_=NANJING, unit_id=other.id,
                    new_location="320505", new_site="", effective_on="",
                    reason="").code == "auth.outside_city"


def test_a_relocation_onto_a_site_the_enterprise_has_is_a_conflict(registry: UseCases) -> None:
    code = uscc("320100")
    _register(registry, uscc=code, site="一厂区")
    second = _register(registry, uscc=code, site="二厂区")
    err = _refused(registry, handlers.relocate_unit, unit_id=second.id, new_location="320115",
                   new_site=" 一厂区 ", effective_on="", reason="")
    assert err.code == "unit.site_taken" and err.kind is Kind.CONFLICT
    assert err.params == {"uscc": code, "site": "一厂区"}


# --- mergers --------------------------------------------------------------------------------------


def test_a_merger_keeps_the_id_and_is_recorded_once(registry: UseCases) -> None:
    a, b = _register(registry), _register(registry)
    registry.recorded("320000")
    for _ in range(2):
        into = registry(handlers.merge_units, as_=JIANGSU, tenant="320000", absorbed_id=a.id,
                        into_id=b.id, effective_on="2026-01-01", reason="吸收合并")
    assert into.id == b.id
    (event,) = registry.recorded("320000")
    assert event.body == ev.UnitsMerged(absorbed_id=a.id, into_id=b.id, effective_on="2026-01-01")
    absorbed = registry(handlers.get_unit, as_=JIANGSU, tenant="320000", unit_id=a.id)
    assert (absorbed.status, absorbed.merged_into) == ("merged", b.id)
    history = registry(handlers.history, as_=JIANGSU, tenant="320000", unit_id=a.id)
    assert [c.kind for c in history] == ["registered", "merged_into"]


def test_merger_rules(registry: UseCases) -> None:
    a, b, c = _register(registry), _register(registry), _register(registry)
    assert _refused(registry, handlers.merge_units, absorbed_id=a.id, into_id=a.id,
                    effective_on="", reason="").code == "unit.merge_self"
    registry(handlers.merge_units, as_=JIANGSU, tenant="320000", absorbed_id=a.id, into_id=b.id,
             effective_on="", reason="")
    again = _refused(registry, handlers.merge_units, absorbed_id=a.id, into_id=c.id,
                     effective_on="", reason="")
    assert again.code == "unit.already_merged" and again.kind is Kind.PRECONDITION
    assert again.params == {"unit_id": a.id, "into": b.id}
    assert _refused(registry, handlers.merge_units, absorbed_id=c.id, into_id=a.id,
                    effective_on="", reason="").code == "unit.merge_into_merged"


# --- ownership ------------------------------------------------------------------------------------


def test_ownership_keeps_the_id_number_masked_and_a_retry_changes_nothing(
        registry: UseCases) -> None:
    unit = _register(registry)
    parent, number = uscc("320100"), person_id(1)
    registry.recorded("320000")
    for _ in range(2):
        declared = registry(handlers.set_ownership, as_=JIANGSU, tenant="320000", unit_id=unit.id,
                            parent_uscc=parent, legal_representative=" 张  三 ",
                            legal_rep_id=number)
    assert (declared.parent_uscc, declared.legal_representative) == (parent, "张 三")
    assert declared.legal_rep_masked == f"{number[:4]}{'*' * 10}{number[14:]}"
    assert number not in {str(v) for v in declared.model_dump().values()}
    (event,) = registry.recorded("320000")
    assert event.body == ev.UnitOwnershipDeclared(unit_id=unit.id, parent_uscc=parent,
                                                  legal_rep_changed=True)
    registry(handlers.set_ownership, as_=JIANGSU, tenant="320000", unit_id=unit.id,
             parent_uscc="", legal_representative="张 三", legal_rep_id=number)
    (event,) = registry.recorded("320000")
    assert event.body.parent_uscc == "" and not event.body.legal_rep_changed


def test_a_unit_is_not_its_own_parent(registry: UseCases) -> None:
    unit = _register(registry)
    err = _refused(registry, handlers.set_ownership, unit_id=unit.id, parent_uscc=unit.uscc,
                   legal_representative="张三", legal_rep_id=person_id(2))
    assert err.code == "unit.parent_is_self" and err.params == {"uscc": unit.uscc}
    assert _refused(registry, handlers.set_ownership, unit_id=unit.id, parent_uscc="",
                    legal_representative="  ", legal_rep_id=person_id(2)).code == "field.required"


# --- bulk import ----------------------------------------------------------------------------------


def test_an_import_answers_row_by_row(registry: UseCases) -> None:
    good, dup = uscc("320100"), uscc("320100")
    rows = ["kind,uscc,name,location,industry,park_level,industrial_value_added_share",
            f"factory,{good},好工厂,320102,3311,,",
            "factory,91320100BAD,坏代码,320102,3311,,",
            f"factory,{uscc()},采矿企业,320102,0610,,",
            "",
            f"factory,{dup},重复工厂,320102,3311,,",
            f"factory,{dup},重复工厂,320102,3311,,",
            f"factory,{uscc()},宁波企业,330203,3311,,",
            f"park,{uscc()},园区,320115,,provincial,六成"]
    result = registry(handlers.import_units, as_=JIANGSU, tenant="320000",
                      content="\n".join(rows).encode(), fmt="csv", lang="en")
    by_row = {r["row"]: r for r in result}
    assert [r["row"] for r in result] == [1, 2, 3, 5, 6, 7, 8]
    assert by_row[1]["accepted"] and not by_row[1]["existing"]
    assert by_row[2]["code"] == "uscc.length" and by_row[3]["code"] == "unit.not_manufacturing"
    assert by_row[6]["accepted"] and by_row[6]["existing"] and by_row[6]["id"] == by_row[5]["id"]
    assert by_row[7]["code"] == "unit.location_other_tenant"
    assert by_row[8]["code"] == "unit.share_malformed"
    events = registry.recorded("320000")
    assert [type(e.body) for e in events] == [ev.UnitRegistered] * 2
    assert all(e.body.imported for e in events)
    assert _refused(registry, handlers.import_units, as_=MINISTRY, content=b"", fmt="csv",
                    lang="zh").kind is Kind.FORBIDDEN


# --- listing's events -----------------------------------------------------------------------------


def test_a_removal_from_a_list_bars_the_unit(registry: UseCases) -> None:
    unit = _register(registry)
    registry.recorded("320000")
    applied = registry.hear(ev.EntryRemoved(entry_id="e1", unit_id=unit.id, uscc=unit.uscc,
                                            decided_on="2025-09-01", reason="抽查不合格"),
                            tenant="320000", service="listing", event_type="entry.removed")
    assert applied
    (recorded,) = registry.recorded("320000")
    assert isinstance(recorded.body, ev.ComplianceRecorded)
    assert recorded.body.kind == "list_removal" and recorded.body.condition == 3
    _, outcome, _ = registry(handlers.check_veto, as_=JIANGSU, tenant="320000",
                             unit_id=unit.id, on="2026-01-01")
    assert outcome.vetoed and list(outcome.triggered) == [3]
