"""Domain errors and their messages, in one place.

A `DomainError` carries a stable code (``uscc.checksum``), a kind that fixes its gRPC and HTTP
status, and parameters. Its human message is rendered from a catalogue (``messages.yaml`` files,
one per service plus the kernel's) in the caller's language: zh-CN by default, English on request.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
import yaml

T = TypeVar("T")


class Kind(enum.Enum):
    """What kind of refusal; fixes the gRPC status and the HTTP status."""

    INVALID = (grpc.StatusCode.INVALID_ARGUMENT, 422)
    NOT_FOUND = (grpc.StatusCode.NOT_FOUND, 404)
    CONFLICT = (grpc.StatusCode.ALREADY_EXISTS, 409)
    PRECONDITION = (grpc.StatusCode.FAILED_PRECONDITION, 409)
    UNAUTHENTICATED = (grpc.StatusCode.UNAUTHENTICATED, 401)
    FORBIDDEN = (grpc.StatusCode.PERMISSION_DENIED, 403)
    TOO_LARGE = (grpc.StatusCode.RESOURCE_EXHAUSTED, 413)
    RATE_LIMITED = (grpc.StatusCode.RESOURCE_EXHAUSTED, 429)
    UNAVAILABLE = (grpc.StatusCode.UNAVAILABLE, 503)
    INTERNAL = (grpc.StatusCode.INTERNAL, 500)

    @property
    def grpc_status(self) -> grpc.StatusCode:
        return self.value[0]

    @property
    def http_status(self) -> int:
        return self.value[1]


_GRPC_TO_KIND = {
    grpc.StatusCode.INVALID_ARGUMENT: Kind.INVALID,
    grpc.StatusCode.NOT_FOUND: Kind.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS: Kind.CONFLICT,
    grpc.StatusCode.FAILED_PRECONDITION: Kind.PRECONDITION,
    grpc.StatusCode.UNAUTHENTICATED: Kind.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED: Kind.FORBIDDEN,
    grpc.StatusCode.RESOURCE_EXHAUSTED: Kind.RATE_LIMITED,
    grpc.StatusCode.UNAVAILABLE: Kind.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: Kind.UNAVAILABLE,
}


def kind_of_status(code: grpc.StatusCode) -> Kind:
    return _GRPC_TO_KIND.get(code, Kind.INTERNAL)


class DomainError(Exception):
    """A refusal the caller can understand and fix. ``code`` keys the message catalogue."""

    def __init__(self, code: str, kind: Kind = Kind.INVALID, /, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.kind = kind
        self.params = params

    def message(self, lang: str = "zh") -> str:
        return render(self.code, lang, **self.params)

    def __str__(self) -> str:
        return f"{self.code} {self.params}" if self.params else self.code


def invalid(code: str, /, **params: Any) -> DomainError:
    return DomainError(code, Kind.INVALID, **params)


def not_found(code: str, /, **params: Any) -> DomainError:
    return DomainError(code, Kind.NOT_FOUND, **params)


def precondition(code: str, /, **params: Any) -> DomainError:
    return DomainError(code, Kind.PRECONDITION, **params)


def forbidden(code: str, /, **params: Any) -> DomainError:
    return DomainError(code, Kind.FORBIDDEN, **params)


def conflict(code: str, /, **params: Any) -> DomainError:
    return DomainError(code, Kind.CONFLICT, **params)


@dataclass(frozen=True)
class Refusal:
    """A domain rule's "no", as a value: returned by a decision function, raised by ``refuse``."""

    code: str
    kind: Kind = Kind.PRECONDITION
    params: Mapping[str, Any] = field(default_factory=dict)

    def error(self) -> DomainError:
        return DomainError(self.code, self.kind, **self.params)


def refuse(refusal: Refusal | None) -> None:
    """Raise the refusal a decision returned; nothing when it returned none."""
    if refusal is not None:
        raise refusal.error()


def decided(decision: T | Refusal) -> T:
    """What a rule decided — a new state or value — or the refusal it returned, raised."""
    if isinstance(decision, Refusal):
        raise decision.error()
    return decision


def found(value: T | None, code: str, /, **params: Any) -> T:
    """A loaded record, or the not-found refusal named by ``code``."""
    if value is None:
        raise DomainError(code, Kind.NOT_FOUND, **params)
    return value


def bounded(value: str, field: str, limit: int) -> str:
    """A caller's text, stripped, or a refusal when it is longer than its column."""
    value = value.strip()
    if len(value) > limit:
        raise invalid("text.too_long", field=field, max=limit, length=len(value))
    return value


NUL = "\x00"
YEARS = (1949, 2199)  # the years any date of the platform may fall in (``date.out_of_range``)
INT32_MAX = 2**31 - 1
MAX_VERSION = 9999  # a scheme's (or any versioned rule set's) version number


def nul_refusal(value: str, field: str) -> Refusal | None:
    """A caller's text may not hold a NUL character: PostgreSQL cannot store one, and no field of
    the platform means one. Refused alike on every storage."""
    if NUL in value:
        return Refusal("text.nul", Kind.INVALID, {"field": field})
    return None


def range_refusal(value: int, field: str, low: int, high: int, *,
                  zero_means_default: bool = False) -> Refusal | None:
    """An integer outside ``low..high`` (0 allowed too when it means "the default")."""
    if (zero_means_default and value == 0) or low <= value <= high:
        return None
    return Refusal("number.out_of_range", Kind.INVALID,
                   {"field": field, "value": value, "min": low, "max": high})


def year_refusal(value: int, field: str = "year", *, zero_means_default: bool = False,
                 low: int = YEARS[0], high: int = YEARS[1]) -> Refusal | None:
    """A year the platform can hold (its dates run 1949–2199)."""
    return range_refusal(value, field, low, high, zero_means_default=zero_means_default)


# --- message catalogue -------------------------------------------------------------------------

_CATALOGUE: dict[str, dict[str, str]] = {}


def load_messages(path: Path) -> None:
    """Add a ``messages.yaml`` (code → {zh, en}) to the catalogue. Later files may not redefine."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for code, texts in data.items():
        if code in _CATALOGUE and _CATALOGUE[code] != texts:
            raise ValueError(f"message {code!r} defined twice ({path})")
        if not isinstance(texts, dict) or not {"zh", "en"} <= texts.keys():
            raise ValueError(f"message {code!r} in {path} needs both zh and en")
        _CATALOGUE[code] = texts


def language(accept_language: str | None) -> str:
    """``Accept-Language`` → ``zh`` or ``en``. zh-CN unless English is preferred over Chinese."""
    if not accept_language:
        return "zh"
    best, best_q = "zh", -1.0
    for part in accept_language.split(","):
        tag, *options = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for option in options:
            name, _, value = option.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
        lang = tag.lower()[:2]
        if lang in ("zh", "en") and weight > best_q:
            best, best_q = lang, weight
    return best


def render(code: str, lang: str = "zh", **params: Any) -> str:
    texts = _CATALOGUE.get(code)
    if texts is None:
        return code if not params else f"{code}: {params}"
    template = texts.get(lang) or texts["zh"]
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


for _path in sorted(Path(__file__).parent.glob("messages*.yaml")):
    load_messages(_path)
