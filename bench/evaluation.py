"""`make bench`, evaluation part: automated scoring and re-scoring, in-process and through the
running services.

1. Scoring: a GB/T 36132-2025 evaluation with every indicator, scored again and again by the
   platform's scorer (the work the service does at preview and submission), single thread.
2. Re-scoring: 5,000 and then 20,000 submitted evaluations held in a real tenant database
   (SQLite, or PostgreSQL with DATABASE_URL) re-scored under a stricter new version of the
   scheme by the service's own handler, its rows consumed as they stream, with elapsed time and
   peak Python memory (tracemalloc): flat in the number of evaluations is the point.
3. The same through a real stack (``bench.run.make_stack``): the score of a full evaluation asked
   of the gateway (HTTP → gRPC → scorer) by 8 concurrent clients for a few seconds; then 5,000
   and then 20,000 submitted evaluations written into the evaluation service's own database and
   re-scored by ``POST /schemes/{id}/rescore`` through the gateway (streamed: gRPC server stream,
   streamed HTTP answer), with elapsed time and the peak resident memory (VmHWM, reset before
   each run) of the evaluation process and of the gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import shutil
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import httpx
import yaml

from services.evaluation import domain, handlers, scoring
from services.evaluation.events import PUBLISHES
from services.evaluation.schemes import get_scheme
from services.evaluation.schemes.model import Scheme
from services.evaluation.store import Evaluation
from services.kernel import clock
from services.kernel.config import ROOT, Settings
from services.kernel.db import Database
from services.kernel.identity import Grant, Identity
from services.kernel.runtime import Runtime
from services.kernel.tenancy import tenant_scope

TENANT = "320000"
VALUES = {  # every indicator of gbt36132-2025 v1
    "energy_per_output": {"amount": "0.12", "unit": "tce/万元"},
    "carbon_per_output": {"amount": "0.3", "unit": "tCO2/万元"},
    "renewable_share": {"amount": "20", "unit": "%"},
    "energy_carbon_platform": {"amount": "9", "unit": "项"},
    "material_saving": {"option": "one_case"},
    "water_per_output": {"amount": "4", "unit": "m³/万元"},
    "water_reuse": {"amount": "92", "unit": "%"},
    "solid_waste_utilisation": {"amount": "95", "unit": "%"},
    "advanced_equipment": {"option": "several"},
    "retrofit_projects": {"amount": "1.5", "unit": "个/年"},
    "retrofit_investment": {"amount": "2", "unit": "%"},
    "pollutant_vs_permit": {"amount": "60", "unit": "%"},
    "green_design": {"option": "ecodesign"},
    "carbon_footprint_share": {"amount": "25", "unit": "%"},
    "output_per_land": {"amount": "4500", "unit": "万元/公顷"},
    "building_coverage": {"amount": "45", "unit": "%"},
    "plot_ratio": {"amount": "1.2", "unit": "-"},
}
BASIC = {"lawful_operation": True, "no_major_accident": True, "management_body": True,
         "plan_and_targets": True}


@functools.cache
def full_evaluation() -> tuple[Scheme, dict[str, Any]]:
    """The bench's GB/T 36132-2025 scheme and every indicator's stored value."""
    scheme = get_scheme("gbt36132-2025", 1)
    values = {k: domain.stored_value(v) for k, v in VALUES.items()}
    assert len(values) == len(list(scheme.indicators()))
    return scheme, values


def score_once() -> None:
    """Score the bench's full evaluation once (the score ceiling's work per request)."""
    scheme, values = full_evaluation()
    scoring.score(scheme, values, basic=BASIC)


def bench_scoring(count: int) -> dict:
    scheme, values = full_evaluation()
    scoring.score(scheme, values, basic=BASIC)
    t0 = time.perf_counter()
    for _ in range(count):
        scoring.score(scheme, values, basic=BASIC)
    elapsed = time.perf_counter() - t0
    return {"evaluations": count, "seconds": round(elapsed, 3), "per_second": round(count / elapsed, 1)}


def seed_submitted(db: Database, count: int, start: int = 0) -> None:
    """``count`` submitted evaluations of the full GB/T 36132-2025 v1 data set in ``TENANT``
    (units numbered from ``start``)."""
    scheme = get_scheme("gbt36132-2025", 1)
    result = scoring.result_dict(scoring.score(
        scheme, {k: domain.stored_value(v) for k, v in VALUES.items()}, basic=BASIC))
    now = clock.now()
    with db.session(TENANT, write=True) as s:
        for i in range(start, start + count):
            s.add(Evaluation(
                id=str(uuid.uuid4()), unit_id=f"unit-{i}", unit_uscc="91320100MA1N2P3Q43",
                unit_location="320102", unit_json="{}", scheme_id=scheme.id, scheme_version=1,
                status="submitted", values_json=json.dumps(VALUES, ensure_ascii=False),
                basic_json=json.dumps(BASIC), result_json=json.dumps(result), total=result["total"],
                passed=True, request_id=f"bench-{uuid.uuid4()}", created_by="bench",
                created_at=now, submitted_at=now))


def bench_rescoring(counts: list[int], work: Path, to_version: int) -> list[dict]:
    """Submitted evaluations under v1 re-scored under a stricter ``to_version`` (see main), the
    handler's rows consumed one at a time as a servicer streams them: for each of ``counts``
    (ascending: the database grows to each), elapsed time and peak Python memory."""
    tag = uuid.uuid4().hex[:8]
    settings = Settings(var_dir=work, db_prefix=f"glbe_{tag}",
                        database_url=os.environ.get("DATABASE_URL", ""))
    db = Database(service="evaluation", settings=settings,
                  migrations=ROOT / "services/evaluation/migrations")
    db.onboard([TENANT])
    rt = Runtime("evaluation", settings, db, PUBLISHES)
    scheme = get_scheme("gbt36132-2025", 1)
    province = Identity("bench", (Grant("province", TENANT),))
    out, held = [], 0
    for count in counts:
        seed_submitted(db, count - held, start=held)
        held = count
        tracemalloc.start()
        t0 = time.perf_counter()
        rows = below = 0
        with tenant_scope(TENANT):
            for row in handlers.rescore(rt, ident=province, tenant=TENANT, scheme_id=scheme.id,
                                        to_version=to_version, unit_ids=[]):
                rows += 1
                below += row.now_below_mark
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert rows == below == count, (rows, below, count)
        out.append({"evaluations": count, "seconds": round(elapsed, 2),
                    "per_second": round(count / elapsed, 1), "peak_mb": round(peak / 2**20, 1),
                    "now_below_mark": below})
    if settings.database_url:
        db.dispose()
        from deploy.local.stack import Stack

        Stack(var_dir=work, database_url=settings.database_url,
              db_prefix=settings.db_prefix).drop_shared()
    return out


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM) since it started or ``reset_peak``."""
    return _status_mb(pid, "VmHWM")


