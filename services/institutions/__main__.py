"""`python -m services.institutions`: the institutions service (SPEC §9)."""

from pathlib import Path

import grpc

from generated.institutions.v1 import institutions_pb2, institutions_pb2_grpc
from services.institutions.api import InstitutionsApi
from services.institutions.events import PUBLISHES, SUBSCRIPTIONS
from services.kernel.rpc import ServiceClient
from services.kernel.runtime import Runtime
from services.kernel.service import ServiceSpec, main


def register(server: grpc.aio.Server, runtime: Runtime) -> list[str]:
    settings = runtime.settings
    api = InstitutionsApi(
        runtime,
        registry=ServiceClient("registry", settings.service_addr("registry"), settings),
        evaluation=ServiceClient("evaluation", settings.service_addr("evaluation"), settings))
    institutions_pb2_grpc.add_InstitutionsServicer_to_server(api, server)
    return [institutions_pb2.DESCRIPTOR.services_by_name["Institutions"].full_name]


SPEC = ServiceSpec(name="institutions", root=Path(__file__).parent, register=register,
                   publishes=PUBLISHES, subscriptions=SUBSCRIPTIONS)

if __name__ == "__main__":
    main(SPEC)
