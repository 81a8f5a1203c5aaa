"""A service's answer (a protobuf message) as the API's JSON, without ``MessageToDict`` per call.

The shape is exactly ``MessageToDict(msg, preserving_proto_field_name=True,
always_print_fields_with_no_presence=True)`` (``tests/unit/test_protojson.py`` compares the two
over every message the gateway answers with): proto field names; every field without presence
printed, defaults included; an unset ``optional`` or message field left out; 64-bit integers as
strings; enums by name; bytes as base64; map keys as strings. ``json_format`` walks descriptors
and builds printers on every call, which cost the gateway ~8 % of a look-up (issue 11's
profiles); here each message type's plan is made once. What the plan does not cover itself — a
well-known type (Timestamp, Any, …), a 32-bit float (printed at its shortest by
``json_format``), a non-finite double — goes to ``json_format`` for that value, so the answer
is still the library's.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

F = FieldDescriptor
_AS_STRING = {F.TYPE_INT64, F.TYPE_UINT64, F.TYPE_FIXED64, F.TYPE_SFIXED64, F.TYPE_SINT64}
_PLAIN = {F.TYPE_INT32, F.TYPE_UINT32, F.TYPE_FIXED32, F.TYPE_SFIXED32, F.TYPE_SINT32,
          F.TYPE_BOOL, F.TYPE_STRING}

Convert = Callable[[Any], Any]
# (field name, presence: print only when set, repeated, convert one value)
Plan = list[tuple[str, bool, bool, Convert]]
_plans: dict[str, Plan] = {}


def as_json(msg: Message) -> dict[str, Any]:
    """``msg`` as the API's JSON (see the module docstring)."""
    plan = _plans.get(msg.DESCRIPTOR.full_name)
    if plan is None:
        plan = _plans[msg.DESCRIPTOR.full_name] = _plan(msg.DESCRIPTOR)
    out: dict[str, Any] = {}
    for name, presence, repeated, convert in plan:
        if presence:
            if msg.HasField(name):
                out[name] = convert(getattr(msg, name))
        elif repeated:
            out[name] = [convert(v) for v in getattr(msg, name)]
        else:
            out[name] = convert(getattr(msg, name))
    return out


def _plan(desc: Descriptor) -> Plan:
    plan: Plan = []
    for field in desc.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            plan.append((field.name, False, False, _map(field)))
            continue
        repeated = field.is_repeated
        presence = not repeated and field.has_presence
        plan.append((field.name, presence, repeated, _value(field)))
    return plan


def _value(field: FieldDescriptor) -> Convert:
    kind = field.type  # the field's wire type (F.TYPE_*)
    if kind == F.TYPE_MESSAGE:
        if field.message_type.full_name.startswith("google.protobuf."):
            return _library
        return as_json
    if kind == F.TYPE_ENUM:
        values = field.enum_type.values_by_number

        def enum(v: int) -> Any:
            known = values.get(v)
            return known.name if known is not None else v

        return enum
    if kind in _AS_STRING:
        return str
    if kind == F.TYPE_DOUBLE:
        return _double
    if kind == F.TYPE_BYTES:
        return lambda v: base64.b64encode(v).decode("utf-8")
    if kind in _PLAIN:
        return _same
    return _fallback(field)


def _map(field: FieldDescriptor) -> Convert:
    entry = field.message_type
    key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
    value = _value(value_field)
    if key_field.cpp_type == F.CPPTYPE_BOOL:
        def key(k: Any) -> str:
            return "true" if k else "false"
    else:
        key = str
    return lambda m: {key(k): value(v) for k, v in m.items()}


def _same(v: Any) -> Any:
    return v


def _double(v: float) -> Any:
    if math.isfinite(v):
        return v
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")


def _library(v: Message) -> Any:
    return json_format.MessageToDict(v, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)


def _fallback(field: FieldDescriptor) -> Convert:
    """A 32-bit float: ``json_format`` prints it at its shortest; so does this, through it."""
    printer = json_format._Printer(preserving_proto_field_name=True,
                                   always_print_fields_with_no_presence=True)
    return lambda v: printer._FieldToJsonObject(field, v)
