"""Submission (提交): what it needs, the verdict, the score a submitted evaluation answers, which
reports can be read, and what a report to verify may be."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from services.evaluation import scoring
from services.evaluation.domain.access import HIGHLIGHTS_MAX, REPORT_FORMATS
from services.evaluation.facts import EngagementStanding
from services.kernel.errors import Kind, Refusal, invalid
from services.kernel.limits import limits

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


def scored_live(*, status: str) -> bool:
    """A draft's score is computed as its data stand now, against the registry's veto check of
    today; a submitted evaluation's is the one kept at submission (``result_json``), never
    computed again — its engagement may have ended, its unit's records changed since."""
    return status == "draft"


def verify_size_refusal(size: int) -> Refusal | None:
    """A report file to verify is at most the platform's figure (kernel ``data/limits.yaml``,
    which the gateway's verify route reads too)."""
    most = limits().report_verify_max_bytes
    if size > most:
        return Refusal("report.too_large", Kind.TOO_LARGE, {"size": size, "max": most})
    return None
