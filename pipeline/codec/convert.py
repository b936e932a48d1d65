"""Typed values to generic ones and back, for other Avro libraries: records as dicts of their fields,
enums as their symbols. What a team hands confluent-kafka's ``AvroSerializer`` (``to_dict``) and gets
from its ``AvroDeserializer`` (``from_dict``) when it keeps the generated classes. Pure.

Built once per schema as a tree of small functions. A value in a union is written as fastavro's
``(type name, value)`` tuple, naming the branch our own writer picks for it (another library would
otherwise choose by its own rules: fastavro writes 67 into an int-date branch before a long one); a
generic value read back
without tags is matched to a branch by its Python type (a dict to the first record branch whose fields it
has, a symbol to the first enum that has it), which two enums sharing a symbol make ambiguous.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Any, cast

from pipeline.avro import Array, Enum, Map, Record, Schema, Union
from pipeline.codec.typed import TypedModel, attribute_names
from pipeline.codec.values import choose_branch, type_name

__all__ = ["Converter"]

_Fn = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


class Converter:
    """``to_generic(value)`` and ``from_generic(datum)`` for ``schema`` and ``model``'s classes."""

    def __init__(self, schema: Schema, model: TypedModel) -> None:
        self._model = model
        self._to: dict[int, _Fn] = {}
        self._from: dict[int, _Fn] = {}
        self.to_generic: _Fn = self._to_fn(schema)
        self.from_generic: _Fn = self._from_fn(schema)

    def _to_fn(self, schema: Schema) -> _Fn:
        if id(schema) in self._to:
            return self._to[id(schema)]
        if isinstance(schema, Record):
            fields: list[tuple[str, str, _Fn]] = []
            names = attribute_names([f.name for f in schema.fields])

            def record(value: Any) -> Any:
                return {name: convert(getattr(value, attr)) for name, attr, convert in fields}

            self._to[id(schema)] = record
            fields.extend((f.name, a, self._to_fn(f.type)) for f, a in zip(schema.fields, names, strict=True))
            return record
        if isinstance(schema, Enum):
            return lambda value: value.value if isinstance(value, enum.Enum) else value
        if isinstance(schema, Array):
            items = self._to_fn(schema.items)
            return _same if items is _same else lambda value: [items(v) for v in value]
        if isinstance(schema, Map):
            values = self._to_fn(schema.values)
            return _same if values is _same else lambda value: {k: values(v) for k, v in value.items()}
        if isinstance(schema, Union):
            converters = [self._to_fn(b) for b in schema.branches]
            model = self._model

            def union(value: Any) -> Any:  # the typed writer's branch, named (fastavro's tuple notation)
                if value is None:
                    return None
                index = choose_branch(schema, value, model)
                if index is None:
                    return value  # not valid: the serializer will say so
                return (type_name(schema.branches[index]), converters[index](value))

            return union
        return _same

    def _from_fn(self, schema: Schema) -> _Fn:
        if id(schema) in self._from:
            return self._from[id(schema)]
        if isinstance(schema, Record):
            cls = self._model.get(schema.name.fullname)
            fields: list[tuple[str, str, _Fn]] = []
            names = attribute_names([f.name for f in schema.fields])

            def record(datum: Any) -> Any:
                values = {attr: convert(datum[name]) for name, attr, convert in fields}
                return cls(**values) if cls is not None else {n: values[a] for n, a, _ in fields}

            self._from[id(schema)] = record
            fields.extend(
                (f.name, a, self._from_fn(f.type)) for f, a in zip(schema.fields, names, strict=True)
            )
            return record
        if isinstance(schema, Enum):
            cls = self._model.get(schema.name.fullname)
            if cls is None:
                return _same
            members = {m.value: m for m in cast(Iterable[Any], cls)}
            return members.__getitem__
        if isinstance(schema, Array):
            items = self._from_fn(schema.items)
            return _same if items is _same else lambda datum: [items(v) for v in datum]
        if isinstance(schema, Map):
            values = self._from_fn(schema.values)
            return _same if values is _same else lambda datum: {k: values(v) for k, v in datum.items()}
        if isinstance(schema, Union):
            records = [
                (set(f.name for f in b.fields), self._from_fn(b))
                for b in schema.branches
                if isinstance(b, Record)
            ]
            enums = [(set(b.symbols), self._from_fn(b)) for b in schema.branches if isinstance(b, Enum)]
            arrays = [self._from_fn(b) for b in schema.branches if isinstance(b, Array)]
            maps = [self._from_fn(b) for b in schema.branches if isinstance(b, Map)]
            if not (records or enums or arrays or maps):
                return _same

            def union(datum: Any) -> Any:
                if isinstance(datum, dict):
                    for fields, convert in records:
                        if fields == datum.keys():
                            return convert(datum)
                    return maps[0](datum) if maps else datum
                if isinstance(datum, str):
                    for symbols, convert in enums:
                        if datum in symbols:
                            return convert(datum)
                if isinstance(datum, list) and arrays:
                    return arrays[0](datum)
                return datum

            return union
        return _same
