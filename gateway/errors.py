"""Every refusal as one stable JSON shape: ``{"error": {"code", "message", "params"}}``, with the
message in the caller's language (zh-CN unless ``Accept-Language`` prefers English)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from services.kernel.errors import (
    DomainError,
    Refusal,
    language,
    load_messages,
    nul_refusal,
    refuse,
    render,
)

logger = logging.getLogger("greenladder.gateway")
HERE = Path(__file__).resolve().parent
SERVICES = HERE.parent / "services"

# The gateway's own messages, and the services' (read as data, never imported as code): a
# service's refusal passes through the gateway with the message the service rendered, but the API
# documents every code an operation can answer with its text (``routes._common.errors``).
load_messages(HERE / "data" / "messages.yaml")
for _path in sorted(SERVICES.glob("*/data/messages.yaml")):
    load_messages(_path)


def message_texts(code: str) -> dict[str, str] | None:
    """A code's message templates, ``{"zh": …, "en": …}``, or None when no catalogue has it."""
    zh, en = render(code, "zh"), render(code, "en")
    return None if zh == code and en == code else {"zh": zh, "en": en}


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def error_response(status: int, code: str, message: str, params: dict | None = None) -> JSONResponse:
    return JSONResponse(status_code=status,
                        content={"error": {"code": code, "message": message, "params": params or {}}})


def _field(loc: tuple) -> str:
    return ".".join(str(p) for p in loc if p not in ("body", "query", "path")) or "body"


# What a pydantic check allows, as a message code of the gateway's catalogue with its parameter.
_ALLOWED = {
    "greater_than_equal": ("request.allowed_min", "ge"), "greater_than": ("request.allowed_gt", "gt"),
    "less_than_equal": ("request.allowed_max", "le"), "less_than": ("request.allowed_lt", "lt"),
    "string_too_long": ("request.allowed_max_length", "max_length"),
    "string_too_short": ("request.allowed_min_length", "min_length"),
    "too_long": ("request.allowed_max_items", "max_length"),
    "too_short": ("request.allowed_min_items", "min_length"),
    "string_pattern_mismatch": ("request.allowed_pattern", "pattern"),
    "literal_error": ("request.allowed_values", "expected"),
    "enum": ("request.allowed_values", "expected"),
    "missing": ("request.allowed_missing", ""),
    "int_parsing": ("request.allowed_int", ""), "int_type": ("request.allowed_int", ""),
    "int_from_float": ("request.allowed_int", ""),
    "string_type": ("request.allowed_string", ""),
    "bool_parsing": ("request.allowed_bool", ""), "bool_type": ("request.allowed_bool", ""),
    "float_parsing": ("request.allowed_number", ""), "float_type": ("request.allowed_number", ""),
}


def _allowed(error: dict, lang: str) -> str:
    """What the field allows, in the caller's language (pydantic's own text otherwise)."""
    code, key = _ALLOWED.get(error.get("type", ""), ("", ""))
    if not code:
        return str(error.get("msg", ""))
    value = (error.get("ctx") or {}).get(key, "") if key else ""
    return render(code, lang, value=value)


class CheckedRoute(APIRoute):
    """Every route of the API: ``refuse_nul`` runs before the route's own dependencies. A route
    class rather than an app-wide dependency because FastAPI resolves each dependency at a cost
    (~10 % of a look-up, issue 11); every router passes ``route_class=CheckedRoute``
    (``tests/unit/test_gateway_inputs.py`` finds any that does not)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            await refuse_nul(request)
            return await handler(request)

        return checked


async def refuse_nul(request: Request) -> None:
    """One check for every string the API takes: no NUL character in a path segment, a query
    parameter, a JSON body (at any depth) or a form field — refused naming the field, before any
    route or account store sees it (PostgreSQL cannot store one; nothing on the platform means
    one). The services refuse it too (``services.kernel.rpc.text_refusal``)."""
    # The path as routed is decoded, the query string not: a NUL in either is spelt \x00 or %00.
    # Checked as bytes first, so the usual request pays no parsing (issue 11).
    query = request.scope.get("query_string", b"")
    if "\x00" in request.scope.get("path", "") or b"%00" in query or b"\x00" in query:
        for name, value in request.path_params.items():
            refuse(nul_refusal(str(value), name))
        for name, value in request.query_params.multi_items():
            refuse(nul_refusal(name, name) or nul_refusal(value, name))
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        raw = await request.body()
        if b"\\u0000" not in raw:  # JSON has no raw NUL: only this escape spells one
            return
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return  # malformed JSON is FastAPI's to refuse (400)
        refuse(_nul_in(body, ""))
    elif kind.startswith(FORM_TYPES):
        form = await request.form()
        for name, value in form.multi_items():
            if isinstance(value, str):
                refuse(nul_refusal(name, name) or nul_refusal(value, name))
            else:  # an uploaded file: its name only (its content is the importer's to judge)
                refuse(nul_refusal(value.filename or "", f"{name}.filename"))


def _nul_in(value: Any, path: str) -> Refusal | None:
    if isinstance(value, str):
        return nul_refusal(value, path or "body")
    if isinstance(value, dict):
        for key, item in value.items():
            found = nul_refusal(key, f"{path}.{key}".lstrip(".")) or _nul_in(
                item, f"{path}.{key}".lstrip("."))
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_in(item, f"{path}.{i}".lstrip("."))
            if found:
                return found
    return None


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        lang = language(request.headers.get("accept-language"))
        return error_response(exc.kind.http_status, exc.code, exc.message(lang), exc.params)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = language(request.headers.get("accept-language"))
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "request.malformed_json", render("request.malformed_json", lang))
        problems = [
            {"field": _field(tuple(e.get("loc", ()))), "type": e.get("type", ""),
             "detail": e.get("msg", ""), "allowed": _allowed(e, lang)}
            for e in errors
        ]
        fields = "; ".join(sorted({f"{p['field']} ({p['allowed']})" for p in problems}))
        return error_response(422, "request.invalid", render("request.invalid", lang, fields=fields),
                              {"problems": problems})

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        lang = language(request.headers.get("accept-language"))
        code = {404: "request.no_route", 405: "request.method"}.get(exc.status_code, "request.error")
        kind = request.headers.get("content-type", "")
        if exc.status_code == 400 and not kind.startswith(FORM_TYPES):
            # FastAPI's own 400 for a JSON body it cannot even decode (bytes that are not UTF-8):
            # to the caller, like any body that does not parse, not valid JSON.
            code = "request.malformed_json"
        return error_response(exc.status_code, code, render(code, lang, detail=exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        lang = language(request.headers.get("accept-language"))
        return error_response(500, "internal", render("internal", lang))
