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
        # One consumer for entry.added and entry.removed, so they apply in stream order: a
        # removal bars re-application for 3 years (SPEC §5 condition 3); additions drive
        # cultivation-plan progress. National lists' events act in the unit's own tenant.
        Subscription(name="registry-listing-entries", service="listing", event_type="entry.*",
                     handler=partial(handlers.on_listing_entry, rt),
                     route=handlers.listing_unit_tenant),
    ]
