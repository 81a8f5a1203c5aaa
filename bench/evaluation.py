"""`make bench`, evaluation part: automated scoring and re-scoring, in-process on real storage.

1. Scoring: a GB/T 36132-2025 evaluation with every indicator, scored again and again by the
   platform's scorer (the work the service does at preview and submission), single thread.
2. Re-scoring: 5,000 submitted evaluations held in a real tenant database (SQLite, or PostgreSQL
   with DATABASE_URL) re-scored under a new version of the scheme by the service's own handler,
   with elapsed time and peak Python memory (tracemalloc).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

from services.evaluation import handlers, scoring
from services.evaluation.schemes import get_scheme
from services.evaluation.store import Evaluation
from services.kernel import clock
from services.kernel.config import ROOT, Settings
from services.kernel.db import Database
from services.kernel.identity import Grant, Identity
from services.kernel.service import Runtime
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
    values = {k: handlers._stored(v) for k, v in VALUES.items()}
    assert len(values) == len(list(scheme.indicators()))
    scoring.score(scheme, values, basic=BASIC)
    t0 = time.perf_counter()
    for _ in range(count):
        scoring.score(scheme, values, basic=BASIC)
    elapsed = time.perf_counter() - t0
    return {"evaluations": count, "seconds": round(elapsed, 3), "per_second": round(count / elapsed, 1)}


def bench_rescoring(count: int, work: Path) -> dict:
    """``count`` submitted evaluations under v1, re-scored under a stricter v2 (see main)."""
    tag = uuid.uuid4().hex[:8]
    settings = Settings(var_dir=work, db_prefix=f"glbe_{tag}",
                        database_url=os.environ.get("DATABASE_URL", ""))
    db = Database(service="evaluation", settings=settings,
                  migrations=ROOT / "services/evaluation/migrations")
    db.onboard([TENANT])
    rt = Runtime("evaluation", settings, db)
    scheme = get_scheme("gbt36132-2025", 1)
    result = handlers.result_dict(scoring.score(
        scheme, {k: handlers._stored(v) for k, v in VALUES.items()}, basic=BASIC))
    now = clock.now()
    with db.session(TENANT, write=True) as s:
        for i in range(count):
            s.add(Evaluation(
                id=str(uuid.uuid4()), unit_id=f"unit-{i}", unit_uscc="91320100MA1N2P3Q43",
                unit_location="320102", unit_json="{}", scheme_id=scheme.id, scheme_version=1,
                status="submitted", values_json=json.dumps(VALUES, ensure_ascii=False),
                basic_json=json.dumps(BASIC), result_json=json.dumps(result), total=result["total"],
                passed=True, request_id=f"bench-{i}", created_by="bench", created_at=now,
                submitted_at=now))
    province = Identity("bench", (Grant("province", TENANT),))
    tracemalloc.start()
    t0 = time.perf_counter()
    with tenant_scope(TENANT):
        rows = handlers.rescore(rt, ident=province, tenant=TENANT, scheme_id=scheme.id,
                                to_version=2, unit_ids=[])
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(rows) == count and all(r["now_below_mark"] for r in rows)
    if settings.database_url:
        db.dispose()
        from deploy.local.stack import Stack

        Stack(var_dir=work, database_url=settings.database_url,
              db_prefix=settings.db_prefix).drop_shared()
    return {"evaluations": count, "seconds": round(elapsed, 2),
            "per_second": round(count / elapsed, 1), "peak_mb": round(peak / 2**20, 1),
            "now_below_mark": sum(r["now_below_mark"] for r in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description="GreenLadder evaluation bench")
    parser.add_argument("--scores", type=int, default=5000)
    parser.add_argument("--rescore", type=int, default=5000)
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
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("GreenLadder bench — evaluation (in-process, one thread)")
    print(f"  scoring      {scored['per_second']:>9} evaluations/s   "
          f"(GB/T 36132-2025, all {len(VALUES)} indicators, {scored['evaluations']} runs)")
    print(f"  re-scoring   {rescored['evaluations']} evaluations under a new version in "
          f"{rescored['seconds']} s ({rescored['per_second']}/s), peak memory "
          f"{rescored['peak_mb']} MB, {rescored['now_below_mark']} now below the mark")
    out = ROOT / "bench" / "results" / "evaluation-latest.json"
    out.write_text(json.dumps({"scoring": scored, "rescoring": rescored}, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
