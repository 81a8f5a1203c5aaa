"""What the gateway records of each HTTP request (issue 10 §4): its metrics and its access-log
line, both from one measurement taken in ``app.Middleware``. The metrics are served on a port of
their own (``metrics.start``, from the gateway's lifespan), never on the public API port.

A request is known by its route *template* (``/api/v1/tenants/{tenant}/units``), never its raw
path: a path holds tenants, ids and whatever a caller typed, so as a label it would grow without
bound, and in a log line it could carry what a caller should not leave there. For the same reason
the access log names no query string and no header (no ``Authorization``, no ``X-API-Key``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from services.kernel import metrics
from services.kernel.telemetry import log

access_logger = logging.getLogger("greenladder.gateway.access")
# A method label is one of these or OTHER: a client may send any token as its method.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Exchange:
    """One request as it is answered: its status and the bytes of its body sent."""

    __slots__ = ("bytes_out", "start", "status")

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.status = 500  # no answer started (the app raised): the server answers 500
        self.bytes_out = 0

    def saw(self, message: dict[str, Any]) -> None:
        """Called with every ASGI message sent to the client."""
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.bytes_out += len(message.get("body", b""))


def route_of(scope: dict[str, Any], root_path: str) -> str:
    """The template of the route that answered: a route's ``path_format``, a mounted app's
    prefix + ``/{path}`` (Swagger UI's assets), or ``metrics.UNMATCHED``."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if isinstance(template, str):
        return template
    mounted = scope.get("root_path", "")
    if isinstance(mounted, str) and mounted != root_path and mounted.startswith(root_path):
        return mounted[len(root_path):] + "/{path}"
    return metrics.UNMATCHED


def record(exchange: Exchange, *, method: str, route: str, client: Any, access_log: bool) -> None:
    """The request's metrics and, unless turned off, its access-log line (inside its span, so
    the line carries its trace id)."""
    seconds = time.perf_counter() - exchange.start
    method = method if method in METHODS else "OTHER"
    metrics.http_request(route, method, exchange.status, seconds)
    if access_log:
        log(access_logger, "request", method=method, route=route, status=exchange.status,
            duration_ms=round(seconds * 1000, 2), bytes_out=exchange.bytes_out,
            client=client[0] if client else "")

