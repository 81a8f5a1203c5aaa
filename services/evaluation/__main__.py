"""`python -m services.evaluation`: the evaluation service (SPEC §4)."""

from pathlib import Path

import grpc

from generated.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc
from services.evaluation.api import EvaluationApi
from services.evaluation.events import PUBLISHES
from services.kernel.rpc import ServiceClient
from services.kernel.runtime import Runtime
from services.kernel.service import ServiceSpec, main


def register(server: grpc.aio.Server, runtime: Runtime) -> list[str]:
    settings = runtime.settings
    registry = ServiceClient("registry", settings.service_addr("registry"), settings)
    institutions = ServiceClient("institutions", settings.service_addr("institutions"), settings)
    evaluation_pb2_grpc.add_EvaluationServicer_to_server(
        EvaluationApi(runtime, registry, institutions), server)
    return [evaluation_pb2.DESCRIPTOR.services_by_name["Evaluation"].full_name]


SPEC = ServiceSpec(name="evaluation", root=Path(__file__).parent, register=register,
                   publishes=PUBLISHES)

if __name__ == "__main__":
    main(SPEC)
