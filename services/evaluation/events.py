"""What the evaluation service publishes (ARCHITECTURE §5). It hears nothing yet."""

from __future__ import annotations

from services.kernel.bus import contract

# Its part of the event contract, kept in the kernel beside the messages (decision 0006).
PUBLISHES = contract.EVALUATION
