"""What the evaluation service publishes (ARCHITECTURE §5). It hears nothing yet."""

from __future__ import annotations

from generated.events.v1 import events_pb2 as ev
from services.kernel.bus import Catalogue

PUBLISHES = Catalogue("evaluation", {
    ev.EvaluationSubmitted: "evaluation.submitted",
    ev.EvaluationScored: "evaluation.scored",
})
