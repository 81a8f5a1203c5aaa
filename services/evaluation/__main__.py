"""`python -m services.evaluation`: the evaluation service (SPEC §4).

Before anything else it checks every shipped and operator scheme file (``GL_SCHEMES_DIR``): a
defect anywhere stops the start, every defect of every file named (file, path, reason) in the log
and on stderr, and the process exits with status 3. An operator's mistake never reaches an
enterprise; after the start the schemes are held in memory.
"""

import logging
import sys
from pathlib import Path

import grpc

from generated.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc
from services.evaluation.api import EvaluationApi
from services.evaluation.events import PUBLISHES
from services.evaluation.schemes import check_at_start
from services.kernel import telemetry
from services.kernel.config import Settings, get_settings
from services.kernel.rpc import ServiceClient
from services.kernel.runtime import Runtime
from services.kernel.service import ServiceSpec, main

logger = logging.getLogger("greenladder.evaluation")
SCHEMES_INVALID = 3  # the exit status of a start stopped by a bad scheme file


def register(server: grpc.aio.Server, runtime: Runtime) -> list[str]:
    settings = runtime.settings
    registry = ServiceClient("registry", settings.service_addr("registry"), settings)
    institutions = ServiceClient("institutions", settings.service_addr("institutions"), settings)
    evaluation_pb2_grpc.add_EvaluationServicer_to_server(
        EvaluationApi(runtime, registry, institutions), server)
    return [evaluation_pb2.DESCRIPTOR.services_by_name["Evaluation"].full_name]


def check_schemes(settings: Settings) -> int:
    """Every scheme file checked; the number of defects, each logged and printed on stderr."""
    telemetry.setup("evaluation", settings)
    defects = check_at_start()
    for d in defects:
        telemetry.log(logger, "scheme file invalid", logging.CRITICAL, folder=d.folder,
                      file=d.file, path=d.path or "(root)", problem=d.problem)
    if defects:
        print(f"evaluation: not started: {len(defects)} defect(s) in the scheme files "
              "(docs/adding-a-scheme.md)", file=sys.stderr)
        for d in defects:
            print(f"  {d.line()}", file=sys.stderr)
        sys.stderr.flush()
    return len(defects)


SPEC = ServiceSpec(name="evaluation", root=Path(__file__).parent, register=register,
                   publishes=PUBLISHES)

if __name__ == "__main__":
    if check_schemes(get_settings()):
        sys.exit(SCHEMES_INVALID)
    main(SPEC)
