"""gateway.schemas: the pydantic model of a proto message describes exactly the JSON
``MessageToDict`` makes of it — each scalar type, enums, nesting, repeated and map fields, and
fields with presence (left out when unset, never null)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message
from pydantic import ValidationError

from gateway.routes._common import as_json
from gateway.schemas import model_of
from generated.registry.v1 import registry_pb2

_T = descriptor_pb2.FieldDescriptorProto


def _proto() -> tuple[type[Message], type[Message]]:
    """A throw-away proto3 file with one field of every kind (its own descriptor pool)."""
    f = descriptor_pb2.FileDescriptorProto(name="shape_test.proto", package="shape.v1",
                                           syntax="proto3")
    f.enum_type.add(name="Colour").value.extend([
        descriptor_pb2.EnumValueDescriptorProto(name="COLOUR_UNSPECIFIED", number=0),
        descriptor_pb2.EnumValueDescriptorProto(name="GREEN", number=1)])
    inner = f.message_type.add(name="Inner")
    inner.field.add(name="label", number=1, type=_T.TYPE_STRING, label=_T.LABEL_OPTIONAL)
    outer = f.message_type.add(name="Shape")
    entry = outer.nested_type.add(name="CountsEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=_T.TYPE_STRING, label=_T.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=_T.TYPE_INT32, label=_T.LABEL_OPTIONAL)
    scalars = [("s", _T.TYPE_STRING), ("b", _T.TYPE_BOOL), ("i32", _T.TYPE_INT32),
               ("u32", _T.TYPE_UINT32), ("i64", _T.TYPE_INT64), ("u64", _T.TYPE_UINT64),
               ("d", _T.TYPE_DOUBLE), ("fl", _T.TYPE_FLOAT), ("raw", _T.TYPE_BYTES)]
    for n, (name, kind) in enumerate(scalars, start=1):
        outer.field.add(name=name, number=n, type=kind, label=_T.LABEL_OPTIONAL)
    outer.field.add(name="colour", number=20, type=_T.TYPE_ENUM, type_name=".shape.v1.Colour",
                    label=_T.LABEL_OPTIONAL)
    outer.field.add(name="inner", number=21, type=_T.TYPE_MESSAGE, type_name=".shape.v1.Inner",
                    label=_T.LABEL_OPTIONAL)
    outer.field.add(name="inners", number=22, type=_T.TYPE_MESSAGE,
                    type_name=".shape.v1.Inner", label=_T.LABEL_REPEATED)
    outer.field.add(name="tags", number=23, type=_T.TYPE_STRING, label=_T.LABEL_REPEATED)
    outer.field.add(name="counts", number=24, type=_T.TYPE_MESSAGE,
                    type_name=".shape.v1.Shape.CountsEntry", label=_T.LABEL_REPEATED)
    outer.oneof_decl.add(name="_share")  # proto3 `optional double share = 25;`
    outer.field.add(name="share", number=25, type=_T.TYPE_DOUBLE, label=_T.LABEL_OPTIONAL,
                    oneof_index=0, proto3_optional=True)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return (message_factory.GetMessageClass(pool.FindMessageTypeByName("shape.v1.Shape")),
            message_factory.GetMessageClass(pool.FindMessageTypeByName("shape.v1.Inner")))


Shape, Inner = _proto()
SHAPE = model_of(Shape)


def _schema() -> dict[str, Any]:
    return SHAPE.model_json_schema()


def test_the_model_is_named_after_the_message_and_made_once() -> None:
    assert SHAPE.__name__ == "Shape" and model_of(Shape) is SHAPE
    assert model_of(Shape.DESCRIPTOR) is SHAPE
    assert _schema()["$defs"]["Inner"]["properties"]["label"]["type"] == "string"


@pytest.mark.parametrize(("field", "schema"), [
    ("s", {"type": "string"}), ("b", {"type": "boolean"}), ("i32", {"type": "integer"}),
    ("u32", {"type": "integer"}),
    ("i64", {"type": "string"}), ("u64", {"type": "string"}),  # MessageToDict: 64-bit as text
    ("d", {"type": "number"}), ("fl", {"type": "number"}), ("raw", {"type": "string"}),
    ("colour", {"enum": ["COLOUR_UNSPECIFIED", "GREEN"], "type": "string"}),
    ("tags", {"items": {"type": "string"}, "type": "array"}),
    ("inners", {"items": {"$ref": "#/$defs/Inner"}, "type": "array"}),
    ("counts", {"additionalProperties": {"type": "integer"}, "type": "object"}),
    ("inner", {"$ref": "#/$defs/Inner"}),
    ("share", {"type": "number"}),
])
def test_each_proto_type_maps_to_its_json_type(field: str, schema: dict[str, Any]) -> None:
    got = {k: v for k, v in _schema()["properties"][field].items() if k != "title"}
    assert got == schema


def test_fields_with_presence_are_not_required_and_others_are() -> None:
    required = set(_schema()["required"])
    assert {"inner", "share"}.isdisjoint(required)  # message and proto3 optional fields
    assert {"s", "i64", "colour", "tags", "counts", "inners"} <= required


def test_the_models_accept_exactly_what_message_to_dict_makes() -> None:
    empty = as_json(Shape())
    assert "share" not in empty and "inner" not in empty and empty["tags"] == []
    SHAPE.model_validate_json(_dumps(empty), strict=True)
    full = Shape(s="x", b=True, i32=-3, u32=3, i64=2**40, u64=2**63, d=1.5, fl=0.5, raw=b"\x01",
                 colour=1, inner=Inner(label="a"), inners=[Inner()], tags=["t"], counts={"k": 2},
                 share=0.0)
    body = as_json(full)
    assert body["i64"] == str(2**40) and body["share"] == 0.0 and body["colour"] == "GREEN"
    SHAPE.model_validate_json(_dumps(body), strict=True)


def test_unknown_keys_wrong_types_and_null_for_absent_fields_are_refused() -> None:
    body = as_json(Shape())
    for bad in ({**body, "extra": 1}, {**body, "i64": 5}, {**body, "share": None},
                {k: v for k, v in body.items() if k != "s"}):
        with pytest.raises(ValidationError):
            SHAPE.model_validate_json(_dumps(bad), strict=True)


def test_a_reshaped_message_gets_its_own_model() -> None:
    reshaped = model_of(registry_pb2.Unit, name="UnitLite", drop=("park_boundary",),
                        add={"note": str, "extra": (int, 0)})
    props = reshaped.model_json_schema()["properties"]
    assert reshaped.__name__ == "UnitLite" and "park_boundary" not in props
    assert {"note", "extra"} <= set(props) and model_of(registry_pb2.Unit) is not reshaped


def _dumps(value: Any) -> str:
    return json.dumps(value)
