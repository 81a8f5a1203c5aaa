"""Evaluation rules (评价, SPEC §4) free of I/O: who may act on a draft, what a draft is made of,
how a value and an evidence file are accepted, what a submission needs, and re-scoring.

Every function takes plain values or frozen facts (never a session or a stored row) and returns
a decision: a ``Refusal`` or None, a parsed value, a new frozen state. Malformed input (a number
that is not one, a file that is not what it says) raises ``DomainError`` at once. Figures that
change by decision (evidence sizes and types) come from ``data/evaluation.yaml``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from services.evaluation import scoring
from services.evaluation.facts import EngagementStanding, UnitFact
from services.evaluation.schemes import Scheme
from services.kernel.errors import DomainError, Kind, Refusal, bounded, invalid
from services.kernel.identity import Grant
from services.kernel.uscc import parse_uscc

READ = ("enterprise", "city", "province", "ministry")   # who reads a unit's evaluations
OWN = ("enterprise",)                                    # who writes a self-evaluation (自评价)
PATHS = ("self", "institution")                          # 自评价 | 第三方机构评价
HIGHLIGHTS_MAX = 100                                     # 亮点: at most 100 characters
# 报告格式: what a report can be read as, and its content type
REPORT_FORMATS = {"json": "application/json", "html": "text/html; charset=utf-8",
                  "pdf": "application/pdf"}


# --- who may act on an evaluation -----------------------------------------------------------------


def institution_may_act(grants: Iterable[Grant], *, path: str, institution_uscc: str) -> bool:
    """An institution's evaluation is the engaged institution's own: one of its grants (usable
    in the tenant) acting for that USCC lets it read and write, whatever the unit's location."""
    return path == "institution" and any(
        g.role == "institution" and g.org == institution_uscc for g in grants)


def institution_writes(*, path: str, institution_uscc: str, write: bool) -> Refusal | None:
    """Nobody but the engaged institution changes an institution's evaluation — not even the
    unit's own enterprise, which may still read it."""
    if not write or path != "institution":
        return None
    return Refusal("evaluation.institution_writes", Kind.FORBIDDEN,
                   {"institution": institution_uscc})


def frozen(*, status: str, evaluation_id: str) -> Refusal | None:
    """A submitted evaluation is frozen: its values, evidence and report no longer change."""
    if status != "draft":
        return Refusal("evaluation.frozen", params={"evaluation_id": evaluation_id})
    return None


# --- a new draft ----------------------------------------------------------------------------------


def engagement_refusal(engagement: EngagementStanding | None, *,
                       assisted_by: str) -> Refusal | None:
    """An institution works only while its reports are accepted (不采信 stops it), and names no
    helper: "assisted by" belongs to a self-evaluation written with outside help."""
    if engagement is None:
        return None
    if not engagement.reports_accepted:
        return Refusal("evaluation.reports_not_accepted",
                       params={"institution": engagement.institution_uscc})
    if assisted_by:
        return Refusal("evaluation.assisted_by_self_only", Kind.INVALID)
    return None


def independence_refusal(engagement: EngagementStanding | None,
                         helpers: Iterable[str]) -> Refusal | None:
    """No institution evaluates a unit whose self-evaluation it, or one party with it (the same
    legal representative or parent: ``engagement.party``), helped write. ``helpers``: who the
    unit's self-evaluations say assisted them now; checked at create and again at submit."""
    if engagement is None:
        return None
    me = engagement.institution_uscc
    wrote = sorted({me, *engagement.party} & set(helpers), key=lambda u: (u != me, u))
    return Refusal("evaluation.wrote_self_evaluation", Kind.CONFLICT,
                   {"institution": me, "helper": wrote[0]}) if wrote else None


def scheme_refusal(scheme: Scheme, unit: UnitFact) -> Refusal | None:
    """A factory is evaluated under a factory scheme, a park under a park scheme."""
    if scheme.category == unit.kind:
        return None
    return Refusal("evaluation.scheme_category", Kind.INVALID,
                   {"scheme": scheme.id, "category": scheme.category, "kind": unit.kind})


@dataclass(frozen=True)
class NewDraft:
    """What a new draft is made of, decided before anything is stored."""

    unit: UnitFact
    scheme_id: str
    scheme_version: int                 # pinned: the draft is scored under this version only
    path: str
    institution_uscc: str
    engagement_id: str
    request_id: str                     # the caller's key: a retried create finds the draft
    assisted_by: str                    # USCC of whoever helped write a self-evaluation


