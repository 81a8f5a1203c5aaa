"""What the institutions service hears. What it publishes is written by handlers through
``Runtime.record`` into the national chain: institution.registered / verified / sanctioned,
filing.changed, engagement.accepted / cancelled, work_report.submitted.
"""

from __future__ import annotations

from services.institutions import handlers
from services.kernel.bus import Subscription
from services.kernel.service import Runtime


def subscriptions(_rt: Runtime) -> list[Subscription]:
    return [
        # The claimed score and its deviation complete an engagement (crossing
        # evaluation_score_to_institution_record).
        Subscription(name="institutions-evaluation-scored", service="evaluation",
                     event_type="evaluation.scored", handler=handlers.on_evaluation_scored,
                     route=handlers.scored_to_national),
        # Units removed after an institution evaluated them count in its track record.
        Subscription(name="institutions-entry-removed", service="listing",
                     event_type="entry.removed", handler=handlers.on_entry_removed,
                     route=handlers.to_national),
    ]
