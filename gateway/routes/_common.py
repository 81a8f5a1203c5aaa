"""What every route module shares: the JSON of a proto message, pre-serialised answers, answers
streamed from a service's stream, bulk import requests, and the documented error answers — per
operation and HTTP status, the codes it can answer (``errors``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import orjson
from fastapi import UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from google.protobuf.message import Message
from pydantic import BaseModel

from gateway.errors import message_texts
from gateway.protojson import as_json
from services.kernel.errors import invalid

# A bulk file of 20,000 rows takes the registry about half a minute; the answer must not be lost.
IMPORT_TIMEOUT = 600.0


class Answer(JSONResponse):
    """JSON written by orjson: the same compact UTF-8 as ``JSONResponse``, several times faster
    (issue 11)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def reply(content: Any, status_code: int = 200) -> JSONResponse:
    """An answer already in its final JSON shape. The route's ``response_model`` documents it in
    OpenAPI; FastAPI does not validate it again per request (the contract test does, once per
    route), so hot routes pay nothing. ``status_code`` must repeat the route's own."""
    return Answer(content, status_code=status_code)


STREAM_CHUNK = 64 * 1024  # bytes of a streamed answer written at a time
M = TypeVar("M", bound=Message)


async def streamed(rows: AsyncIterator[M], *, opening: dict[str, Any], key: str,
                   each: Callable[[M], None],
                   closing: Callable[[], dict[str, Any]]) -> StreamingResponse:
    """An answer of many rows (a service's server stream), written as they arrive: one JSON
    object with the ``opening`` fields, the rows under ``key`` (each as the API's JSON), then the
    ``closing`` fields — counters ``each`` added up as the rows passed. Memory holds one chunk,
    however many rows there are. The first row is awaited before the answer starts, so a refusal
    (which comes before any row) is still an error answer with its status; a failure later can
    only cut the answer short, which a client sees as incomplete JSON, never as the whole."""
    first = await anext(rows, None)

    async def body() -> AsyncIterator[bytes]:
        head = json.dumps(opening, ensure_ascii=False)[:-1]
        chunk = [f"{head}{', ' if opening else ''}{json.dumps(key)}: ["]
        size, row, count = 0, first, 0
        try:
            while row is not None:
                each(row)
                text = json.dumps(as_json(row), ensure_ascii=False)
                chunk.append(f",{text}" if count else text)
                size, count = size + len(text), count + 1
                if size >= STREAM_CHUNK:
                    yield "".join(chunk).encode()
                    chunk, size = [], 0
                row = await anext(rows, None)
        finally:
            close = getattr(rows, "aclose", None)
            if close is not None:
                await close()
        tail = json.dumps(closing(), ensure_ascii=False)
        chunk.append("]" + (f", {tail[1:]}" if tail != "{}" else "}"))
        yield "".join(chunk).encode()

    return StreamingResponse(body(), media_type="application/json")


async def import_request(file: UploadFile, message: type[Message]) -> Any:
    """A bulk upload as the service's ``ImportRequest``: CSV or XLSX, judged by the file name."""
    name = (file.filename or "").lower()
    fmt = "xlsx" if name.endswith(".xlsx") else "csv" if name.endswith(".csv") else ""
    if not fmt:
        raise invalid("request.file_format", filename=file.filename or "")
    return message(content=await file.read(), format=fmt, filename=file.filename or "")


class ErrorDetail(BaseModel):
    code: str
    message: str
    params: dict[str, Any]


class ErrorBody(BaseModel):
    """Every refusal: a stable code, a message in the caller's language, its parameters."""

    error: ErrorDetail


# --- the error answers of each operation, with their codes ----------------------------------------

Caller = Literal["tenant", "user", "public", "open"]
"""Who a route lets in, which fixes the codes it answers whatever it does: ``tenant`` (a login or
API key acting in the path's tenant: ``TenantDep``), ``user`` (any login: ``UserDep``),
``public`` (anyone; the route asks a service for the anonymous public: ``PublicDep``), ``open``
(anyone; answered by the gateway alone)."""
Body = Literal["json", "form", "none"]

