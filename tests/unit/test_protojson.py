"""The gateway's own proto → JSON (``gateway.protojson``) answers exactly what ``MessageToDict``
answers, for every message of every service's API, empty and filled."""

from __future__ import annotations

import importlib
import math
import pkgutil

import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor as F
from google.protobuf.message import Message

import generated
from gateway.protojson import as_json


def _messages() -> list[type[Message]]:
    found: dict[str, type[Message]] = {}
    for info in pkgutil.walk_packages(generated.__path__, "generated."):
        if not info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(info.name)
        for desc in module.DESCRIPTOR.message_types_by_name.values():
            found[desc.full_name] = getattr(module, desc.name)
    return [found[k] for k in sorted(found)]


MESSAGES = _messages()


def _sample(field: F, n: int) -> object:
    if field.type == F.TYPE_ENUM:
        values = field.enum_type.values
        return values[n % len(values)].number if n < 2 else 97  # 97: a number the enum lacks
    if field.type == F.TYPE_BOOL:
        return bool(n % 2) or n == 0
    if field.type == F.TYPE_STRING:
        return f"绿色-{field.name}-{n}"
    if field.type == F.TYPE_BYTES:
        return bytes([0, 255, n])
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return (0.1, -2.5, math.inf, math.nan)[n % 4] if field.type == F.TYPE_DOUBLE else 0.1
    if field.type in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64):
        return -(2**62) + n
    if field.type in (F.TYPE_UINT64, F.TYPE_FIXED64):
        return 2**63 + n
    if field.type in (F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32):
        return -7 - n
    return 7 + n  # uint32, fixed32


def _fill(msg: Message, depth: int = 0, n: int = 0) -> Message:
    for field in msg.DESCRIPTOR.fields:
        if field.containing_oneof is not None and field is not field.containing_oneof.fields[0]:
            continue  # one member of a oneof
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            target = getattr(msg, field.name)
            key_f, value_f = (field.message_type.fields_by_name[k] for k in ("key", "value"))
            for i in range(2):
                key = _sample(key_f, i)
                if value_f.message_type is not None:
                    if depth < 3:
                        _fill(target[key], depth + 1, i)
                else:
                    target[key] = _sample(value_f, i)
        elif field.message_type is not None:
            if depth >= 3:
                continue
            if field.message_type.full_name == "google.protobuf.Timestamp":
                getattr(msg, field.name).FromSeconds(1_700_000_000 + n)
            elif field.message_type.full_name.startswith("google.protobuf."):
                continue  # Any: set by the events, never answered by the API
            elif field.is_repeated:
                for i in range(2):
                    _fill(getattr(msg, field.name).add(), depth + 1, i)
            else:
                _fill(getattr(msg, field.name), depth + 1, n)
        elif field.is_repeated:
            getattr(msg, field.name).extend(_sample(field, i) for i in range(3))
        else:
            setattr(msg, field.name, _sample(field, n))
    return msg


def _library(msg: Message) -> dict[str, object]:
    return json_format.MessageToDict(msg, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)


def _same(a: object, b: object) -> bool:  # NaN is not equal to itself
    return repr(a) == repr(b)


def test_every_api_message_is_found() -> None:
    names = {m.DESCRIPTOR.full_name for m in MESSAGES}
    assert "greenladder.registry.v1.FindUnitsResponse" in names
    assert len(MESSAGES) > 50


@pytest.mark.parametrize("cls", MESSAGES, ids=lambda c: c.DESCRIPTOR.full_name)
def test_an_empty_message_prints_as_the_library_prints_it(cls: type[Message]) -> None:
    assert as_json(cls()) == _library(cls())


@pytest.mark.parametrize("cls", MESSAGES, ids=lambda c: c.DESCRIPTOR.full_name)
def test_a_filled_message_prints_as_the_library_prints_it(cls: type[Message]) -> None:
    msg = _fill(cls())
    assert _same(as_json(msg), _library(msg))
