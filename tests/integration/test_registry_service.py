"""The registry process called directly over gRPC, as the gateway would — and as a forger would.

The service must hold every rule itself: a token that claims a jurisdiction it does not have, or a
tenant it holds nothing in, gets nothing (defence in depth, ARCHITECTURE §7).
"""

from __future__ import annotations

import concurrent.futures

import grpc
import pytest

from generated.common.v1 import common_pb2
from generated.common.v1.common_pb2_grpc import AuditStub
from generated.registry.v1 import registry_pb2 as pb
from services.kernel import signing
from services.kernel.identity import Grant, Identity, issue_internal_token
from tests.helpers import Registry, error_code, register_pb, token, uscc

pytestmark = pytest.mark.stack

JS = (Grant("province", "320000"),)
ZJ = (Grant("province", "330000"),)
NANJING = (Grant("city", "320000", city="320100"),)
SUZHOU = (Grant("city", "320000", city="320500"),)
MINISTRY = (Grant("ministry", "000000"),)


@pytest.fixture(scope="module")
def reg(stack):  # type: ignore[no-untyped-def]
    r = Registry(stack)
    yield r
    r.close()


@pytest.fixture(scope="module")
def js_data(reg):  # type: ignore[no-untyped-def]
    """A little of everything in 320000 (Nanjing), to be looked for from elsewhere."""
    factory = reg.call("RegisterUnit", register_pb("320102"), tenant="320000", grants=JS).unit
    park = reg.call("RegisterUnit", pb.RegisterUnitRequest(
        kind="park", uscc=uscc(), name="南京绿色园区", location="320115", park_level="national",
        industrial_value_added_share=62.5), tenant="320000", grants=JS).unit
    chain = reg.call("RegisterUnit", register_pb("320104", kind="supply_chain"),
                     tenant="320000", grants=JS).unit
    reg.call("SetParkMembers", pb.SetParkMembersRequest(park_id=park.id, member_ids=[factory.id]),
             tenant="320000", grants=JS)
    reg.call("SetSuppliers", pb.SetSuppliersRequest(unit_id=chain.id, suppliers=[
        pb.Supplier(uscc=factory.uscc, name=factory.name, tenant="320000")]),
        tenant="320000", grants=JS)
    plan = reg.call("PublishPlan", pb.PublishPlanRequest(owner_id=park.id, year=2026, entries=[
        pb.PlanEntry(uscc=factory.uscc, name=factory.name)]), tenant="320000", grants=JS)
    reg.call("DesignateTarget", pb.DesignateTargetRequest(unit_id=factory.id, category="factory",
                                                          valid_from="2026-01-01"),
             tenant="320000", grants=JS)
    reg.call("AddComplianceRecord", pb.AddComplianceRecordRequest(
        unit_id=factory.id, kind="quality_accident", occurred_on="2026-02-01"),
        tenant="320000", grants=JS)
    return {"factory": factory, "park": park, "chain": chain, "plan": plan}


def test_unknown_key_and_missing_token_are_unauthenticated(stack, reg, tmp_path):  # type: ignore[no-untyped-def]
    stranger = signing.ensure(tmp_path, "gateway")  # same issuer name, another key
    forged = issue_internal_token(stranger, Identity("x", JS), seconds=60)
    for kwargs in ({"raw_token": forged, "grants": None}, {"grants": None}):
        with pytest.raises(grpc.RpcError) as err:
            reg.call("FindUnits", pb.FindUnitsRequest(), tenant="320000", **kwargs)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_tenant_without_grant_is_refused(reg):  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        reg.call("FindUnits", pb.FindUnitsRequest(), tenant="320000", grants=ZJ)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_code(err.value) == "auth.wrong_tenant"


def test_unknown_tenant(reg):  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        reg.call("FindUnits", pb.FindUnitsRequest(), tenant="999999", grants=JS)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_code(err.value) == "tenant.unknown"


READS = [
    ("GetUnit", lambda d: pb.GetUnitRequest(unit_id=d["factory"].id)),
    ("UnitHistory", lambda d: pb.GetUnitRequest(unit_id=d["factory"].id)),
    ("GetParkMembers", lambda d: pb.GetUnitRequest(unit_id=d["park"].id)),
    ("GetSuppliers", lambda d: pb.GetUnitRequest(unit_id=d["chain"].id)),
    ("ListPlans", lambda d: pb.GetUnitRequest(unit_id=d["park"].id)),
    ("GetPlan", lambda d: pb.GetPlanRequest(plan_id=d["plan"].id)),
    ("ListComplianceRecords", lambda d: pb.GetUnitRequest(unit_id=d["factory"].id)),
    ("CheckVeto", lambda d: pb.CheckVetoRequest(unit_id=d["factory"].id, on="2026-06-01")),
]


@pytest.mark.parametrize("method,request_of", READS, ids=[m for m, _ in READS])
def test_every_read_path_is_isolated_between_provinces(reg, js_data, method, request_of):  # type: ignore[no-untyped-def]
    # The owner sees it ...
    reg.call(method, request_of(js_data), tenant="320000", grants=JS)
    # ... another province, asking in its own tenant with the same ids, finds nothing ...
    with pytest.raises(grpc.RpcError) as err:
        reg.call(method, request_of(js_data), tenant="330000", grants=ZJ)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    # ... and cannot ask in 320000 at all.
    with pytest.raises(grpc.RpcError) as err:
        reg.call(method, request_of(js_data), tenant="320000", grants=ZJ)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_listings_are_isolated_between_provinces(reg, js_data):  # type: ignore[no-untyped-def]
    mine = reg.call("FindUnits", pb.FindUnitsRequest(page_size=200), tenant="320000", grants=JS)
    assert js_data["factory"].id in {u.id for u in mine.units}
    theirs = reg.call("FindUnits", pb.FindUnitsRequest(uscc=js_data["factory"].uscc),
                      tenant="330000", grants=ZJ)
    assert list(theirs.units) == []
    targets = reg.call("ListTargets", pb.ListTargetsRequest(include_expired=True),
                       tenant="330000", grants=ZJ)
    assert js_data["factory"].id not in {t.unit_id for t in targets.targets}
    js_chain, zj_chain = _chain(reg, "320000", JS), _chain(reg, "330000", ZJ)
    assert js_chain.ok and js_chain.length > zj_chain.length


