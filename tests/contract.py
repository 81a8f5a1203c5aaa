"""Checking an answer of the gateway against its OpenAPI document (``/openapi.json``).

The gateway's routes answer with pre-serialised JSON, which FastAPI does not validate; these
checks, used by tests/unit/test_gateway_contract.py (every route, in-process) and
tests/e2e/test_openapi_contract.py (real services), keep the document honest.
"""

from __future__ import annotations

from typing import Any

import httpx

_TYPES: dict[str, Any] = {"string": str, "boolean": bool, "object": dict, "array": list,
                          "null": type(None)}


def schema_errors(value: Any, schema: dict[str, Any], spec: dict[str, Any],
                  at: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (JSON Schema as FastAPI writes it into OpenAPI: $ref,
    anyOf, type, properties, required, additionalProperties, items, enum, const)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return schema_errors(value, spec["components"]["schemas"][name], spec, at)
    if "anyOf" in schema:
        options = [schema_errors(value, s, spec, at) for s in schema["anyOf"]]
        return [] if any(not o for o in options) else min(options, key=len)
    errors: list[str] = []
    kind = schema.get("type")
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind is not None:
        ok = isinstance(value, _TYPES[kind]) and not (kind != "boolean" and isinstance(value, bool))
    else:
        ok = True
    if not ok:
        return [f"{at}: {value!r} is not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{at}: {value!r} not one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{at}: {value!r} is not {schema['const']!r}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        errors += [f"{at}: {key!r} missing" for key in schema.get("required", [])
                   if key not in value]
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                errors += schema_errors(item, props[key], spec, f"{at}.{key}")
            elif extra is False:
                errors.append(f"{at}: {key!r} is not in the schema")
            elif isinstance(extra, dict):
                errors += schema_errors(item, extra, spec, f"{at}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], spec, f"{at}[{i}]")
    return errors


def declared(spec: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any] | None:
    """The JSON schema OpenAPI declares for an answer, or None (no JSON body declared)."""
    answer = spec["paths"][path][method.lower()]["responses"].get(str(status))
    assert answer is not None, f"{method} {path}: status {status} is not documented"
    return answer.get("content", {}).get("application/json", {}).get("schema")


def conforms(spec: dict[str, Any], method: str, template: str, r: httpx.Response) -> Any:
    """The answer's JSON, after checking it against what OpenAPI declares for its status."""
    schema = declared(spec, method, template, r.status_code)
    assert schema is not None, f"{method} {template} {r.status_code}: no JSON schema declared"
    body = r.json()
    errors = schema_errors(body, schema, spec)
    assert not errors, f"{method} {template} {r.status_code}: {errors[:5]}"
    return body
