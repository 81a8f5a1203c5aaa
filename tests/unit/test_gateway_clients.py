"""gateway.clients / deps.TenantCall: a route calls a service through its generated stub, bound to
the caller — the token, tenant and language travel with every call, a misspelt method fails, and
a refusal comes back as the service's own error."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import grpc
import pytest

from gateway.clients import Bound
from gateway.deps import TenantCall
from generated.common.v1 import common_pb2
from generated.evaluation.v1 import evaluation_pb2
from generated.institutions.v1 import institutions_pb2
from generated.registry.v1 import registry_pb2 as pb
from generated.registry.v1.registry_pb2_grpc import RegistryStub
from services.kernel.config import Settings
from services.kernel.errors import Kind
from services.kernel.identity import ANONYMOUS
from services.kernel.rpc import RemoteError, ServiceClient
from tests.unit.gateway_fakes import FakeChannel, Refusal, Sent


Call = tuple[TenantCall, list[Sent], dict[str, FakeChannel]]


@pytest.fixture
def call(tmp_path: Path) -> Call:
    settings = Settings(var_dir=tmp_path, otel_exporter="none")
    sent: list[Sent] = []
    channels: dict[str, FakeChannel] = {}
    state = SimpleNamespace()
    for name in ("registry", "evaluation", "institutions"):
        client = ServiceClient(name, "127.0.0.1:9", settings,
                               channel=channels.setdefault(name, FakeChannel(sent)))  # type: ignore[arg-type]
        setattr(state, name, client)
    return TenantCall("320000", ANONYMOUS, "en", "tok-1", state), sent, channels


async def test_a_call_carries_token_tenant_language_and_timeout(call: Call) -> None:
    tenant_call, sent, _ = call
    unit = await tenant_call.registry.GetUnit(pb.GetUnitRequest(unit_id="u-1"))
    assert isinstance(unit, pb.Unit)
    await tenant_call.registry.ImportUnits(pb.ImportRequest(format="csv"), timeout=600.0)
    first, second = sent
    assert first.path == "/greenladder.registry.v1.Registry/GetUnit"
    assert first.metadata == {"x-gl-token": "tok-1", "x-gl-tenant": "320000",
                              "accept-language": "en"}
    assert first.timeout == 10.0  # the default deadline
    assert second.timeout == 600.0  # or the one given


async def test_each_service_and_the_audit_of_each(call: Call) -> None:
    tenant_call, sent, _ = call
    await tenant_call.evaluation.ListSchemes(evaluation_pb2.ListSchemesRequest())
    await tenant_call.institutions.Directory(institutions_pb2.DirectoryRequest())
    await tenant_call.audit("institutions").VerifyChain(common_pb2.VerifyChainRequest())
    assert [s.path.rsplit(".", 1)[-1] for s in sent] == [
        "Evaluation/ListSchemes", "Institutions/Directory", "Audit/VerifyChain"]


def test_a_misspelt_method_is_an_attribute_error(call: Call) -> None:
    tenant_call, _, _ = call
    with pytest.raises(AttributeError):  # and the type checker says so first
        tenant_call.registry.RegistreUnit  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(AttributeError):
        tenant_call.registry._channel  # type: ignore[attr-defined]  # noqa: B018
    assert callable(tenant_call.registry.RegisterUnit)


async def test_a_refusal_comes_back_as_the_services_error(call: Call) -> None:
    tenant_call, _, channels = call
    channels["registry"].refuse = Refusal(grpc.StatusCode.FAILED_PRECONDITION, "unit.merged",
                                          "already merged", {"unit_id": "u-1"})
    with pytest.raises(RemoteError) as exc:
        await tenant_call.registry.RenameUnit(pb.RenameUnitRequest(unit_id="u-1"))
    assert exc.value.code == "unit.merged" and exc.value.kind is Kind.PRECONDITION
    assert exc.value.params == {"unit_id": "u-1"} and exc.value.message("zh") == "already merged"


def test_a_bound_stub_reuses_the_clients_stub(call: Call) -> None:
    tenant_call, _, _ = call
    client = tenant_call.clients.registry
    Bound(client, RegistryStub, tenant_call)
    assert client.stub(RegistryStub) is client.stub(RegistryStub)
    assert "RegistryStub" in repr(tenant_call.registry)