_STATUS = {
    400: "the body is not valid JSON, or not a valid form (multipart) body",
    401: "not logged in, or the token or API key is invalid, expired or revoked",
    403: "the caller may not do this here",
    404: "no such record",
    409: "conflicts with the current state",
    413: "the body is over the route's size limit",
    422: "the request or its content is invalid",
    429: "too many attempts; try again later",
    503: "a service is unavailable; try again",
}
AUTH = ("auth.required", "auth.token_expired", "auth.token_invalid", "auth.token_revoked",
        "auth.api_key_invalid", "auth.account_disabled")
"""What a login token or API key can be refused with (``gateway.deps.get_identity``)."""


def _common_codes(caller: Caller, body: Body, too_large: str,
                  in_path: bool) -> dict[int, list[str]]:
    """The codes every route of a kind can answer, whatever it does: a NUL in any string and a
    body over the limit (every route: ``gateway.errors.refuse_nul``, ``gateway.app``'s body
    limit), a field the route's parameters refuse, a body that does not parse; the caller's
    credentials and tenant; a service that does not answer."""
    codes: dict[int, list[str]] = {413: [too_large], 422: ["request.invalid", "text.nul"]}
    if body == "json":
        codes[400] = ["request.malformed_json"]
    elif body == "form":
        codes[400] = ["request.error"]
    if caller in ("tenant", "user"):
        codes[401] = list(AUTH)
    if caller == "tenant":
        codes[403] = ["auth.wrong_tenant", "auth.forbidden_role"]
        codes[404] = ["tenant.unknown", "tenant.not_onboarded"]
    if in_path:  # a path parameter holding "/" makes a path no route has
        codes.setdefault(404, []).append("request.no_route")
    if caller in ("tenant", "public"):
        codes[503] = ["unavailable"]
    return codes


def error_schema(codes: Sequence[str]) -> dict[str, Any]:
    """``ErrorBody``'s JSON schema with ``error.code`` one of ``codes``: an answer with another
    code does not match the document (schemathesis' response_schema_conformance fails on it)."""
    return {
        "title": "ErrorBody", "type": "object", "required": ["error"],
        "description": ErrorBody.__doc__,
        "properties": {"error": {
            "type": "object", "required": ["code", "message", "params"],
            "properties": {
                "code": {"type": "string", "enum": sorted(codes)},
                "message": {"type": "string", "description": "in the caller's language"},
                "params": {"type": "object", "additionalProperties": True},
            }}},
    }


def _describe(status: int, codes: Sequence[str]) -> str:
    """The status's meaning, then each code with its message (English, then Chinese), as the
    message catalogues hold them ({…} is filled from ``params``)."""
    lines = [_STATUS.get(status, "refused") + ". Codes:", ""]
    for code in sorted(codes):
        text = message_texts(code)
        lines.append(f"- `{code}`" + (f" — {text['en']} / {text['zh']}" if text else ""))
    return "\n".join(lines)


def errors(*codes: Mapping[int, Sequence[str]], caller: Caller = "tenant", body: Body = "json",
           too_large: str = "request.too_large", in_path: bool | None = None
           ) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=``: per HTTP status, the domain codes it can answer — those given
    (what its service method and the gateway decide; several mappings are added up, so a group
    of codes shared by routes is named once) and those every route of its kind answers
    (``_common_codes``) — as an ``enum`` of ``error.code`` in that status's schema and as a list
    with their messages in its description. ``body`` is what the route reads (``json``, ``form``,
    ``none``); ``too_large`` the code of its body limit (``gateway.limits``); ``in_path``
    whether its path has parameters (every tenant route's has: ``{tenant}``)."""
    merged = _common_codes(caller, body, too_large,
                           caller == "tenant" if in_path is None else in_path)
    for group in codes:
        for status, named in group.items():
            merged[status] = [*merged.get(status, []), *named]
    return {status: {"description": _describe(status, sorted(set(named))),
                     "content": {"application/json": {"schema": error_schema(sorted(set(named)))}}}
            for status, named in sorted(merged.items())}


def documented_codes(responses: Mapping[int | str, Any]) -> dict[int, list[str]]:
    """What ``errors`` documented, read back from a route's ``responses``: status → codes."""
    out: dict[int, list[str]] = {}
    for status, answer in responses.items():
        schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
        code = schema.get("properties", {}).get("error", {}).get("properties", {}).get("code", {})
        if "enum" in code:
            out[int(status)] = list(code["enum"])
    return out
