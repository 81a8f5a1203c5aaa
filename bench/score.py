"""The score path (issue 11): ``GET …/evaluations/{id}/score`` through the gateway — HTTP, the
evaluation service, the registry's veto check of today, the scorer — for a draft evaluation of
the bench's full GB/T 36132-2025 values (``bench.evaluation.VALUES``), against the score ceiling
(``bench.ceiling --score``: the same evaluation scored in-process, the same answer's bytes)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from bench.evaluation import BASIC, VALUES
from bench.load import Req
from bench.reqs import TENANT

ENTERPRISE = ("factory", "demo-enterprise-1")  # the demo enterprise of 320000 …
ENTERPRISE_USCC = "91320100MA1N2P3Q43"          # … registers its own factory only


@dataclass(frozen=True)
class Score:
    reqs: list[Req]  # the one score request, as a list the load rotates over
    sample: bytes    # the gateway's answer, for the ceiling to answer with


def prepare(base: str) -> Score:
    """Untimed: the enterprise registers a factory, opens an evaluation, enters every value;
    its score answers 200 once before anything is timed."""
    with httpx.Client(base_url=base, timeout=30) as http:
        r = http.post("/api/v1/auth/login",
                      json={"username": ENTERPRISE[0], "password": ENTERPRISE[1]})
        if r.status_code != 200:
            raise SystemExit(f"score: login failed: {r.status_code} {r.text[:300]}")
        token = r.json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        t = f"/api/v1/tenants/{TENANT}"
        r = http.post(f"{t}/units", json={"kind": "factory", "uscc": ENTERPRISE_USCC, "name": "基准评价工厂",
                                          "location": "320102", "industry": "3311"})
        if r.status_code not in (200, 201):
            raise SystemExit(f"score: registering the factory: {r.status_code} {r.text[:300]}")
        r = http.post(f"{t}/evaluations", json={"unit_id": r.json()["unit"]["id"],
                                                "scheme_id": "gbt36132-2025", "scheme_version": 1})
        if r.status_code != 201:
            raise SystemExit(f"score: opening the evaluation: {r.status_code} {r.text[:300]}")
        evaluation = r.json()["id"]
        values = [{"indicator_id": k, **v} for k, v in VALUES.items()]
        r = http.patch(f"{t}/evaluations/{evaluation}/values",
                       json={"values": values, "basic": BASIC})
        if r.status_code != 200:
            raise SystemExit(f"score: entering the values: {r.status_code} {r.text[:300]}")
        path = f"{t}/evaluations/{evaluation}/score"
        r = http.get(path)
        if r.status_code != 200 or r.json().get("result") is None:
            raise SystemExit(f"score: {r.status_code} {r.text[:300]}")
    return Score(reqs=[Req("GET", path, token)] * 100, sample=r.content)
