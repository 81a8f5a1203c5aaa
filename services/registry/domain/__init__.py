"""Registry rules (SPEC §3, §5): pure, no I/O beyond reading the rule files once.

Units of three kinds and what may happen to them (``units``), parks, supply chains, cultivation
targets (培育对象) and plans (``parks``), compliance records and the veto check (``compliance``),
and who may act (``access``). Every function takes plain values or frozen dataclasses and returns
a value, a new state, or a ``Refusal``; malformed input raises ``DomainError``.
"""

from services.registry.domain.access import (
    NO_ENGAGEMENT,
    OFFICIAL,
    READ,
    WRITE,
    Engagement,
    answers_engagement,
    engaged,
    must_be_vouched,
)
from services.registry.domain.compliance import (
    WITHHELD,
    Fact,
    Record,
    VetoOutcome,
    check_record,
    check_veto,
    condition_code,
    condition_title,
    end_record,
    fingerprint,
    in_the_future,
    months_between,
    record_applies,
    redacts_others,
    restated,
)
from services.registry.domain.parks import (
    MembershipChange,
    NewTarget,
    PlanLine,
    Supplier,
    check_level,
    check_plan_year,
    designate,
    highest_level,
    membership_change,
    not_a_member,
    not_a_park,
    not_a_supply_chain,
    plan_lines,
    supplier,
    supplier_list,
    target_validity,
)
from services.registry.domain.rules import (
    DATA,
    KINDS,
    LEVELS,
    KindRule,
    VetoRules,
    industry_divisions,
    rules,
    veto_rules,
)
from services.registry.domain.units import (
    MergeDecision,
    NewUnit,
    Ownership,
    UnitQuery,
    UnitState,
    check_industry,
    check_kind,
    check_name,
    declare_ownership,
    legal_representative,
    merge,
    merging_itself,
    new_site,
    new_unit,
    outside_tenant,
    ownership_line,
    page_after,
    relocate,
    rename,
    share_value,
    unit_query,
    uscc_reference,
)

__all__ = [
    "DATA", "KINDS", "LEVELS", "NO_ENGAGEMENT", "OFFICIAL", "READ", "WITHHELD", "WRITE",
    "Engagement", "Fact", "KindRule", "MembershipChange", "MergeDecision", "NewTarget",
    "NewUnit", "Ownership", "PlanLine", "Record", "Supplier", "UnitQuery", "UnitState",
    "VetoOutcome", "VetoRules", "answers_engagement", "check_industry", "check_kind",
    "check_level", "check_name", "check_plan_year", "check_record", "check_veto",
    "condition_code", "condition_title", "declare_ownership", "designate", "end_record",
    "engaged", "fingerprint", "highest_level", "in_the_future", "industry_divisions",
    "legal_representative", "membership_change", "merge", "merging_itself", "months_between",
    "must_be_vouched", "new_site", "new_unit", "not_a_member", "not_a_park",
    "not_a_supply_chain", "outside_tenant", "ownership_line", "page_after", "plan_lines",
    "record_applies", "redacts_others", "relocate", "rename", "restated", "rules",
    "share_value", "supplier", "supplier_list", "target_validity", "unit_query",
    "uscc_reference", "veto_rules",
]
