"""What every route module shares: the JSON of a proto message, pre-serialised answers, bulk
import requests, and the documented error shape."""

from __future__ import annotations

from typing import Any

from fastapi import UploadFile
from fastapi.responses import JSONResponse
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
    422: _error("the request or its content is invalid"),
    503: _error("a service is unavailable; try again"),
}
"""The error answers every router documents: ``{"error": {"code", "message", "params"}}``."""
