"""What both ends of a call share: the metadata names and the call's context."""

from __future__ import annotations

import contextvars

TOKEN = "x-gl-token"
TENANT = "x-gl-tenant"
LANG = "accept-language"
TRACEPARENT = "traceparent"  # W3C trace context: a sampled trace is whole across processes
ERROR_CODE = "gl-error-code"
ERROR_PARAMS = "gl-error-params-bin"
ERROR_KIND = "gl-error-kind"  # the refusal's Kind: one gRPC status may stand for two (413, 429)
MAX_MESSAGE = 16 * 1024 * 1024

language_var: contextvars.ContextVar[str] = contextvars.ContextVar("lang", default="zh")
token_var: contextvars.ContextVar[str] = contextvars.ContextVar("token", default="")


def current_language() -> str:
    return language_var.get()


def current_token() -> str:
    """The internal token of the call being served: a service asking another service on the
    caller's behalf forwards it, so the other service judges the same caller."""
    return token_var.get()
