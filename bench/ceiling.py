"""The ceiling: a bare FastAPI app with one GET endpoint returning a fixed JSON body.

Served by uvicorn in its own process with the gateway's settings (``gateway/__main__.py``:
log_level warning, access_log False), it shows what this machine, this Python, FastAPI, uvicorn
and the benchmark's own client can do at most for a request of the look-up's shape. The gateway's
look-ups are then read as a fraction of it.

    python -m bench.ceiling --port 8899 [--body path/to/lookup-response.json]

The body defaults to a look-up answer of the usual size (one unit); ``bench.run`` passes the body
the gateway actually returned, so both answers have the same bytes.

With ``--insert DB`` (a SQLite file, or ``postgresql://…`` for a fresh database of that name on
the server) the app also answers ``POST /api/v1/tenants/{tenant}/units`` — the registrations'
ceiling: it inserts the registry's row shape (``services.registry.store.Unit``) through the same
driver and engine settings as ``services/kernel/db.py`` (SQLAlchemy + sqlmodel; on SQLite WAL,
synchronous=NORMAL, BEGIN IMMEDIATE, in the event loop; on PostgreSQL psycopg and a pool, in the
threadpool), one transaction per request, and answers 201 with the unit.

With ``--floor HOST:PORT`` the look-up route makes one bare gRPC call to ``bench.floor`` before
answering: the floor of any look-up through one gRPC hop. With ``--score FILE`` it also answers
``GET /api/v1/tenants/{tenant}/evaluations/{id}/score`` with that file's JSON after scoring the
bench's full GB/T 36132-2025 evaluation in-process: the score's ceiling.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import grpc
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

from generated.registry.v1 import registry_pb2, registry_pb2_grpc
from services.kernel.db import WRITE, _sqlite_engine, new_id
from services.registry.store import Unit

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


def insert_engine(target: str) -> Engine:
    """The engine the registry would use for one tenant, with the ``unit`` table created."""
    if target.startswith("postgresql"):
        url = make_url(target).set(drivername="postgresql+psycopg")
        engine: Engine = create_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True)
    else:
        engine = _sqlite_engine(Path(target)).execution_options(**{WRITE: True})
    Unit.__table__.create(engine, checkfirst=True)  # type: ignore[attr-defined]
    return engine


def create_app(body: dict, insert: str = "", floor: str = "", score: dict | None = None) -> FastAPI:
    app = FastAPI(title="GreenLadder bench ceiling")

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"ok": True}

    if floor:
        # The floor: the same answer after one bare gRPC call (``bench.floor``).
        channels: dict[str, registry_pb2_grpc.RegistryStub] = {}

        @app.get("/api/v1/tenants/{tenant}/units")
        async def units_via_grpc(tenant: str, uscc: str = "") -> dict:
            stub = channels.get("registry")
            if stub is None:
                stub = channels["registry"] = registry_pb2_grpc.RegistryStub(
                    grpc.aio.insecure_channel(floor))
            await stub.FindUnits(registry_pb2.FindUnitsRequest(uscc=uscc), timeout=10)
            return body
    else:
        # The gateway's look-up path and query, so the client sends the same request line.
        @app.get("/api/v1/tenants/{tenant}/units")
        async def units(tenant: str, uscc: str = "") -> dict:
            return body

    if score is not None:
        # The score's ceiling: the same evaluation scored in this process on every request
        # (the scorer's own work), answered with the gateway's real answer.
        from bench.evaluation import score_once

        @app.get("/api/v1/tenants/{tenant}/evaluations/{evaluation_id}/score")
        async def scored(tenant: str, evaluation_id: str) -> dict:
            score_once()
            return score

    if insert:
        engine = insert_engine(insert)

        def insert_unit(payload: dict) -> dict:
            now = datetime.now(UTC)
            unit = Unit(id=new_id(), kind=payload["kind"], uscc=payload["uscc"],
                        name=payload["name"], location=payload["location"],
                        city=payload["location"][:4] + "00", industry=payload.get("industry", ""),
                        created_at=now, updated_at=now)
            with Session(engine, expire_on_commit=False) as session, session.begin():
                session.add(unit)
            return {"unit": unit.model_dump(mode="json")}

        if insert.startswith("postgresql"):
            # A plain ``def`` runs in the threadpool: PostgreSQL takes writers in parallel.
            @app.post("/api/v1/tenants/{tenant}/units", status_code=201)
            def register_pg(tenant: str, payload: dict) -> dict:
                return insert_unit(payload)
        else:
            # SQLite takes one writer at a time: inserting in the event loop itself is the
            # fastest a bare endpoint gets (measured: ~2x the threadpool behind a write lock).
            @app.post("/api/v1/tenants/{tenant}/units", status_code=201)
            async def register(tenant: str, payload: dict) -> dict:
                return insert_unit(payload)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--body", type=Path, help="JSON file to answer with (default: a sample)")
    parser.add_argument("--insert", default="", help="SQLite file or PostgreSQL URL: serve POST")
    parser.add_argument("--floor", default="", help="host:port of bench.floor: the look-up "
                        "route calls it once per request (the floor of one gRPC hop)")
    parser.add_argument("--score", type=Path, help="a score answer (JSON): serve GET …/score")
    args = parser.parse_args()
    body = json.loads(args.body.read_text()) if args.body else SAMPLE
    score = json.loads(args.score.read_text()) if args.score else None
    uvicorn.run(create_app(body, args.insert, args.floor, score), host=args.host, port=args.port,
                log_level="warning", access_log=False, lifespan="on")


if __name__ == "__main__":
    main()