def rss_mb(pid: int) -> float:
    return _status_mb(pid, "VmRSS")


def reset_peak(pid: int) -> None:
    """Start the peak resident memory (VmHWM) again from the current one (Linux: clear_refs 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


async def _score_load(base: str, token: str, path: str, seconds: float) -> int:
    done = 0
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                r = await client.get(path)
                if r.status_code != 200:
                    raise SystemExit(f"score: {r.status_code} {r.text[:200]}")
                done += 1
        await asyncio.gather(*(worker() for _ in range(8)))
    return done


def bench_through_stack(counts: list[int], seconds: float, work: Path,
                        to_version: int) -> dict:
    """Scoring and re-scoring asked of the gateway of a real stack."""
    from bench.run import make_stack

    stack = make_stack(work / "stack")
    try:
        stack.start()
        base = stack.gateway_url

        def login(user: str, password: str) -> str:
            return httpx.post(f"{base}/api/v1/auth/login", timeout=30,
                              json={"username": user, "password": password}).json()["access_token"]

        ent = {"Authorization": f"Bearer {login('factory', 'demo-enterprise-1')}"}
        t = f"{base}/api/v1/tenants/{TENANT}"
        unit = httpx.post(f"{t}/units", headers=ent, timeout=30, json={
            "kind": "factory", "uscc": "91320100MA1N2P3Q43", "name": "基准工厂",
            "location": "320102", "industry": "3311"}).json()["unit"]
        evaluation = httpx.post(f"{t}/evaluations", headers=ent, timeout=30, json={
            "unit_id": unit["id"], "scheme_id": "gbt36132-2025", "scheme_version": 1}).json()
        values = [{"indicator_id": k, **v} for k, v in VALUES.items()]
        r = httpx.patch(f"{t}/evaluations/{evaluation['id']}/values", headers=ent, timeout=30,
                        json={"values": values, "basic": BASIC})
        assert r.status_code == 200, r.text
        path = f"/api/v1/tenants/{TENANT}/evaluations/{evaluation['id']}/score"
        scored = asyncio.run(_score_load(base, ent["Authorization"][7:], path, seconds))
        db = Database(service="evaluation", migrations=ROOT / "services/evaluation/migrations",
                      settings=Settings(var_dir=stack.var_dir, db_prefix=stack.db_prefix,
                                        database_url=stack.database_url))
        db.onboard([TENANT])  # migrated already by the service: this only opens it
        province = {"Authorization": f"Bearer {login('jiangsu', 'demo-province-1')}"}
        pids = {name: stack.procs[name].pid for name in ("evaluation", "gateway")}
        runs, held = [], 0
        for count in counts:
            seed_submitted(db, count - held, start=held)
            held = count
            before = {name: rss_mb(pid) for name, pid in pids.items()}
            for pid in pids.values():
                reset_peak(pid)
            t0 = time.perf_counter()
            r = httpx.post(f"{t}/schemes/gbt36132-2025/rescore", headers=province, timeout=600,
                           json={"to_version": to_version})
            elapsed = time.perf_counter() - t0
            assert r.status_code == 200 and r.json()["evaluations"] == count, r.text[:300]
            runs.append({"rescored": count, "rescore_seconds": round(elapsed, 2),
                         "answer_mb": round(len(r.content) / 2**20, 1),
                         "now_below_mark": r.json()["now_below_mark"],
                         **{f"{name}_rss_before_mb": mb for name, mb in before.items()},
                         **{f"{name}_peak_rss_mb": peak_rss_mb(pid)
                            for name, pid in pids.items()}})
        db.dispose()
        return {"score_requests": scored, "score_seconds": seconds,
                "scores_per_second": round(scored / seconds, 1), "rescoring": runs}
    finally:
        stack.stop()
        stack.drop_shared()


def next_version(schemes: Path) -> int:
    """The number a new version of GB/T 36132-2025 takes: after every shipped one."""
    shipped = [yaml.safe_load(f.read_text("utf-8")) for f in schemes.glob("*.yaml")]
    return 1 + max(d["version"] for d in shipped if d.get("id") == "gbt36132-2025")


def main() -> None:
    parser = argparse.ArgumentParser(description="GreenLadder evaluation bench")
    parser.add_argument("--scores", type=int, default=5000)
    parser.add_argument("--rescore", type=lambda v: sorted(int(n) for n in v.split(",")),
                        default=[5000, 20000],
                        help="evaluations held at each re-scoring run, comma-separated")
    parser.add_argument("--seconds", type=float, default=5.0, help="scoring load through the stack")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gl-bench-eval-"))
    # A stricter version (a pass mark of 75 on version 1's figures) arrives as an operator's
    # file, before any scheme is read.
    shipped = ROOT / "services/evaluation/data/schemes"
    stricter = next_version(shipped)
    (work / "schemes").mkdir()
    (work / "schemes" / "stricter.yaml").write_text(
        (shipped / "gbt36132-2025.yaml").read_text("utf-8")
        .replace("\nversion: 1\n", f"\nversion: {stricter}\n", 1)
        .replace("  default: 60 ", "  default: 75 ", 1), "utf-8")
    os.environ["GL_SCHEMES_DIR"] = str(work / "schemes")
    try:
        scored = bench_scoring(args.scores)
        rescored = bench_rescoring(args.rescore, work, stricter)
        served = bench_through_stack(args.rescore, args.seconds, work, stricter)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("GreenLadder bench — evaluation (in-process, one thread)")
    print(f"  scoring      {scored['per_second']:>9} evaluations/s   "
          f"(GB/T 36132-2025, all {len(VALUES)} indicators, {scored['evaluations']} runs)")
    for run in rescored:
        print(f"  re-scoring   {run['evaluations']:>6} evaluations under a new version in "
              f"{run['seconds']} s ({run['per_second']}/s), peak Python memory "
              f"{run['peak_mb']} MB, {run['now_below_mark']} now below the mark")
    print("GreenLadder bench — evaluation through the gateway and the evaluation service")
    print(f"  scoring      {served['scores_per_second']:>9} evaluations/s   "
          f"(GET …/score, 8 clients, {served['score_seconds']} s)")
    for run in served["rescoring"]:
        print(f"  re-scoring   {run['rescored']:>6} evaluations in {run['rescore_seconds']} s "
              f"(POST …/rescore, {run['answer_mb']} MB streamed); peak RSS: evaluation "
              f"{run['evaluation_peak_rss_mb']} MB (before {run['evaluation_rss_before_mb']}), "
              f"gateway {run['gateway_peak_rss_mb']} MB (before {run['gateway_rss_before_mb']})")
    out = ROOT / "bench" / "results" / "evaluation-latest.json"
    out.write_text(json.dumps({"scoring": scored, "rescoring": rescored, "through_stack": served},
                              indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
