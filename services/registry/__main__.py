"""`python -m services.registry`: the registry service (SPEC §3, §5)."""

from pathlib import Path

import grpc

from generated.registry.v1 import registry_pb2, registry_pb2_grpc
from services.kernel.rpc import ServiceClient
from services.kernel.runtime import Runtime
from services.kernel.service import ServiceSpec, main
from services.registry.api import RegistryApi
from services.registry.events import PUBLISHES, SUBSCRIPTIONS


def register(server: grpc.aio.Server, runtime: Runtime) -> list[str]:
    institutions = ServiceClient("institutions", runtime.settings.service_addr("institutions"),
                                 runtime.settings)
    registry_pb2_grpc.add_RegistryServicer_to_server(RegistryApi(runtime, institutions), server)
    return [registry_pb2.DESCRIPTOR.services_by_name["Registry"].full_name]


SPEC = ServiceSpec(name="registry", root=Path(__file__).parent, register=register,
                   publishes=PUBLISHES, subscriptions=SUBSCRIPTIONS)

if __name__ == "__main__":
    main(SPEC)
