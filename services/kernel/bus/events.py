"""Typed events: the message class names the event.

A service declares what it publishes in a ``Catalogue`` (message class → type name, the last
part of the subject ``gl.<tenant>.<service>.<type>``), so recording an event needs only its
message. A consumer receives an ``Event`` — the verified envelope and its body already unpacked
to the message class — and is dispatched by that class, never by the type string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from google.protobuf.message import Message

from generated.events.v1 import events_pb2

M = TypeVar("M", bound=Message)
_TYPE = re.compile(r"^[a-z_]+\.[a-z_]+$")


@dataclass(frozen=True)
class Catalogue:
    """What one service publishes: each message class once, each type name once. ``formerly``
    lists messages that events stored under a type carried before (never recorded again)."""

    service: str
    types: Mapping[type[Message], str]
    formerly: Mapping[type[Message], tuple[str, ...]] = field(default_factory=dict)
    _classes: dict[str, tuple[type[Message], ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = list(self.types.values())
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"{self.service}: type names declared twice: {doubled}")
        malformed = sorted(n for n in names if not _TYPE.match(n))
        if malformed:
            raise ValueError(f"{self.service}: type names must be entity.verb: {malformed}")
        classes: dict[str, tuple[type[Message], ...]] = {n: (c,) for c, n in self.types.items()}
        for cls, former in self.formerly.items():
            unknown = sorted(set(former) - set(names))
            if unknown or cls in self.types:
                raise ValueError(f"{self.service}: {cls.__name__} formerly of unknown types "
                                 f"{unknown} or still current")
            for name in former:
                classes[name] += (cls,)
        object.__setattr__(self, "_classes", classes)

    def type_of(self, body: Message) -> str:
        try:
            return self.types[type(body)]
        except KeyError:
            raise TypeError(f"{self.service} does not publish {type(body).__name__}: declare it "
                            f"in services/kernel/bus/contract.py") from None

    def classes_for(self, name: str) -> tuple[type[Message], ...]:
        """The messages an event of type ``name`` may carry (current first); () if unknown."""
        return self._classes.get(name, ())


@dataclass(frozen=True)
class Event(Generic[M]):
    """An event as a consumer sees it: the envelope (ids, tenant, actor, time) and its body."""

    envelope: events_pb2.Envelope
    body: M

    @property
    def tenant(self) -> str:
        return self.envelope.tenant

    @property
    def event_id(self) -> str:
        return self.envelope.event_id


def message_name(cls: type[Message]) -> str:
    """The protobuf full name, as an envelope's ``Any`` body names its message."""
    return cls.DESCRIPTOR.full_name


def unpack(envelope: events_pb2.Envelope, cls: type[M]) -> Event[M]:
    body = cls()
    if not envelope.body.Unpack(body):
        raise TypeError(f"event {envelope.event_id} does not carry a {message_name(cls)}")
    return Event(envelope, body)
