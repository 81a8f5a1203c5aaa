"""Figures the gateway and a service must agree on, read by both from one data file
(``data/limits.yaml``), since the gateway imports no service: the gateway lets a route's body
through up to the figure and the service refuses content over it, so neither contradicts the
other (issue 9: a 6 MiB evidence file was accepted by the evaluation's rules and cut off by the
gateway's general 5 MiB body limit).

- ``evidence_max_bytes``: the largest evidence file; read by the evaluation's evidence rules and
  by the gateway's evidence upload route.
- ``report_verify_max_bytes``: the largest report file the public verify call takes; read by the
  evaluation's report verification and by the gateway's verify route.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from services.kernel.rpc import MAX_MESSAGE

DATA = Path(__file__).parent / "data" / "limits.yaml"
# Room a request keeps beside a file inside one gRPC message (its other fields, the framing).
MESSAGE_HEADROOM = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    evidence_max_bytes: int
    report_verify_max_bytes: int


FIGURES = ("evidence_max_bytes", "report_verify_max_bytes")


def parse_limits(data: Mapping[str, Any]) -> Limits:
    """The limits file, checked: each figure a positive whole number of bytes that fits, with its
    request, in one gRPC message (otherwise a file both sides accept would fail between them)."""
    figures: dict[str, int] = {}
    for name in FIGURES:
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value:
            raise ValueError(f"{name} must be a positive number of bytes, not {value!r}")
        if value > MAX_MESSAGE - MESSAGE_HEADROOM:
            raise ValueError(f"{name} {value} does not fit a gRPC message of "
                             f"{MAX_MESSAGE} bytes with {MESSAGE_HEADROOM} bytes to spare")
        figures[name] = value
    return Limits(**figures)


@lru_cache(maxsize=1)
def limits() -> Limits:
    """The platform's limits (``data/limits.yaml``), read once."""
    return parse_limits(yaml.safe_load(DATA.read_text("utf-8")) or {})
