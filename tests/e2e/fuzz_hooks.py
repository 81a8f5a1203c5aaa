"""Schemathesis hooks for the API fuzz run (tests/e2e/test_fuzz_api.py), loaded by the
schemathesis CLI through ``SCHEMATHESIS_HOOKS=tests.e2e.fuzz_hooks``.

The run's context is a JSON file named by ``GL_FUZZ_CONTEXT``: the caller's bearer token (none:
anonymous), a session of another account for the logout route, the tenant it acts in (by the path's first segment after the tenant), real ids by path parameter name, and the file every answer's
status is appended to. Before each call the generated path parameters are replaced by real ids —
nine calls in ten, chosen by a checksum of the generated values so a run repeats exactly — so the
fuzzed bodies and queries reach a service's rules instead of stopping at 404; the tenth keeps the
generated values (malformed ids, unknown tenants)."""

from __future__ import annotations

import json
import os
import threading
import zlib
from typing import Any

import schemathesis

_lock = threading.Lock()
_context: dict[str, Any] | None = None


def context() -> dict[str, Any]:
    global _context
    if _context is None:
        with open(os.environ["GL_FUZZ_CONTEXT"], encoding="utf-8") as f:
            _context = json.load(f)
    return _context


@schemathesis.hook
def before_call(ctx, case, kwargs):  # type: ignore[no-untyped-def]
    run = context()
    # A logout with the run's token would end the run's session (decision 0009): a logout is
    # fuzzed with a session of its own (the first one ends it, the rest are refused as ended).
    logout = case.method.upper() == "POST" and case.path == "/api/v1/auth/logout"
    token = run["logout_token"] if logout else run["token"]
    if token:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    params = case.path_parameters
    if params:
        keep_generated = zlib.crc32(repr(sorted(params.items())).encode()) % 10 == 0
        if not keep_generated:
            segment = case.path.split("{tenant}/", 1)[-1].split("/", 1)[0]
            ids = {**run["ids"], "tenant": run["tenants"].get(segment, run["tenants"][""])}
            case.path_parameters = {k: ids.get(k, v) for k, v in params.items()}


@schemathesis.hook
def after_call(ctx, case, response):  # type: ignore[no-untyped-def]
    line = json.dumps({"role": context()["role"], "op": case.operation.label,
                       "method": case.method.upper(), "status": response.status_code,
                       "elapsed": round(response.elapsed, 4)})
    with _lock, open(context()["stats"], "a", encoding="utf-8") as f:
        f.write(line + "\n")
