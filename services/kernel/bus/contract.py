"""The event contract: what each service publishes, message class → type name.

Publisher and consumers need the same contract — the publisher to name what it records, a
consumer to check that an envelope's type and its body agree before it applies anything — and no
service imports another, so the contract lives here, beside the protobuf messages it names. A
service's ``events.py`` takes its own catalogue from here as ``PUBLISHES``.

Streams are kept forever: a type never changes its meaning, and a message that an older version
recorded under a type stays listed under ``formerly`` so its events are still recognised.
"""

from __future__ import annotations

from generated.events.v1 import events_pb2 as ev
from services.kernel.bus.events import Catalogue

REGISTRY = Catalogue(
    "registry",
    {
        ev.UnitRegistered: "unit.registered",
        ev.UnitRenamed: "unit.renamed",
        ev.UnitRelocated: "unit.relocated",
        ev.UnitsMerged: "unit.merged",
        ev.UnitOwnershipDeclared: "unit.ownership_declared",
        ev.ComplianceRecorded: "compliance.recorded",
        ev.ComplianceEnded: "compliance.ended",
        ev.TargetDesignated: "target.designated",
        ev.ParkMemberJoined: "park.member_joined",
        ev.ParkMemberLeft: "park.member_left",
        ev.SuppliersChanged: "supplier.list_changed",
        ev.PlanPublished: "plan.published",
    },
    # Until 2026-11 both park events carried one message with a ``joined`` flag.
    formerly={ev.ParkMembershipChanged: ("park.member_joined", "park.member_left")},
)

EVALUATION = Catalogue(
    "evaluation",
    {
        ev.EvaluationSubmitted: "evaluation.submitted",
        ev.EvaluationScored: "evaluation.scored",
    },
)

INSTITUTIONS = Catalogue(
    "institutions",
    {
        ev.InstitutionRegistered: "institution.registered",
        ev.InstitutionVerified: "institution.verified",
        ev.InstitutionSanctioned: "institution.sanctioned",
        ev.FilingChanged: "filing.changed",
        ev.EngagementAccepted: "engagement.accepted",
        ev.EngagementCancelled: "engagement.cancelled",
        ev.WorkReportSubmitted: "work_report.submitted",
    },
)

# Heard already by registry and institutions; published once the listing service exists.
LISTING = Catalogue(
    "listing",
    {
        ev.EntryAdded: "entry.added",
        ev.EntryRemoved: "entry.removed",
    },
)

# The gateway's own events (its national outbox): account sessions that ended. Every service
# follows them from the kernel (``services/kernel/revocations.py``, decision 0009).
GATEWAY = Catalogue(
    "gateway",
    {
        ev.SessionsRevoked: "sessions.revoked",
    },
)

CATALOGUES: dict[str, Catalogue] = {c.service: c for c in (REGISTRY, EVALUATION, INSTITUTIONS,
                                                             LISTING, GATEWAY)}
