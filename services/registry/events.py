"""What the registry hears. What it publishes is written by handlers through ``Runtime.record``:
unit.registered / renamed / relocated / merged, compliance.recorded, target.designated,
park.member_joined / member_left, supplier.list_changed, plan.published.
"""

from __future__ import annotations

from functools import partial

from services.kernel.bus import Subscription
from services.kernel.service import Runtime
from services.registry import handlers


def subscriptions(rt: Runtime) -> list[Subscription]:
    return [
        # A unit removed from a list may not re-apply for 3 years (SPEC §5 condition 3).
        Subscription(name="registry-entry-removed", service="listing", event_type="entry.removed",
                     handler=partial(handlers.on_entry_removed, rt)),
        # Cultivation-plan progress: which named units became green factories, at which level.
        Subscription(name="registry-entry-added", service="listing", event_type="entry.added",
                     handler=partial(handlers.on_entry_added, rt)),
    ]
