"""Evaluation rules (评价, SPEC §4) free of I/O, by sub-domain:

- ``access``: who may act on an evaluation, and the figures every rule shares;
- ``drafts``: a new draft (engagement, independence, the scheme that fits the unit);
- ``values``: a value parsed, merged and scored;
- ``evidence``: an evidence file accepted or refused (sizes and types from ``data/evaluation.yaml``);
- ``levels``: the level an evaluation is for (it sets the pass mark);
- ``declarations``: a basic requirement declared met that the registry's records contradict;
- ``submission``: what a submission needs and its verdict;
- ``rescoring``: what a new scheme version makes of the data held.

Every function takes plain values or frozen facts (never a session or a stored row) and returns
a decision: a ``Refusal`` or None, a parsed value, a new frozen state. Malformed input raises
``DomainError`` at once.
"""

from services.evaluation.domain.access import (
    HIGHLIGHTS_MAX,
    OWN,
    PATHS,
    READ,
    REPORT_FORMATS,
    frozen,
    institution_may_act,
    institution_writes,
)
from services.evaluation.domain.declarations import (
    Contradiction,
    DeclarationRules,
    contradictions,
    declaration_rules,
    parse_declaration_rules,
    scored,
)
from services.evaluation.domain.drafts import (
    NewDraft,
    engagement_refusal,
    independence_refusal,
    new_draft,
    scheme_refusal,
)
from services.evaluation.domain.evidence import (
    EvidenceFile,
    EvidenceRules,
    EvidenceType,
    evidence_file,
    evidence_rules,
    parse_evidence_rules,
    unknown_indicator,
)
from services.evaluation.domain.levels import (
    LEVEL_NAMES,
    applied_level,
    level_refusal,
)
from services.evaluation.domain.rescoring import (
    Held,
    IndicatorChange,
    RescoreRow,
    carry,
    rescore,
)
from services.evaluation.domain.submission import (
    Verdict,
    highlights_refusal,
    institution_submit_refusal,
    parse_claimed,
    path_refusal,
    pledge_refusal,
    report_refusal,
    scored_live,
    verdict,
    verify_size_refusal,
)
from services.evaluation.domain.values import (
    PRODUCT_FIELDS,
    merge_values,
    parse_value,
    score,
    stored_value,
)

__all__ = [
    "HIGHLIGHTS_MAX",
    "PRODUCT_FIELDS",
    "LEVEL_NAMES",
    "OWN",
    "PATHS",
    "READ",
    "REPORT_FORMATS",
    "Contradiction",
    "DeclarationRules",
    "EvidenceFile",
    "EvidenceRules",
    "EvidenceType",
    "Held",
    "IndicatorChange",
    "NewDraft",
    "RescoreRow",
    "Verdict",
    "applied_level",
    "carry",
    "contradictions",
    "declaration_rules",
    "engagement_refusal",
    "evidence_file",
    "evidence_rules",
    "frozen",
    "highlights_refusal",
    "independence_refusal",
    "institution_may_act",
    "institution_submit_refusal",
    "institution_writes",
    "level_refusal",
    "merge_values",
    "new_draft",
    "parse_claimed",
    "parse_declaration_rules",
    "parse_evidence_rules",
    "parse_value",
    "path_refusal",
    "pledge_refusal",
    "report_refusal",
    "rescore",
    "scheme_refusal",
    "score",
    "scored",
    "scored_live",
    "stored_value",
    "unknown_indicator",
    "verdict",
    "verify_size_refusal",
]
