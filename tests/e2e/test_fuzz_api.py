"""No 5xx from any input (issue 8, item 2), proved in general: schemathesis over the whole
OpenAPI document of a real stack (/openapi.json), as a province, a city, an enterprise, an
institution and anonymous, with real tenant, unit, evaluation, engagement, institution and account
ids put in the path by hooks (tests/e2e/fuzz_hooks.py), so that most calls reach a service's
rules instead of stopping at 401/403/404.

Per role: the examples, coverage and fuzzing phases, at least 25 generated cases per operation,
positive and negative data, a fixed seed (the same cases on every run), and the checks
``not_a_server_error``, ``status_code_conformance``, ``response_schema_conformance`` and
``content_type_conformance``: any 5xx, an undocumented status or an answer that does not match
its schema fails the run. CI runs it on SQLite (leg 1) and PostgreSQL (leg 2) like every e2e test.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.helpers import Api, DEMO_PASSWORDS, factory, login, person_id

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parents[2]
JS = "/api/v1/tenants/320000"
N = "/api/v1/tenants/000000"
INSTITUTION = "91110108MA01XYA126"   # the demo institution
ENTERPRISE = "91320100MA1N2P3Q43"    # the demo enterprise
EXAMPLES = 25
SEED = 20261129
CHECKS = ("not_a_server_error,status_code_conformance,response_schema_conformance,"
          "content_type_conformance")
ROLES = ("anonymous", "factory", "institution", "nanjing", "jiangsu")  # the destructive last


def _ok(r: httpx.Response) -> dict:
    assert r.status_code in (200, 201), r.text
    return r.json()


def _world(stack) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Real records for every path parameter: a unit of the enterprise (in Nanjing, so the city
    sees it too) with a compliance record, its self-evaluation, the verified and filed demo
    institution engaged on it, and a machine account with an API key to administer."""
    js, ent = login(stack, "jiangsu"), login(stack, "factory")
    inst, ministry = login(stack, "institution"), login(stack, "ministry")
    unit = _ok(js.post(f"{JS}/units", json=factory(uscc=ENTERPRISE, site="一厂区")))["unit"]
    _ok(js.put(f"{JS}/units/{unit['id']}/ownership",
               json={"legal_representative": "李某", "legal_rep_id": person_id(7)}))
    record = _ok(js.post(f"{JS}/units/{unit['id']}/compliance", json={
        "kind": "abnormal_operations", "occurred_on": "2025-03-01"}))
    evaluation = _ok(ent.post(f"{JS}/evaluations", json={"unit_id": unit["id"],
                                                         "scheme_id": "gbt36132-2025"}))
    _ok(inst.put(f"{N}/institutions/{INSTITUTION}", json={
        "name": "绿评认证中心", "legal_representative": "王某", "legal_rep_id": person_id(1),
        "staff": [{"name": f"评价员{i}", "title": "senior", "full_time": True} for i in range(10)],
        "experience": [{"year": 2025, "description": "省级绿色工厂评价"}],
        "scope_categories": ["factory", "park"]}))
    _ok(ministry.post(f"{N}/institutions/{INSTITUTION}/verify"))
    _ok(js.post(f"{JS}/institutions/{INSTITUTION}/filing", json={"reason": "备案"}))
    engagement = _ok(ent.post(f"{JS}/engagements", json={"unit_id": unit["id"],
                                                         "institution_uscc": INSTITUTION}))
    account = _ok(js.post("/api/v1/accounts", json={
        "username": "fuzz-machine", "machine": True,
        "grants": [{"role": "city", "tenant": "320000", "city": "320100"}]}))
    key = _ok(js.post(f"/api/v1/accounts/{account['id']}/api-keys", json={"label": "fuzz"}))
    return {"unit_id": unit["id"], "record_id": record["id"], "evaluation_id": evaluation["id"],
            "engagement_id": engagement["id"], "uscc": INSTITUTION, "scheme_id": "gbt36132-2025",
            "service": "registry", "account_id": account["id"],
            "key_id": key["api_key"].split("_")[1], "plan_id": "none"}