def new_draft(*, unit: UnitFact, scheme: Scheme, engagement: EngagementStanding | None,
              request_id: str, assisted_by: str) -> NewDraft:
    """The draft to create; refuses a missing or over-long request id and a malformed USCC."""
    request_id = bounded(request_id, "request_id", 80)
    if not request_id:
        raise invalid("evaluation.request_id_required")
    return NewDraft(
        unit=unit, scheme_id=scheme.id, scheme_version=scheme.version,
        path="self" if engagement is None else "institution",
        institution_uscc=engagement.institution_uscc if engagement else "",
        engagement_id=engagement.id if engagement else "", request_id=request_id,
        assisted_by=parse_uscc(assisted_by).code if assisted_by else "")


# --- values ---------------------------------------------------------------------------------------


def parse_value(indicator_id: str, *, amount: str, unit: str, option: str, met: bool | None,
                yearly: Sequence[str]) -> dict[str, Any]:
    """One value from a caller, in the form it is stored; its type is checked by the scorer."""
    for number in [amount, *yearly]:
        if number:
            try:
                Decimal(number)
            except InvalidOperation:
                raise invalid("value.not_a_number", id=indicator_id, value=number) from None
    if yearly:
        return {"yearly": list(yearly), "unit": unit}
    if amount:
        return {"amount": amount, "unit": unit}
    if option:
        return {"option": option}
    if met is not None:
        return {"met": met}
    return {}


def stored_value(value: Mapping[str, Any]) -> scoring.Value:
    """A stored value as the scorer takes it."""
    if "yearly" in value:
        return scoring.Yearly(value["yearly"], value.get("unit", ""))
    if "amount" in value:
        return scoring.Quantity(value["amount"], value.get("unit", ""))
    if "option" in value:
        return value["option"]
    return value.get("met")


def merge_values(held: Mapping[str, dict], declared: Mapping[str, bool], *,
                 values: Mapping[str, dict],
                 basic: Mapping[str, bool]) -> tuple[dict[str, dict], dict[str, bool]]:
    """A draft's values and basic-requirement declarations after a change: new ones replace
    old ones, an empty value clears its indicator."""
    merged = {k: v for k, v in {**held, **values}.items() if v}
    return merged, {**declared, **basic}


def score(scheme: Scheme, values: Mapping[str, Mapping[str, Any]],
          basic: Mapping[str, bool]) -> scoring.Result:
    """Stored values scored under ``scheme``; refuses a value the scheme cannot take."""
    return scoring.score(scheme, {k: stored_value(v) for k, v in values.items()}, basic=basic)


# --- evidence (证明材料) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceType:
    extensions: tuple[str, ...]
    magic: tuple[bytes, ...]            # a file of this type starts with one of these


@dataclass(frozen=True)
class EvidenceRules:
    max_bytes: int
    types: Mapping[str, EvidenceType]   # content type → how it is recognised


def parse_evidence_rules(data: Mapping[str, Any]) -> EvidenceRules:
    """The ``evidence`` part of ``data/evaluation.yaml``."""
    return EvidenceRules(
        max_bytes=int(data["max_bytes"]),
        types={name: EvidenceType(tuple(t["extensions"]),
                                  tuple(m.encode("latin-1") for m in t["magic"]))
               for name, t in data["types"].items()})


@lru_cache(maxsize=1)
def evidence_rules() -> EvidenceRules:
    return parse_evidence_rules(yaml.safe_load(
        (Path(__file__).parent / "data" / "evaluation.yaml").read_text("utf-8"))["evidence"])


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


# --- submission -----------------------------------------------------------------------------------


def institution_submit_refusal(standing: EngagementStanding | None, *, preparer: str,
                               reviewer: str, claimed_total: str) -> Refusal | None:
    """An institution's report (第三方机构评价报告) is accepted only while its reports are
    (采信), and names a preparer (编制人) and a reviewer (审核人) and its own claimed score."""
    if standing is None:
        return None
    if not standing.reports_accepted:
        return Refusal("evaluation.reports_not_accepted",
                       params={"institution": standing.institution.uscc})
    for key, value in (("preparer", preparer), ("reviewer", reviewer),
                       ("claimed_total", claimed_total)):
        if not value.strip():
            return Refusal("evaluation.institution_requires", Kind.INVALID, {"field": key})
    return None


def parse_claimed(claimed_total: str) -> Decimal | None:
    """The institution's own total, if one is given; refuses one that is not a number."""
    if not claimed_total.strip():
        return None
    try:
        return Decimal(claimed_total)
    except InvalidOperation:
        raise invalid("value.not_a_number", id="claimed_total", value=claimed_total) from None


