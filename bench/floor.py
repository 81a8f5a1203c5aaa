"""The floor of one gRPC hop: a bare gRPC server answering the registry's ``FindUnits`` with a
fixed answer, for the ceiling app's ``--floor`` look-up route to call once per request.

No application work at all — no token, no tenant, no query, no metrics — only what any look-up
through a Python gRPC service pays: the client call in the HTTP process, the server in its own
process (grpc's asyncio server on uvloop, as the services run). The look-up ratio cannot pass this
one's on the same machine; ``bench.run`` reports both, so a goal above the floor shows as such.

    python -m bench.floor --port 50061 --body lookup-response.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import grpc
import uvloop
from google.protobuf import json_format

from generated.registry.v1 import registry_pb2 as pb
from generated.registry.v1 import registry_pb2_grpc


class FixedRegistry(registry_pb2_grpc.RegistryServicer):
    def __init__(self, answer: pb.FindUnitsResponse) -> None:
        self.answer = answer

    async def FindUnits(self, request, context):  # type: ignore[no-untyped-def]
        return self.answer


async def serve(host: str, port: int, answer: pb.FindUnitsResponse) -> None:
    server = grpc.aio.server()
    registry_pb2_grpc.add_RegistryServicer_to_server(FixedRegistry(answer), server)
    server.add_insecure_port(f"{host}:{port}")
    await server.start()
    await server.wait_for_termination()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--body", type=Path, required=True, help="a look-up answer (JSON)")
    args = parser.parse_args()
    answer = json_format.ParseDict(json.loads(args.body.read_text()), pb.FindUnitsResponse(),
                                   ignore_unknown_fields=True)
    uvloop.run(serve(args.host, args.port, answer))


if __name__ == "__main__":
    main()