def _token(stack, role: str) -> str:  # type: ignore[no-untyped-def]
    if role == "anonymous":
        return ""
    r = httpx.post(f"{stack.gateway_url}/api/v1/auth/login",
                   json={"username": role, "password": DEMO_PASSWORDS[role]})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def _fuzz(stack, tmp: Path, role: str, ids: dict[str, str]) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    """Start schemathesis as ``role``. One worker thread per run: on CPython 3.11 two threads
    building hypothesis strategies at once can trip the ``ast`` module's shared recursion
    counter (SystemError); runs go in parallel as processes instead."""
    tenants = {"": "320000"}
    if role == "institution":  # its grant is national: its profile and reports live in 000000
        tenants.update({"institutions": "000000", "work-reports": "000000"})
    context = tmp / f"{role}.json"
    context.write_text(json.dumps({"role": role, "token": _token(stack, role),
                                   "logout_token": "" if role == "anonymous" else
                                   _token(stack, "ministry"), "tenants": tenants,
                                   "ids": ids,
                                   "stats": str(tmp / "stats.jsonl")}))
    env = {**os.environ, "GL_FUZZ_CONTEXT": str(context), "PYTHONPATH": str(ROOT),
           "SCHEMATHESIS_HOOKS": "tests.e2e.fuzz_hooks", "NO_COLOR": "1", "COLUMNS": "120"}
    cmd = [sys.executable, "-m", "schemathesis.cli", "run", f"{stack.gateway_url}/openapi.json",
           "--checks", CHECKS, "--max-examples", str(EXAMPLES), "--seed", str(SEED),
           "--phases", "examples,coverage,fuzzing", "--mode", "all", "--workers", "1",
           "--no-shrink", "--request-timeout", "60", "--suppress-health-check", "all",
           "--warnings", "off", "--report", "junit",
           "--report-junit-path", str(tmp / f"{role}.xml")]
    out = open(tmp / f"{role}.out", "w", encoding="utf-8")  # noqa: SIM115 - closed with the run
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True)


def test_no_input_makes_the_api_answer_5xx(own_stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    own_stack.start()
    ids = _world(own_stack)
    failures = []
    for pair in (ROLES[:2], ROLES[2:4], ROLES[4:]):  # two runs at a time (CI has two cores)
        runs = {role: _fuzz(own_stack, tmp_path, role, ids) for role in pair}
        try:
            for role, run in runs.items():
                code = run.wait(timeout=900)
                if code != 0:
                    out = (tmp_path / f"{role}.out").read_text(encoding="utf-8", errors="replace")
                    failures.append(f"--- as {role} (exit {code}) ---\n{out[-15000:]}")
        finally:
            for run in runs.values():
                if run.poll() is None:
                    run.kill()
    spec = httpx.get(f"{own_stack.gateway_url}/openapi.json").json()
    document = {f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops}
    calls = [json.loads(line) for line in (tmp_path / "stats.jsonl").read_text().splitlines()]
    statuses = collections.Counter(c["status"] for c in calls)
    documented = [c for c in calls if c["op"].split(" ", 1)[0] == c["method"]]
    per_op = collections.Counter((c["role"], c["op"]) for c in documented)
    ops = {op for _, op in per_op}
    stopped = sum(n for s, n in statuses.items() if s in (401, 403, 404))
    summary = (f"{len(calls)} calls ({len(documented)} on documented methods) over {len(ops)} "
               f"operations as {len(ROLES)} roles; per role and operation at least "
               f"{min(per_op.values())}, median {sorted(per_op.values())[len(per_op) // 2]}; "
               f"stopped at 401/403/404: {stopped}; statuses {sorted(statuses.items())}")
    print(summary)
    slow = collections.Counter()
    for c in calls:
        slow[c["op"]] += c.get("elapsed", 0.0)
    print("slowest operations (seconds of answers, all roles):",
          [(op, round(t, 1)) for op, t in slow.most_common(8)])
    assert not failures, "\n".join(failures) + "\n" + summary
    assert not [s for s in statuses if s >= 500], summary
    assert ops == document and len(per_op) == len(ops) * len(ROLES), summary  # the whole API
    assert stopped * 2 <= len(calls), f"most calls must reach a service's rules; {summary}"
    few = {key: n for key, n in per_op.items() if n < EXAMPLES}
    assert len(few) <= len(per_op) // 10, f"fewer than {EXAMPLES} cases: {few}; {summary}"
