"""Response models for the OpenAPI document, derived from the proto messages themselves.

The gateway answers with ``MessageToDict(msg, preserving_proto_field_name=True,
always_print_fields_with_no_presence=True)`` (see ``gateway.routes._common.as_json``). This module
describes exactly that JSON as pydantic models, so the API documents what it sends and a changed
``.proto`` changes the document with it:

=================================  =========================================================
proto                              JSON (``MessageToDict``)
=================================  =========================================================
string, bytes (base64)             str
bool                               bool
int32, uint32, sint32, fixed32     int
int64, uint64, … (64-bit)          str — MessageToDict renders them as strings (JS precision)
double, float                      float
enum                               str: one of the value names
message                            the message's model (nested)
repeated T                         list[T], always present (``[]`` when empty)
map<K, V>                          dict[str, V], always present
field with presence                not required, never null: absent when unset — proto3
                                   ``optional`` scalars, singular message fields, ``oneof``
                                   members
=================================  =========================================================

Models forbid unknown keys: the contract test (tests/unit/test_gateway_contract.py) validates
real route answers against them, and a key the model does not know fails it.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from pydantic import BaseModel, ConfigDict, Field, create_model

_F = FieldDescriptor
_SCALARS: dict[int, Any] = {
    _F.TYPE_STRING: str, _F.TYPE_BYTES: str, _F.TYPE_BOOL: bool,
    _F.TYPE_INT32: int, _F.TYPE_UINT32: int, _F.TYPE_SINT32: int, _F.TYPE_FIXED32: int,
    _F.TYPE_SFIXED32: int,
    _F.TYPE_INT64: str, _F.TYPE_UINT64: str, _F.TYPE_SINT64: str, _F.TYPE_FIXED64: str,
    _F.TYPE_SFIXED64: str,
    _F.TYPE_DOUBLE: float, _F.TYPE_FLOAT: float,
}


class Strict(BaseModel):
    """Base of every response model: unknown keys are an error (the contract test relies on it)."""

    model_config = ConfigDict(extra="forbid")


_models: dict[str, type[Strict]] = {}


def model_of(message: type[Message] | Descriptor, *, name: str = "",
             drop: tuple[str, ...] = (), add: dict[str, Any] | None = None) -> type[Strict]:
    """The pydantic model of a message's JSON, named after the message.

    ``drop`` and ``add`` describe a route that reshapes the message (e.g. a ``*_json`` string
    field replaced by the parsed JSON): give the result its own ``name``. ``add`` maps a field to
    its type (required) or to ``(type, default)``."""
    desc = message if isinstance(message, Descriptor) else message.DESCRIPTOR
    plain = not (name or drop or add)
    name = name or desc.name
    if plain and desc.full_name in _models:
        return _models[desc.full_name]
    fields: dict[str, Any] = {}
    for f in desc.fields:
        if f.name in drop:
            continue
        fields[f.name] = _field(cast(FieldDescriptor, f))
    for key, spec in (add or {}).items():
        fields[key] = spec if isinstance(spec, tuple) else (spec, ...)
    model = create_model(name, __base__=Strict, __doc__=f"JSON of ``{desc.full_name}``.",
                         __module__=__name__, **fields)
    if plain:
        _models[desc.full_name] = model
    return model


def _field(f: FieldDescriptor) -> tuple[Any, Any]:
    if f.message_type is not None and f.message_type.GetOptions().map_entry:
        value = _type(f.message_type.fields_by_name["value"])
        return dict[str, value], ...  # type: ignore[valid-type]
    kind = _type(f)
    if f.is_repeated:
        return list[kind], ...  # type: ignore[valid-type]
    if f.has_presence:  # absent from the JSON when unset — never null
        return kind, Field(None, json_schema_extra=_no_default)
    return kind, ...


def _no_default(schema: dict[str, Any]) -> None:
    """An unset field is left out of the JSON, not sent as null: not required, no default."""
    schema.pop("default", None)


def _type(f: FieldDescriptor) -> Any:
    if f.message_type is not None:
        return model_of(f.message_type)
    if f.enum_type is not None:
        return Literal[tuple(v.name for v in f.enum_type.values)]  # type: ignore[misc]
    return _SCALARS[f.type]
