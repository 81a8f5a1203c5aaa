"""What every route module shares: the JSON of a proto message, pre-serialised answers, answers
streamed from a service's stream, bulk import requests, and the documented error shape."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from fastapi import UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from pydantic import BaseModel

from services.kernel.errors import invalid

# A bulk file of 20,000 rows takes the registry about half a minute; the answer must not be lost.
IMPORT_TIMEOUT = 600.0


def as_json(msg: Message) -> dict[str, Any]:
    """A message as the API's JSON: proto field names, defaults printed, unset ``optional`` and
    message fields left out, 64-bit integers as strings (described by ``gateway.schemas``)."""
    return MessageToDict(msg, preserving_proto_field_name=True,
                         always_print_fields_with_no_presence=True)


def reply(content: Any, status_code: int = 200) -> JSONResponse:
    """An answer already in its final JSON shape. The route's ``response_model`` documents it in
    OpenAPI; FastAPI does not validate it again per request (the contract test does, once per
    route), so hot routes pay nothing. ``status_code`` must repeat the route's own."""
    return JSONResponse(content, status_code=status_code)


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


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("the body is not valid JSON, or not a valid form (multipart) body"),
    401: _error("not logged in, or the token or API key is invalid, expired or revoked"),
    403: _error("the caller may not do this here"),
    404: _error("no such record (or route)"),
    409: _error("conflicts with the current state"),
    413: _error("the body is over the route's size limit (request.too_large, or the route's own)"),
    422: _error("the request or its content is invalid"),
    503: _error("a service is unavailable; try again"),
}
"""The error answers every router documents: ``{"error": {"code", "message", "params"}}``."""
