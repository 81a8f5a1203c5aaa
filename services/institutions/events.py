"""What the institutions service publishes (all of it into the national chain, where its records
are), what it hears (ARCHITECTURE §5), and the consumers of what it hears."""

from __future__ import annotations

from sqlmodel import Session

from generated.events.v1 import events_pb2 as ev
from services.institutions import domain, store
from services.institutions.domain import NATIONAL
from services.kernel import clock
from services.kernel.bus import Event, Subscription, contract
from services.kernel.errors import found
from services.kernel.runtime import Runtime

# Its part of the event contract, kept in the kernel beside the messages (decision 0006).
PUBLISHES = contract.INSTITUTIONS


# --- events heard ---------------------------------------------------------------------------------


def on_evaluation_scored(rt: Runtime, session: Session, event: Event[ev.EvaluationScored]) -> None:
    """An institution's evaluation was scored: its claimed score and the deviation complete the
    engagement. An engagement cancelled meanwhile was in fact carried out: it is completed and
    counted again. Self-evaluations concern no institution. A score from another province, or
    naming another institution, touches nothing (engagement.not_found)."""
    scored = event.body
    if not scored.engagement_id:
        return
    e = store.engagement(session=session, engagement_id=scored.engagement_id, for_update=True)
    ours = (e is not None and e.unit_tenant == event.tenant
            and e.institution_uscc == scored.institution_uscc)
    e = found(e if ours else None, "engagement.not_found", engagement_id=scored.engagement_id)
    effect = domain.score_effect(e.status, e.counted)
    if not effect.complete:
        return  # one evaluation per engagement; it is recorded already
    if effect.retake_place:
        row = store.lock_counter(session=session, legal_rep_key=e.legal_rep_key, year=e.year)
        row.used += 1
        session.add(row)
    e.status, e.evaluation_id = "completed", scored.evaluation_id
    e.claimed_total, e.platform_total, e.deviation = (scored.claimed_total, scored.total,
                                                      scored.deviation)
    session.add(e)


def on_entry_removed(rt: Runtime, session: Session, event: Event[ev.EntryRemoved]) -> None:
    """A unit left a list: it counts against the institutions that evaluated it before."""
    removed = event.body
    tenant = removed.unit_tenant or event.tenant
    day = clock.optional_day(removed.decided_on, "decided_on") or clock.today()
    row = session.get(store.UnitRemoval, (tenant, removed.unit_id))
    if row is None:
        session.add(store.UnitRemoval(unit_tenant=tenant, unit_id=removed.unit_id, removed_on=day))
        return
    earliest = domain.removal_day(row.removed_on, day)
    if earliest != row.removed_on:
        row.removed_on = earliest
        session.add(row)


def to_national(_event: Event[ev.EntryRemoved]) -> str:
    """Removals act on the national registry of institutions."""
    return NATIONAL


def scored_to_national(event: Event[ev.EvaluationScored]) -> str:
    """An institution's evaluation acts on the national registry; a self-evaluation stays home
    (its consumer records it as seen, nothing else)."""
    return NATIONAL if event.body.engagement_id else event.tenant


SUBSCRIPTIONS = [
    # The claimed score and its deviation complete an engagement (crossing
    # evaluation_score_to_institution_record).
    Subscription(name="institutions-evaluation-scored", service="evaluation",
                 event_type="evaluation.scored",
                 handlers={ev.EvaluationScored: on_evaluation_scored},
                 route=scored_to_national),
    # Units removed after an institution evaluated them count in its track record.
    Subscription(name="institutions-entry-removed", service="listing",
                 event_type="entry.removed",
                 handlers={ev.EntryRemoved: on_entry_removed},
                 route=to_national),
]
