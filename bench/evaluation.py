"""`make bench`, evaluation part: automated scoring and re-scoring, in-process and through the
running services.

1. Scoring: a GB/T 36132-2025 evaluation with every indicator, scored again and again by the
   platform's scorer (the work the service does at preview and submission), single thread.
2. Re-scoring: 5,000 submitted evaluations held in a real tenant database (SQLite, or PostgreSQL
   with DATABASE_URL) re-scored under a new version of the scheme by the service's own handler,
   with elapsed time and peak Python memory (tracemalloc).
3. The same through a real stack (``bench.run.make_stack``): the score of a full evaluation asked
   of the gateway (HTTP → gRPC → scorer) by 8 concurrent clients for a few seconds; then 5,000
   submitted evaluations written into the evaluation service's own database and re-scored by
   ``POST /schemes/{id}/rescore`` through the gateway, with elapsed time and the evaluation
   process's peak resident memory (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

import httpx

from services.evaluation import domain, handlers, scoring
from services.evaluation.schemes import get_scheme
from services.evaluation.store import Evaluation
from services.kernel import clock
from services.kernel.config import ROOT, Settings
from services.kernel.db import Database
from services.kernel.identity import Grant, Identity
from services.evaluation.events import PUBLISHES
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


def bench_scoring(count: int) -> dict:
    scheme = get_scheme("gbt36132-2025", 1)
    values = {k: domain.stored_value(v) for k, v in VALUES.items()}
    assert len(values) == len(list(scheme.indicators()))
    scoring.score(scheme, values, basic=BASIC)
    t0 = time.perf_counter()
    for _ in range(count):
        scoring.score(scheme, values, basic=BASIC)
    elapsed = time.perf_counter() - t0
    return {"evaluations": count, "seconds": round(elapsed, 3), "per_second": round(count / elapsed, 1)}


def seed_submitted(db: Database, count: int) -> None:
    """``count`` submitted evaluations of the full GB/T 36132-2025 v1 data set in ``TENANT``."""
    scheme = get_scheme("gbt36132-2025", 1)
    result = scoring.result_dict(scoring.score(
        scheme, {k: domain.stored_value(v) for k, v in VALUES.items()}, basic=BASIC))
    now = clock.now()
    with db.session(TENANT, write=True) as s:
        for i in range(count):
            s.add(Evaluation(
                id=str(uuid.uuid4()), unit_id=f"unit-{i}", unit_uscc="91320100MA1N2P3Q43",
                unit_location="320102", unit_json="{}", scheme_id=scheme.id, scheme_version=1,
                status="submitted", values_json=json.dumps(VALUES, ensure_ascii=False),
                basic_json=json.dumps(BASIC), result_json=json.dumps(result), total=result["total"],
                passed=True, request_id=f"bench-{uuid.uuid4()}", created_by="bench",
                created_at=now, submitted_at=now))


def bench_rescoring(count: int, work: Path) -> dict:
    """``count`` submitted evaluations under v1, re-scored under a stricter v2 (see main)."""
    tag = uuid.uuid4().hex[:8]
    settings = Settings(var_dir=work, db_prefix=f"glbe_{tag}",
                        database_url=os.environ.get("DATABASE_URL", ""))
    db = Database(service="evaluation", settings=settings,
                  migrations=ROOT / "services/evaluation/migrations")
    db.onboard([TENANT])
    rt = Runtime("evaluation", settings, db, PUBLISHES)
    scheme = get_scheme("gbt36132-2025", 1)
    seed_submitted(db, count)
    province = Identity("bench", (Grant("province", TENANT),))
    tracemalloc.start()
    t0 = time.perf_counter()
    with tenant_scope(TENANT):
        rows = handlers.rescore(rt, ident=province, tenant=TENANT, scheme_id=scheme.id,
                                to_version=2, unit_ids=[])
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(rows) == count and all(r.now_below_mark for r in rows)
    if settings.database_url:
        db.dispose()
        from deploy.local.stack import Stack

        Stack(var_dir=work, database_url=settings.database_url,
              db_prefix=settings.db_prefix).drop_shared()
    return {"evaluations": count, "seconds": round(elapsed, 2),
            "per_second": round(count / elapsed, 1), "peak_mb": round(peak / 2**20, 1),
            "now_below_mark": sum(r.now_below_mark for r in rows)}


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


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


def bench_through_stack(count: int, seconds: float, work: Path) -> dict:
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
            "unit_id": unit["id"], "scheme_id": "gbt36132-2025"}).json()
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
        seed_submitted(db, count)
        db.dispose()
        province = {"Authorization": f"Bearer {login('jiangsu', 'demo-province-1')}"}
        t0 = time.perf_counter()
        r = httpx.post(f"{t}/schemes/gbt36132-2025/rescore", headers=province, timeout=600,
                       json={"to_version": 2})
        elapsed = time.perf_counter() - t0
        assert r.status_code == 200 and r.json()["evaluations"] == count, r.text[:300]
        return {"score_requests": scored, "score_seconds": seconds,
                "scores_per_second": round(scored / seconds, 1),
                "rescored": count, "rescore_seconds": round(elapsed, 2),
                "evaluation_peak_rss_mb": peak_rss_mb(stack.procs["evaluation"].pid),
                "now_below_mark": r.json()["now_below_mark"]}
    finally:
        stack.stop()
        stack.drop_shared()


def main() -> None:
    parser = argparse.ArgumentParser(description="GreenLadder evaluation bench")
    parser.add_argument("--scores", type=int, default=5000)
    parser.add_argument("--rescore", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=5.0, help="scoring load through the stack")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gl-bench-eval-"))
    # Version 2 (a stricter pass mark) arrives as an operator's file, before any scheme is read.
    shipped = (ROOT / "services/evaluation/data/schemes/gbt36132-2025.yaml").read_text("utf-8")
    (work / "schemes").mkdir()
    (work / "schemes" / "v2.yaml").write_text(
        shipped.replace("\nversion: 1\n", "\nversion: 2\n", 1)
        .replace("  default: 60 ", "  default: 75 ", 1), "utf-8")
    os.environ["GL_SCHEMES_DIR"] = str(work / "schemes")
    try:
        scored = bench_scoring(args.scores)
        rescored = bench_rescoring(args.rescore, work)
        served = bench_through_stack(args.rescore, args.seconds, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("GreenLadder bench — evaluation (in-process, one thread)")
    print(f"  scoring      {scored['per_second']:>9} evaluations/s   "
          f"(GB/T 36132-2025, all {len(VALUES)} indicators, {scored['evaluations']} runs)")
    print(f"  re-scoring   {rescored['evaluations']} evaluations under a new version in "
          f"{rescored['seconds']} s ({rescored['per_second']}/s), peak memory "
          f"{rescored['peak_mb']} MB, {rescored['now_below_mark']} now below the mark")
    print("GreenLadder bench — evaluation through the gateway and the evaluation service")
    print(f"  scoring      {served['scores_per_second']:>9} evaluations/s   "
          f"(GET …/score, 8 clients, {served['score_seconds']} s)")
    print(f"  re-scoring   {served['rescored']} evaluations in {served['rescore_seconds']} s "
          f"(POST …/rescore), evaluation process peak RSS {served['evaluation_peak_rss_mb']} MB")
    out = ROOT / "bench" / "results" / "evaluation-latest.json"
    out.write_text(json.dumps({"scoring": scored, "rescoring": rescored, "through_stack": served},
                              indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
