"""Registry use cases: authorise, load, decide (domain), store, record the event — one
transaction each.

Every function runs in a worker thread, inside the tenant scope set by the gRPC interceptors, and
takes keyword arguments only. Writes lock the rows they change (PostgreSQL) and never ride on a
read crossing (the ministry reads every tenant; it writes none of them). A refusal is always a
domain rule's decision (services/registry/domain) or the kernel's authorisation, never the use
case's own. Split by sub-domain: units, parks (members, suppliers), targets, plans, compliance
(records and the veto check); what listing's events do is in services/registry/events.py.
"""

from services.registry.handlers.compliance import (
    add_compliance_record,
    check_veto,
    end_compliance_record,
    import_compliance,
    list_compliance,
    must_be_vouched,
)
from services.registry.handlers.parks import (
    park_members,
    set_park_members,
    set_suppliers,
    suppliers,
)
from services.registry.handlers.plans import plan_view, publish_plan
from services.registry.handlers.targets import designate_target, list_targets
from services.registry.handlers.units import (
    find_units,
    get_unit,
    history,
    import_units,
    merge_units,
    register_unit,
    relocate_unit,
    rename_unit,
    set_ownership,
)

__all__ = [
    "add_compliance_record", "check_veto", "designate_target", "end_compliance_record",
    "find_units", "get_unit", "history", "import_compliance", "import_units", "list_compliance",
    "list_targets", "merge_units", "must_be_vouched", "park_members", "plan_view",
    "publish_plan", "register_unit", "relocate_unit", "rename_unit", "set_ownership",
    "set_park_members", "set_suppliers", "suppliers",
]