def path_refusal(*, path: str, engaged: bool, evaluation_id: str) -> Refusal | None:
    """An institution's evaluation is submitted under its engagement, a self-evaluation without."""
    if (path == "institution") == engaged:
        return None
    return Refusal("evaluation.engagement_required", params={"evaluation_id": evaluation_id})


def highlights_refusal(highlights: str) -> Refusal | None:
    """亮点 are at most 100 characters (after trimming)."""
    length = len(highlights.strip())
    if length > HIGHLIGHTS_MAX:
        return Refusal("report.highlights_too_long", Kind.INVALID,
                       {"max": HIGHLIGHTS_MAX, "length": length})
    return None


def pledge_refusal(pledge: bool) -> Refusal | None:
    """No report without the integrity pledge (诚信承诺)."""
    if pledge is not True:
        return Refusal("report.pledge_required", Kind.INVALID)
    return None


@dataclass(frozen=True)
class Verdict:
    """What a submission stores and announces: the platform's total and the conclusion."""

    total: Decimal
    passed: bool
    vetoed: bool
    claimed_total: str                  # the institution's own total, "" on the self path
    deviation: str                      # claimed − platform, "" without a claim


def verdict(result: scoring.Result, *, veto_applies: bool, claimed: Decimal | None) -> Verdict:
    """A basic requirement not met or a registry veto (否决条件) fails the evaluation whatever
    its score."""
    vetoed = result.vetoed or veto_applies
    return Verdict(total=result.total, passed=result.passed and not vetoed, vetoed=vetoed,
                   claimed_total="" if claimed is None else str(claimed),
                   deviation="" if claimed is None else str(claimed - result.total))


def report_refusal(*, status: str, evaluation_id: str, fmt: str) -> Refusal | None:
    """A report exists once the evaluation is submitted, as JSON, HTML or PDF."""
    if status != "submitted":
        return Refusal("evaluation.not_submitted", params={"evaluation_id": evaluation_id})
    return None if fmt in REPORT_FORMATS else Refusal(
        "report.format", Kind.INVALID, {"value": fmt, "allowed": "json/html/pdf"})


# --- re-scoring under a new version ---------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """A submitted evaluation's data as held: what re-scoring starts from."""

    evaluation_id: str
    unit_id: str
    scheme_version: int
    values: Mapping[str, Mapping[str, Any]]
    basic: Mapping[str, bool]
    result: Mapping[str, Any]           # the result as stored at submission (scoring.result_dict)
    vetoed: bool


@dataclass(frozen=True)
class IndicatorChange:
    indicator_id: str
    old_points: str
    new_points: str
    fell: bool                          # fewer points than before


@dataclass(frozen=True)
class RescoreRow:
    evaluation_id: str
    unit_id: str
    from_version: int
    old_total: str
    new_total: str
    old_passed: bool
    new_passed: bool
    now_below_mark: bool
    changes: tuple[IndicatorChange, ...]
    not_carried: tuple[str, ...]


def carry(scheme: Scheme,
          values: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, scoring.Value], list[str]]:
    """The held values the new version can take; the others are named, not guessed."""
    carried: dict[str, scoring.Value] = {}
    dropped: list[str] = []
    for indicator_id, value in sorted(values.items()):
        if scoring.accepts(scheme, indicator_id, stored_value(value)):
            carried[indicator_id] = stored_value(value)
        else:
            dropped.append(indicator_id)
    return carried, dropped


def rescore(new: Scheme, held: Held) -> RescoreRow:
    """``held`` scored again under ``new``, and, indicator by indicator, what moved. A veto
    held stays: re-scoring changes points, not the registry's findings."""
    carried, dropped = carry(new, held.values)
    requirements = {r.id for r in new.basic_requirements}
    result = scoring.score(new, carried,
                           basic={k: v for k, v in held.basic.items() if k in requirements})
    before = {line["id"]: Decimal(line["points"]) for line in held.result["indicators"]}
    changes = tuple(
        IndicatorChange(indicator_id=line.id, old_points=str(before.get(line.id, Decimal(0))),
                        new_points=str(line.points),
                        fell=line.points < before.get(line.id, Decimal(0)))
        for line in result.indicators if line.points != before.get(line.id, Decimal(0)))
    passed_before = bool(held.result["passed"]) and not held.vetoed
    passed_now = result.passed and not held.vetoed
    return RescoreRow(evaluation_id=held.evaluation_id, unit_id=held.unit_id,
                      from_version=held.scheme_version, old_total=held.result["total"],
                      new_total=str(result.total), old_passed=passed_before,
                      new_passed=passed_now, now_below_mark=passed_before and not passed_now,
                      changes=changes, not_carried=tuple(dropped))
