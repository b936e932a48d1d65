"""Typed values to generic ones (records as dicts, enum members as symbols), schema-directed."""

from __future__ import annotations

import enum
from typing import Any

from pipeline.avro import Array, Enum, Fixed, Map, Record, Schema, Union
from pipeline.codec.typed import TypedModel, attribute_names
from pipeline.codec.values import choose_branch, type_name


def to_generic(schema: Schema, value: Any, model: TypedModel) -> Any:
    if isinstance(schema, Union):
        index = choose_branch(schema, value, model)
        assert index is not None
        branch = schema.branches[index]
        generic = to_generic(branch, value, model)
        # a named type's value names its branch, so that the generic writer picks the typed writer's
        return (type_name(branch), generic) if isinstance(branch, Record | Enum | Fixed | Map) else generic
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(schema, Array):
        return [to_generic(schema.items, v, model) for v in value]
    if isinstance(schema, Map):
        return {k: to_generic(schema.values, v, model) for k, v in value.items()}
    if isinstance(schema, Record) and not isinstance(value, dict):
        names = attribute_names([f.name for f in schema.fields])
        return {
            f.name: to_generic(f.type, getattr(value, a), model)
            for f, a in zip(schema.fields, names, strict=True)
        }
    return value
