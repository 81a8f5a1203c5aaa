"""The reference figures a bench run reads its own against, each measured in the same run with
the stack stopped (``bench.ceiling``, ``bench.floor``):

- the look-up ceiling: a bare FastAPI endpoint answering the look-up's real bytes;
- the floor of one gRPC hop: the same endpoint making one bare gRPC call first;
- the registration ceiling: the same insert through the same driver, nothing else;
- the score ceiling: the same evaluation scored in-process, answering the real bytes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.load import Req
from bench.machine import rss_mb
from bench.report import round_mb
from bench.reqs import TENANT, registration_reqs, usccs
from bench.score import Score
from bench.timing import runs
from deploy.local.stack import free_port
from services.kernel.config import ROOT


def start_ceiling(var_dir: Path, *options: str) -> tuple[subprocess.Popen, str]:
    """``bench.ceiling`` under uvicorn in a process of its own (``options``: its arguments)."""
    port = free_port()
    cmd = [sys.executable, "-m", "bench.ceiling", "--port", str(port), *options]
    (var_dir / "log").mkdir(exist_ok=True)
    out = open(var_dir / "log" / "ceiling.out", "ab")  # noqa: SIM115 - the child holds it
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the ceiling app exited with {proc.returncode}; "
                               f"see {var_dir}/log/ceiling.out")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the ceiling app did not start")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pg_database(action: str, name: str) -> str:
    """Create or drop a database on DATABASE_URL's server for the insert ceiling; its URL."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if action == "create":
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            else:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def measure_references(args: argparse.Namespace, result: dict[str, Any], work: Path,
                       lookups: list[Req], sample: bytes, score: Score | None) -> None:
    """Every reference figure, with the stack stopped: the look-up ceiling, the floor of one
    gRPC hop, the registration ceiling, the score ceiling."""
    body = work / "lookup-response.json"
    body.write_bytes(sample)
    pg_name = ""
    if os.environ.get("DATABASE_URL"):
        pg_name = f"glb_ceiling_{os.getpid()}"
        insert = pg_database("create", pg_name)
    else:
        insert = str(work / "ceiling.db")
    options = ["--body", str(body), "--insert", insert]
    if score is not None:
        (work / "score-response.json").write_bytes(score.sample)
        options += ["--score", str(work / "score-response.json")]
    ceiling, base = start_ceiling(work, *options)
    try:
        look = runs("look-up ceiling", base, lambda _i: lookups, args, work, expect=200,
                    once=False)
        codes = usccs(args.runs * args.slice, args.seed + 200)
        token = lookups[0].token
        reg = runs("registration ceiling", base, lambda i: registration_reqs(
            TENANT, token, codes[i * args.slice:(i + 1) * args.slice]), args, work,
            expect=201, once=True)
        if score is not None:
            result["runs"]["score ceiling"] = runs("score ceiling", base,
                                                   lambda _i: score.reqs, args, work,
                                                   expect=200, once=False)
        result["rss_mb_ceiling"] = round_mb(rss_mb(ceiling.pid))
    finally:
        stop(ceiling)
        if pg_name:
            pg_database("drop", pg_name)
    result["runs"]["look-ups ceiling"] = look
    result["runs"]["registrations ceiling"] = reg
    result["runs"]["look-ups floor"] = measure_floor(args, work, lookups, body)


def measure_floor(args: argparse.Namespace, work: Path, lookups: list[Req],
                  body: Path) -> dict[str, Any]:
    """The look-ups against the ceiling app whose route makes one bare gRPC call first."""
    port = free_port()
    out = open(work / "log" / "floor.out", "ab")  # noqa: SIM115 - the child holds it
    server = subprocess.Popen([sys.executable, "-m", "bench.floor", "--port", str(port),
                               "--body", str(body)], cwd=ROOT, stdout=out,
                              stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    app = None
    try:
        app, base = start_ceiling(work, "--body", str(body), "--floor", f"127.0.0.1:{port}")
        return runs("look-up floor (one bare gRPC hop)", base, lambda _i: lookups, args, work,
                    expect=200, once=False)
    finally:
        stop(app)
        stop(server)
