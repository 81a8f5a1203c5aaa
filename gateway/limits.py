"""How large a request body each route takes: the general limit (``GL_MAX_BODY_BYTES``), or a
route's own figure where the route carries a file whose limit is a platform figure (evidence,
and a report to verify: ``services/kernel/data/limits.yaml``, which the evaluation service reads
too). Each route declares its own (``BODY_LIMITS`` of ``gateway.routes.evaluation`` and
``gateway.routes.public``); ``gateway.app`` hands them all to the body-size middleware.

A route's own limit names the figure its refusal states (the file's limit) and the framing
allowed around the file (a multipart body's boundaries, part headers and other fields), so a
file at the limit passes the gateway and the service's own rule decides anything in between.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.routing import compile_path

# A multipart body's boundaries, part headers and small fields around one file: far more than a
# form with a 200-character file name and an indicator id needs.
MULTIPART_FRAMING = 64 * 1024


@dataclass(frozen=True)
class RouteLimit:
    """A route whose body limit is its own figure rather than the general one."""

    method: str
    path: str                   # the route's template: /api/v1/tenants/{tenant}/…/evidence
    figure: int                 # the limit the refusal names (e.g. the evidence file limit)
    framing: int = 0            # allowed around it (MULTIPART_FRAMING for a file upload)
    code: str = "request.too_large"


@dataclass(frozen=True)
class BodyLimit:
    """The limit of one request: the bytes let through, and what a refusal says."""

    allowed: int
    figure: int
    code: str

    @property
    def params(self) -> dict[str, int | str]:
        return {"max": self.figure, "mib": f"{self.figure / 2**20:g}"}


class BodyLimits:
    """The limit of each route: its own where it has one, the general limit otherwise."""

    def __init__(self, general: int, routes: Sequence[RouteLimit] = ()) -> None:
        self.general = BodyLimit(allowed=general, figure=general, code="request.too_large")
        self._routes: list[tuple[str, re.Pattern[str], BodyLimit]] = [
            (r.method.upper(), compile_path(_routed(r.path))[0],
             BodyLimit(allowed=r.figure + r.framing, figure=r.figure, code=r.code))
            for r in routes]

    def of(self, method: str, path: str) -> BodyLimit:
        """The limit of a request to ``path`` (the request's path, percent-decoded, as routed).
        A path the router would redirect to a route (``…/evidence/``: the router strips the
        trailing slashes, as Starlette's ``redirect_slashes`` does) has that route's limit, so
        a client posting there and following the redirect is held to one figure, not two."""
        routed = _routed(path)
        for route_method, pattern, limit in self._routes:
            if method.upper() == route_method and pattern.match(routed):
                return limit
        return self.general


def _routed(path: str) -> str:
    """A path or route template without its trailing slashes (``/`` stays ``/``): the router
    redirects between the two forms, so a limit holds for both."""
    return path.rstrip("/") or "/"
