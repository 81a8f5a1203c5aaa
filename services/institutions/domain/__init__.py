"""Rules for third-party evaluation institutions (第三方评价机构, SPEC §9), free of I/O.

Each rule takes plain values or frozen dataclasses and returns a decision: a ``Refusal`` or None,
a new status, or a parsed value object (malformed input raises ``DomainError``). Figures come
from ``data/institutions.yaml``. By sub-domain:

- ``ruleset``: the rules file and the refusals all sub-domains share;
- ``profiles``: the profile, staffing and experience, verification, who sees an institution;
- ``engagements``: independence, the national cap, cancelling, who sees an engagement;
- ``sanctions``: filings, sanctions in force and deciding one;
- ``reports``: annual work reports and the track record.
"""

from services.institutions.domain.engagements import (
    Candidate,
    EngagementParties,
    Party,
    ScoreEffect,
    UnitFact,
    active_refusal,
    cancel_refusal,
    cap_refusal,
    counts_toward_cap,
    engagement_access_refusal,
    engagement_refusal,
    independence,
    level_refusal,
    one_party,
    ownership_refusal,
    released,
    same_party,
    score_effect,
)
from services.institutions.domain.profiles import (
    Experience,
    Finding,
    Profile,
    StaffMember,
    findings,
    findings_of,
    is_public,
    registration_refusal,
    shows_staff,
    staff_counts,
    staff_of,
    status_after_update,
    verification_refusal,
    visibility_refusal,
)
from services.institutions.domain.reports import (
    Project,
    WorkReportDraft,
    is_late,
    overdue,
    removal_day,
    track_record,
    work_report_due,
    work_report_refusal,
)
from services.institutions.domain.ruleset import (
    NATIONAL,
    Rules,
    crossing_refusal,
    national_only,
    parse_rules,
    required,
    rules,
    uscc_field,
)
from services.institutions.domain.sanctions import (
    SanctionTerm,
    accepts_reports,
    checked_period,
    filing_refusal,
    in_force,
    reports_accepted,
    sanction_kind_refusal,
    sanction_period,
    sanction_scope_refusal,
    status_after_sanction,
)

__all__ = [
    "NATIONAL", "Candidate", "EngagementParties", "Experience", "Finding", "Party", "Profile",
    "Project", "Rules", "SanctionTerm", "ScoreEffect", "StaffMember", "UnitFact",
    "WorkReportDraft", "accepts_reports", "active_refusal", "cancel_refusal", "cap_refusal",
    "checked_period", "counts_toward_cap", "crossing_refusal", "engagement_access_refusal", "engagement_refusal",
    "filing_refusal", "findings", "findings_of", "in_force", "independence", "is_late",
    "is_public", "level_refusal", "national_only", "one_party", "overdue", "ownership_refusal",
    "parse_rules", "registration_refusal", "released", "removal_day", "reports_accepted",
    "required", "rules", "same_party", "sanction_kind_refusal", "sanction_period",
    "sanction_scope_refusal", "score_effect", "shows_staff", "staff_counts", "staff_of",
    "status_after_sanction", "status_after_update", "track_record", "uscc_field",
    "verification_refusal", "visibility_refusal", "work_report_due", "work_report_refusal",
]
