"""The ceiling: a bare FastAPI app with one GET endpoint returning a fixed JSON body.

Served by uvicorn in its own process with the gateway's settings (``gateway/__main__.py``:
log_level warning, access_log False), it shows what this machine, this Python, FastAPI, uvicorn
and the benchmark's own client can do at most for a request of the look-up's shape. The gateway's
look-ups are then read as a fraction of it.

    python -m bench.ceiling --port 8899 [--body path/to/lookup-response.json]

The body defaults to a look-up answer of the usual size (one unit); ``bench.run`` passes the body
the gateway actually returned, so both answers have the same bytes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import uvicorn
from fastapi import FastAPI

SAMPLE = {
    "units": [{
        "id": "01JCEILING000000000000000",
        "kind": "factory",
        "uscc": "91320100000000001X",
        "site": "",
        "name": "bench factory 000000001",
        "location": "320102",
        "city": "320100",
        "tenant": "320000",
        "industry": "3311",
        "status": "active",
        "merged_into": "",
        "uscc_checksum_override": False,
        "uscc_override_reason": "",
        "park_level": "",
        "park_boundary": "",
        "created_at": "2025-01-01T00:00:00.000000+00:00",
        "updated_at": "2025-01-01T00:00:00.000000+00:00",
        "version": 1,
    }],
    "next_page_token": "",
}


def create_app(body: dict) -> FastAPI:
    app = FastAPI(title="GreenLadder bench ceiling")

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"ok": True}

    # The gateway's look-up path and query, so the client sends the same request line.
    @app.get("/api/v1/tenants/{tenant}/units")
    async def units(tenant: str, uscc: str = "") -> dict:
        return body

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--body", type=Path, help="JSON file to answer with (default: a sample)")
    args = parser.parse_args()
    body = json.loads(args.body.read_text()) if args.body else SAMPLE
    uvicorn.run(create_app(body), host=args.host, port=args.port,
                log_level="warning", access_log=False, lifespan="on")


if __name__ == "__main__":
    main()
