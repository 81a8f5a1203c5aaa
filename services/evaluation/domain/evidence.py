"""Evidence (证明材料): the accepted types and sizes, and a file accepted or refused."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from services.evaluation.schemes import Scheme
from services.kernel.errors import DomainError, Kind, Refusal, bounded, invalid
from services.kernel.limits import limits

# --- evidence (证明材料) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceType:
    extensions: tuple[str, ...]
    magic: tuple[bytes, ...]            # a file of this type starts with one of these


@dataclass(frozen=True)
class EvidenceRules:
    max_bytes: int
    types: Mapping[str, EvidenceType]   # content type → how it is recognised


def parse_evidence_rules(data: Mapping[str, Any], *, max_bytes: int) -> EvidenceRules:
    """The ``evidence`` part of ``data/evaluation.yaml`` (the accepted types), with the size
    limit per file: the platform's one evidence figure, which the gateway's upload route reads
    too (``services/kernel/data/limits.yaml``)."""
    return EvidenceRules(
        max_bytes=max_bytes,
        types={name: EvidenceType(tuple(t["extensions"]),
                                  tuple(m.encode("latin-1") for m in t["magic"]))
               for name, t in data["types"].items()})


@lru_cache(maxsize=1)
def evidence_rules() -> EvidenceRules:
    return parse_evidence_rules(yaml.safe_load(
        (Path(__file__).parents[1] / "data" / "evaluation.yaml").read_text("utf-8"))["evidence"],
        max_bytes=limits().evidence_max_bytes)


@dataclass(frozen=True)
class EvidenceFile:
    """An accepted file: stored once by its sha256, however many indicators it backs."""

    sha256: str
    size: int
    filename: str
    content_type: str


def evidence_file(*, filename: str, content_type: str, content: bytes,
                  limits: EvidenceRules) -> EvidenceFile:
    """Accept a file that is not empty, not too large, of an allowed type by its name and by its
    first bytes (a renamed executable is not a PDF)."""
    if not content:
        raise invalid("evidence.empty")
    if len(content) > limits.max_bytes:
        raise DomainError("evidence.too_large", Kind.TOO_LARGE, size=len(content),
                          max=limits.max_bytes)
    filename = bounded(filename, "filename", 200)
    kind = limits.types.get(content_type)
    if kind is None or not filename.lower().endswith(kind.extensions):
        raise invalid("evidence.type", content_type=content_type, filename=filename,
                      allowed=", ".join(sorted(limits.types)))
    if not any(content.startswith(magic) for magic in kind.magic):
        raise invalid("evidence.content_mismatch", content_type=content_type)
    return EvidenceFile(sha256=hashlib.sha256(content).hexdigest(), size=len(content),
                        filename=filename, content_type=content_type)


def unknown_indicator(scheme: Scheme, indicator_id: str) -> Refusal | None:
    """Evidence backs an indicator of the pinned scheme version, nothing else."""
    if indicator_id in {i.id for _, i in scheme.indicators()}:
        return None
    return Refusal("value.unknown_indicator", Kind.INVALID,
                   {"scheme": f"{scheme.id} v{scheme.version}", "id": indicator_id})
