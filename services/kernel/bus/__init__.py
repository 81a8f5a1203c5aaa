"""Events over NATS JetStream (ARCHITECTURE §5), in five parts:

- ``contract``: what each service publishes, message class → type (a ``Catalogue`` each).
- ``events``: typed events — ``Catalogue``, and what a consumer receives (``Event``).
- ``outbox``: the outbox, chain head and inbox tables; ``record_event`` appends to the tenant's
  hash chain inside the business transaction; ``verify_chain`` walks it.
- ``relay``: publishes the outbox, woken on commit.
- ``authentic``: envelopes signed by the emitting service, verified before they are applied.
- ``consumer``: durable pull consumers; every envelope authenticated, checked against the contract,
  dispatched by message class, effect and inbox row in one transaction, bounded redelivery, dead
  letters.
"""

from services.kernel.bus.authentic import Unauthentic, authenticate
from services.kernel.bus.consumer import Consumer, Handler, Subscription
from services.kernel.bus.events import Catalogue, Event, unpack
from services.kernel.bus.outbox import ChainCheck, ChainHead, Inbox, Outbox, record_event, verify_chain
from services.kernel.bus.relay import Relay
from services.kernel.bus.streams import (
    connect,
    dead_letter_subject,
    ensure_dead_letter_stream,
    ensure_stream,
    format2_from,
    record_format2,
    stream_name,
    subject,
)

__all__ = [
    "Catalogue", "ChainCheck", "ChainHead", "Consumer", "Event", "Handler", "Inbox", "Outbox",
    "Relay", "Subscription", "Unauthentic", "authenticate", "format2_from", "record_format2", "connect", "dead_letter_subject", "ensure_dead_letter_stream",
    "ensure_stream", "record_event", "stream_name", "subject", "unpack", "verify_chain",
]
