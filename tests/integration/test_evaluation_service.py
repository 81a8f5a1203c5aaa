"""The evaluation process called directly: it asks the registry on the caller's behalf, and keeps
every read path inside the caller's jurisdiction even with forged grants."""

from __future__ import annotations

import grpc
import pytest

from generated.evaluation.v1 import evaluation_pb2 as pb
from generated.evaluation.v1.evaluation_pb2_grpc import EvaluationStub
from services.kernel.identity import Grant
from tests.helpers import Registry, error_code, register_pb, token

pytestmark = pytest.mark.stack

JS = (Grant("province", "320000"),)
ZJ = (Grant("province", "330000"),)
SUZHOU = (Grant("city", "320000", city="320500"),)


@pytest.fixture(scope="module")
def evaluation(stack):  # type: ignore[no-untyped-def]
    reg = Registry(stack)
    unit = reg.call("RegisterUnit", register_pb("320102"), tenant="320000", grants=JS).unit
    reg.close()
    owner = (Grant("enterprise", "320000", org=unit.uscc),)
    channel = grpc.insecure_channel(stack.addr("evaluation"))
    stub = EvaluationStub(channel)

    def call(method, request, tenant, grants):  # type: ignore[no-untyped-def]
        return getattr(stub, method)(request, timeout=20, metadata=[
            ("x-gl-tenant", tenant), ("x-gl-token", token(stack, *grants))])

    created = call("CreateEvaluation", pb.CreateEvaluationRequest(
        unit_id=unit.id, scheme_id="gbt36132-2025", request_id="it-1"), "320000", owner)
    again = call("CreateEvaluation", pb.CreateEvaluationRequest(
        unit_id=unit.id, scheme_id="gbt36132-2025", request_id="it-1"), "320000", owner)
    assert again.id == created.id  # a retried create returns the same draft
    yield {"call": call, "unit": unit, "evaluation": created, "owner": owner}
    channel.close()


READS = [
    ("GetEvaluation", lambda d: pb.GetEvaluationRequest(evaluation_id=d["evaluation"].id)),
    ("PreviewScore", lambda d: pb.GetEvaluationRequest(evaluation_id=d["evaluation"].id)),
    ("ListEvaluations", lambda d: pb.ListEvaluationsRequest(unit_id=d["unit"].id)),
    ("GetReport", lambda d: pb.GetReportRequest(evaluation_id=d["evaluation"].id)),
]


@pytest.mark.parametrize("method,request_of", READS, ids=[m for m, _ in READS])
def test_every_evaluation_read_path_is_isolated(evaluation, method, request_of):  # type: ignore[no-untyped-def]
    call = evaluation["call"]
    request = request_of(evaluation)
    with pytest.raises(grpc.RpcError) as err:
        call(method, request, "330000", ZJ)           # another province, in its own tenant
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        call(method, request, "320000", ZJ)           # another province, in this tenant
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as err:
        call(method, request, "320000", SUZHOU)       # a city the unit is not in
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_owner_and_the_province_read_it(evaluation):  # type: ignore[no-untyped-def]
    call = evaluation["call"]
    request = pb.GetEvaluationRequest(evaluation_id=evaluation["evaluation"].id)
    assert call("GetEvaluation", request, "320000", evaluation["owner"]).status == "draft"
    assert call("GetEvaluation", request, "320000", JS).status == "draft"
    with pytest.raises(grpc.RpcError) as err:  # no report before submission
        call("GetReport", pb.GetReportRequest(evaluation_id=evaluation["evaluation"].id),
             "320000", JS)
    assert error_code(err.value) == "evaluation.not_submitted"


def test_only_the_owner_evaluates(evaluation):  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        evaluation["call"]("CreateEvaluation", pb.CreateEvaluationRequest(
            unit_id=evaluation["unit"].id, scheme_id="gbt36132-2025", request_id="it-2"),
            "320000", JS)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
