"""Who may act on an evaluation, and the figures every rule shares."""

from __future__ import annotations

from collections.abc import Iterable

from services.kernel.errors import Kind, Refusal
from services.kernel.identity import Grant

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