def test_ministry_reads_every_tenant_but_cannot_register(reg, js_data):  # type: ignore[no-untyped-def]
    unit = reg.call("GetUnit", pb.GetUnitRequest(unit_id=js_data["factory"].id),
                    tenant="320000", grants=MINISTRY)
    assert unit.id == js_data["factory"].id
    with pytest.raises(grpc.RpcError) as err:
        reg.call("RegisterUnit", register_pb("320102"), tenant="320000", grants=MINISTRY)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_city_token_cannot_act_outside_its_city(reg, js_data):  # type: ignore[no-untyped-def]
    # Suzhou (320500) forges nothing but its own grant, and tries Nanjing's unit and location.
    with pytest.raises(grpc.RpcError) as err:
        reg.call("GetUnit", pb.GetUnitRequest(unit_id=js_data["factory"].id),
                 tenant="320000", grants=SUZHOU)
    assert error_code(err.value) == "auth.outside_city"
    with pytest.raises(grpc.RpcError) as err:
        reg.call("RegisterUnit", register_pb("320102"), tenant="320000", grants=SUZHOU)
    assert error_code(err.value) == "auth.outside_city"
    with pytest.raises(grpc.RpcError) as err:
        reg.call("AddComplianceRecord", pb.AddComplianceRecordRequest(
            unit_id=js_data["factory"].id, kind="tax_violation", occurred_on="2026-01-05"),
            tenant="320000", grants=SUZHOU)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    seen = reg.call("FindUnits", pb.FindUnitsRequest(page_size=200), tenant="320000", grants=SUZHOU)
    assert all(u.location.startswith("3205") for u in seen.units)
    with pytest.raises(grpc.RpcError) as err:
        reg.call("FindUnits", pb.FindUnitsRequest(city="320100"), tenant="320000", grants=SUZHOU)
    assert error_code(err.value) == "auth.outside_city"
    # Nanjing itself may.
    reg.call("GetUnit", pb.GetUnitRequest(unit_id=js_data["factory"].id), tenant="320000",
             grants=NANJING)


@pytest.mark.parametrize("city", ["32", "320000", "", "330100"])
def test_a_signed_token_with_a_city_grant_out_of_shape_gets_nothing(reg, js_data, city):  # type: ignore[no-untyped-def]
    """Signed with the gateway's own key, yet a city "32" or "320000" is no city: the registry
    refuses the token rather than read it as the whole province."""
    with pytest.raises(grpc.RpcError) as err:
        reg.call("FindUnits", pb.FindUnitsRequest(page_size=200), tenant="320000",
                 grants=(Grant("city", "320000", city=city),))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_code(err.value) == "auth.grant_invalid"


def test_a_page_token_it_never_handed_out_is_refused(reg, js_data):  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        reg.call("FindUnits", pb.FindUnitsRequest(page_token="zzz"), tenant="320000", grants=JS,
                 lang="en")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_code(err.value) == "unit.page_token" and "page_token" in err.value.details()


def test_enterprise_sees_only_its_own_units(reg, js_data):  # type: ignore[no-untyped-def]
    own = (Grant("enterprise", "320000", org=js_data["factory"].uscc),)
    reg.call("GetUnit", pb.GetUnitRequest(unit_id=js_data["factory"].id), tenant="320000", grants=own)
    with pytest.raises(grpc.RpcError) as err:
        reg.call("GetUnit", pb.GetUnitRequest(unit_id=js_data["park"].id), tenant="320000", grants=own)
    assert error_code(err.value) == "auth.not_your_unit"
    found = reg.call("FindUnits", pb.FindUnitsRequest(page_size=200), tenant="320000", grants=own)
    assert {u.uscc for u in found.units} == {js_data["factory"].uscc}


def test_errors_in_english_on_request(reg):  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        reg.call("RegisterUnit", register_pb("320102", industry="0610"), tenant="320000",
                 grants=JS, lang="en")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "manufacturing" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        reg.call("RegisterUnit", register_pb("320102", industry="0610"), tenant="320000", grants=JS)
    assert "制造业" in err.value.details()


def test_concurrent_writers_never_fork_the_chain(reg):  # type: ignore[no-untyped-def]
    before = _chain(reg, "330000")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: reg.call("RegisterUnit", register_pb("330106"), tenant="330000",
                                         grants=ZJ), range(40)))
    after = _chain(reg, "330000")
    assert after.ok, after.problem
    assert after.length == before.length + 40


def test_concurrent_duplicate_registrations_make_one_unit(reg):  # type: ignore[no-untyped-def]
    request = register_pb("330106")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: reg.call("RegisterUnit", request, tenant="330000",
                                                   grants=ZJ), range(12)))
    assert len({r.unit.id for r in results}) == 1
    assert sum(r.created for r in results) == 1


def _chain(reg, tenant, grants=ZJ):  # type: ignore[no-untyped-def]
    return AuditStub(reg.channel).VerifyChain(
        common_pb2.VerifyChainRequest(),
        metadata=[("x-gl-tenant", tenant), ("x-gl-token", token(reg.stack, *grants))])
