"""Every refusal as one stable JSON shape: ``{"error": {"code", "message", "params"}}``, with the
message in the caller's language (zh-CN unless ``Accept-Language`` prefers English)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from services.kernel.errors import DomainError, language, render

logger = logging.getLogger("greenladder.gateway")


def error_response(status: int, code: str, message: str, params: dict | None = None) -> JSONResponse:
    return JSONResponse(status_code=status,
                        content={"error": {"code": code, "message": message, "params": params or {}}})


def _field(loc: tuple) -> str:
    return ".".join(str(p) for p in loc if p != "body") or "body"


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
             "detail": e.get("msg", "")}
            for e in errors
        ]
        fields = ", ".join(sorted({p["field"] for p in problems}))
        return error_response(422, "request.invalid", render("request.invalid", lang, fields=fields),
                              {"problems": problems})

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        lang = language(request.headers.get("accept-language"))
        code = {404: "request.no_route", 405: "request.method"}.get(exc.status_code, "request.error")
        return error_response(exc.status_code, code, render(code, lang, detail=exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        lang = language(request.headers.get("accept-language"))
        return error_response(500, "internal", render("internal", lang))
