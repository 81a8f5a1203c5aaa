"""The institutions process called directly: the national cap under concurrency (one locked
counter per legal representative and year), and every read path kept inside the caller's
jurisdiction even with forged grants."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from generated.institutions.v1 import institutions_pb2 as pb
from generated.institutions.v1.institutions_pb2_grpc import InstitutionsStub
from generated.registry.v1 import registry_pb2 as rpb
from services.kernel.identity import Grant
from tests.helpers import Registry, error_code, person_id, register_pb, token, uscc

pytestmark = pytest.mark.stack

MINISTRY = (Grant("ministry", "000000"),)
JS = (Grant("province", "320000"),)
ZJ = (Grant("province", "330000"),)
SUZHOU = (Grant("city", "320000", city="320500"),)


class Institutions:
    def __init__(self, stack) -> None:  # type: ignore[no-untyped-def]
        self.stack = stack
        self.channel = grpc.insecure_channel(stack.addr("institutions"))
        self.stub = InstitutionsStub(self.channel)

    def __call__(self, method: str, request, tenant: str, grants):  # type: ignore[no-untyped-def]
        return getattr(self.stub, method)(request, timeout=30, metadata=[
            ("x-gl-tenant", tenant), ("x-gl-token", token(self.stack, *grants))])


def _profile(code: str, rep: int) -> pb.InstitutionProfile:
    return pb.InstitutionProfile(
        uscc=code, name=f"机构{code[-4:]}", legal_representative="赵某", legal_rep_id=person_id(rep),
        address="北京", scope_categories=["factory"],
        staff=[pb.Staff(name=f"s{i}", title="senior", full_time=True) for i in range(10)],
        experience=[pb.Experience(year=2025, description="评价")])


def _institution(call: Institutions, rep: int, provinces: tuple[str, ...] = ("320000",)) -> str:
    code = uscc("110108")
    call("RegisterInstitution", _profile(code, rep), "000000", MINISTRY)
    call("VerifyInstitution", pb.VerifyInstitutionRequest(uscc=code), "000000", MINISTRY)
    for province in provinces:
        call("FileInstitution", pb.FilingRequest(uscc=code), province,
             (Grant("province", province),))
    return code


def _units(stack, n: int, location: str = "320102") -> list[rpb.Unit]:  # type: ignore[no-untyped-def]
    reg = Registry(stack)
    out = []
    for i in range(n):
        unit = reg.call("RegisterUnit", register_pb(location), tenant="320000", grants=JS).unit
        out.append(reg.call("SetOwnership", rpb.SetOwnershipRequest(
            unit_id=unit.id, legal_representative="钱某", legal_rep_id=person_id(500 + i)),
            tenant="320000", grants=JS))
    reg.close()
    return out


def _engage(call: Institutions, unit: rpb.Unit, code: str, request_id: str):  # type: ignore[no-untyped-def]
    owner = (Grant("enterprise", "320000", org=unit.uscc),)
    return call("Engage", pb.EngageRequest(unit_id=unit.id, institution_uscc=code,
                                           request_id=request_id), "320000", owner)


@pytest.fixture(scope="module")
def call(stack):  # type: ignore[no-untyped-def]
    c = Institutions(stack)
    yield c
    c.channel.close()


def test_the_cap_holds_under_concurrent_engagements_and_is_released_on_cancel(stack, call):  # type: ignore[no-untyped-def]
    first = _institution(call, rep=60)
    sibling = _institution(call, rep=60)        # another institution of the same legal representative
    units = _units(stack, 18)

    def attempt(i: int):  # type: ignore[no-untyped-def]
        try:
            return _engage(call, units[i], first, f"cap-{i}")
        except grpc.RpcError as err:
            return error_code(err)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(16)))
    taken = [r for r in results if not isinstance(r, str)]
    assert len(taken) == 15
    assert [r for r in results if isinstance(r, str)] == ["engagement.cap_reached"]
    usage = call("CapUsage", pb.CapUsageRequest(uscc=sibling), "000000", MINISTRY)
    assert (usage.used, usage.cap) == (15, 15) and set(usage.institutions) == {first, sibling}
    own = call("CapUsage", pb.CapUsageRequest(uscc=first), "000000",
               (Grant("institution", "000000", org=first),))
    assert (own.used, list(own.institutions)) == (15, [first])   # the count, not the sibling
    # The cap is the legal representative's, whichever of its institutions is engaged.
    with pytest.raises(grpc.RpcError) as err:
        _engage(call, units[16], sibling, "cap-sibling")
    assert error_code(err.value) == "engagement.cap_reached"
    # A retried engagement with the same key takes no second place.
    assert _engage(call, units[0], first, "cap-0").id in {t.id for t in taken}
    owner = (Grant("enterprise", "320000", org=taken[0].unit_uscc),)
    cancelled = call("CancelEngagement", pb.CancelEngagementRequest(
        engagement_id=taken[0].id, reason="改期"), "320000", owner)
    assert cancelled.status == "cancelled"
    again = call("CancelEngagement", pb.CancelEngagementRequest(
        engagement_id=taken[0].id, reason="改期"), "320000", owner)
    assert again.status == "cancelled"           # a retried cancel releases nothing twice
    assert call("CapUsage", pb.CapUsageRequest(uscc=first), "000000", MINISTRY).used == 14
    assert _engage(call, units[16], sibling, "cap-after-cancel").status == "accepted"
    with pytest.raises(grpc.RpcError) as err:
        _engage(call, units[17], first, "cap-17")
    assert error_code(err.value) == "engagement.cap_reached"


@pytest.fixture(scope="module")
def engaged(stack, call):  # type: ignore[no-untyped-def]
    """An institution filed in Jiangsu only, engaged for a Nanjing unit, with a work report."""
    code = _institution(call, rep=70)
    (unit,) = _units(stack, 1)
    engagement = _engage(call, unit, code, "iso-1")
    inst = (Grant("institution", "000000", org=code),)
    call("SubmitWorkReport", pb.WorkReportRequest(uscc=code, year=2025, summary="s", projects=1),
         "000000", inst)
    return {"code": code, "unit": unit, "engagement": engagement, "inst": inst}


READS = [
    ("GetInstitution", lambda d: pb.GetInstitutionRequest(uscc=d["code"])),
    ("CapUsage", lambda d: pb.CapUsageRequest(uscc=d["code"])),
    ("GetEngagement", lambda d: pb.GetEngagementRequest(engagement_id=d["engagement"].id)),
]


@pytest.mark.parametrize("method,request_of", READS, ids=[m for m, _ in READS])
def test_every_single_read_is_isolated(call, engaged, method, request_of):  # type: ignore[no-untyped-def]
    request = request_of(engaged)
    assert call(method, request, "320000", JS)                # the filing province sees it
    with pytest.raises(grpc.RpcError) as err:
        call(method, request, "330000", ZJ)                   # another province, in its tenant
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        call(method, request, "320000", ZJ)                   # another province, in this tenant
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    other_inst = (Grant("institution", "000000", org=uscc("110108")),)
    with pytest.raises(grpc.RpcError) as err:
        call(method, request, "000000", other_inst)           # another institution
    assert err.value.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND)


def test_every_list_is_isolated(call, engaged):  # type: ignore[no-untyped-def]
    code, eid = engaged["code"], engaged["engagement"].id
    # An institution may act in a province, but sees only itself there, never its competitors.
    rival = (Grant("institution", "000000", org=uscc("110108")),)
    assert not call("ListInstitutions", pb.ListInstitutionsRequest(), "320000", rival).institutions
    assert not call("ListWorkReports", pb.ListWorkReportsRequest(year=2025), "320000",
                    rival).reports
    with pytest.raises(grpc.RpcError) as err:
        call("GetInstitution", pb.GetInstitutionRequest(uscc=code), "320000", rival)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    listed = call("ListInstitutions", pb.ListInstitutionsRequest(), "330000", ZJ)
    assert code not in {i.profile.uscc for i in listed.institutions}
    assert code in {i.profile.uscc for i in call("ListInstitutions", pb.ListInstitutionsRequest(),
                                                 "320000", JS).institutions}
    for tenant, grants in (("330000", ZJ), ("320000", SUZHOU),
                           ("320000", (Grant("enterprise", "320000", org=uscc()),)),
                           ("000000", (Grant("institution", "000000", org=uscc("110108")),))):
        rows = call("ListEngagements", pb.ListEngagementsRequest(), tenant, grants).engagements
        assert eid not in {e.id for e in rows}, (tenant, grants)
    for tenant, grants in (("320000", JS), ("000000", MINISTRY), ("000000", engaged["inst"])):
        rows = call("ListEngagements", pb.ListEngagementsRequest(), tenant, grants).engagements
        assert eid in {e.id for e in rows}, (tenant, grants)
    reports = call("ListWorkReports", pb.ListWorkReportsRequest(year=2025), "330000", ZJ)
    assert code not in {r.uscc for r in reports.reports} and code not in reports.overdue
    assert code in {r.uscc for r in call("ListWorkReports", pb.ListWorkReportsRequest(year=2025),
                                         "320000", JS).reports}


def test_only_the_engaged_institution_may_act_on_an_engagement(stack, call, engaged):  # type: ignore[no-untyped-def]
    eid = engaged["engagement"].id
    standing = call("CheckEngagement", pb.CheckEngagementRequest(engagement_id=eid), "320000",
                    engaged["inst"])
    assert standing.reports_accepted and standing.engagement.id == eid
    assert not standing.institution.staff              # staff names stay with officials
    other = (Grant("institution", "000000", org=uscc("110108")),)
    for tenant, grants in (("320000", other), ("330000", engaged["inst"])):
        with pytest.raises(grpc.RpcError) as err:
            call("CheckEngagement", pb.CheckEngagementRequest(engagement_id=eid), tenant, grants)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:           # a province is not an institution
        call("CheckEngagement", pb.CheckEngagementRequest(engagement_id=eid), "320000", JS)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # The registry's veto check: the engaged institution gets it, another institution does not.
    reg = Registry(stack)
    unit_id = engaged["unit"].id
    veto = reg.call("CheckVeto", rpb.CheckVetoRequest(unit_id=unit_id), tenant="320000",
                    grants=engaged["inst"])
    assert veto.unit_id == unit_id and not veto.vetoed
    with pytest.raises(grpc.RpcError) as err:
        reg.call("CheckVeto", rpb.CheckVetoRequest(unit_id=unit_id), tenant="320000", grants=other)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_code(err.value) == "unit.not_engaged"
    with pytest.raises(grpc.RpcError) as err:            # nor any other registry read
        reg.call("GetUnit", rpb.GetUnitRequest(unit_id=unit_id), tenant="320000",
                 grants=engaged["inst"])
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    reg.close()


def test_the_standing_names_who_is_one_party_with_the_institution(call, engaged):  # type: ignore[no-untyped-def]
    """The evaluation service re-checks independence against these USCCs when the institution's
    evaluation is created and submitted: the same legal representative, the same parent."""
    code = engaged["code"]
    sibling, subsidiary, stranger = uscc("110108"), uscc("110108"), uscc("110108")
    call("RegisterInstitution", _profile(sibling, 70), "000000", MINISTRY)   # the same legal rep
    owned = _profile(subsidiary, 71)
    owned.parent_uscc = code
    call("RegisterInstitution", owned, "000000", MINISTRY)
    call("RegisterInstitution", _profile(stranger, 72), "000000", MINISTRY)
    standing = call("CheckEngagement",
                    pb.CheckEngagementRequest(engagement_id=engaged["engagement"].id), "320000",
                    engaged["inst"])
    assert {code, sibling, subsidiary} <= set(standing.party)
    assert stranger not in standing.party


def test_an_institution_cannot_write_the_registry_of_another(call):  # type: ignore[no-untyped-def]
    code = uscc("110108")
    with pytest.raises(grpc.RpcError) as err:
        call("RegisterInstitution", _profile(code, 80), "000000",
             (Grant("institution", "000000", org=uscc("110108")),))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as err:            # the registry is national
        call("RegisterInstitution", _profile(code, 80), "320000", JS)
    assert error_code(err.value) == "institution.national_only"

