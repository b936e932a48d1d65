"""From Avro types (pipeline.avro nodes) to Python: class names, annotations and default values as
source. Pure.

Class names are unique across the catalog: the simple name, or the namespace-qualified CamelCase name
when two types share a simple name or the simple name would shadow something a generated module uses
(a keyword, a builtin, ``datetime``, ``MODEL``...).
"""

from __future__ import annotations

import builtins
import datetime as dt
import decimal
import keyword
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.avro import Array, Enum, Fixed, Map, NamedSchema, Primitive, Record, Schema, Union
from pipeline.codec.typed import attribute_names, member_names
from pipeline.codec.values import converted, default_value

__all__ = ["RESERVED", "NamedTypes", "collect"]

_PRIMITIVES = {
    "null": "None",
    "boolean": "bool",
    "int": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "bytes": "bytes",
    "string": "str",
}
_LOGICAL = {
    "decimal": "decimal.Decimal",
    "big-decimal": "decimal.Decimal",
    "uuid": "uuid.UUID",
    "date": "datetime.date",
    "time-millis": "datetime.time",
    "time-micros": "datetime.time",
    "timestamp-millis": "datetime.datetime",
    "timestamp-micros": "datetime.datetime",
    "local-timestamp-millis": "datetime.datetime",
    "local-timestamp-micros": "datetime.datetime",
}
# Names a generated module binds or uses itself; a class may not take them.
RESERVED = frozenset(
    {
        *dir(builtins),
        "dataclasses",
        "datetime",
        "decimal",
        "enum",
        "uuid",
        "typing",
        "Any",
        "MODEL",
        "BINDING",
    }
    | {"SchemaBinding", "TopicBinding", "Settings", "TopicConsumer", "TopicProducer", "open_consumer"}
    | {"open_producer", "annotations"}
)


@dataclass
class NamedTypes:
    """Every record and enum of a catalog, in definition order, with unique Python class names."""

    schemas: dict[str, NamedSchema]  # full name -> definition (records, enums, fixed)
    class_names: dict[str, str]  # full name -> Python class (records and enums)

    def annotation(self, schema: Schema) -> str:
        logical = converted(schema)
        if logical is not None:
            return _LOGICAL[logical.name]
        if isinstance(schema, Primitive):
            return _PRIMITIVES[schema.type]
        if isinstance(schema, Fixed):
            return "bytes"
        if isinstance(schema, Record | Enum):
            return self.class_names[schema.name.fullname]
        if isinstance(schema, Array):
            return f"list[{self.annotation(schema.items)}]"
        if isinstance(schema, Map):
            return f"dict[str, {self.annotation(schema.values)}]"
        assert isinstance(schema, Union)
        members = [self.annotation(b) for b in schema.branches if not _is_null(b)]
        unique = list(dict.fromkeys(members))
        text = " | ".join(unique) if unique else "None"
        return f"{text} | None" if unique and any(_is_null(b) for b in schema.branches) else text

    def default(self, schema: Schema, default: Any) -> str:
        """Python source for a field's JSON default (raises ValueError when it does not fit)."""
        return self.literal(schema, default_value(schema, default))

    def literal(self, schema: Schema, value: Any) -> str:
        """Source for a generic value of ``schema`` as the generated classes hold it."""
        if isinstance(schema, Union):
            return self.literal(schema.branches[0], value)
        if converted(schema) is not None:
            return _scalar(value)
        if isinstance(schema, Enum):
            member = member_names(schema.symbols)[schema.symbols.index(value)]
            return f"{self.class_names[schema.name.fullname]}.{member}"
        if isinstance(schema, Array):
            return "[" + ", ".join(self.literal(schema.items, v) for v in value) + "]"
        if isinstance(schema, Map):
            return "{" + ", ".join(f"{k!r}: {self.literal(schema.values, v)}" for k, v in value.items()) + "}"
        if isinstance(schema, Record):
            names = attribute_names([f.name for f in schema.fields])
            arguments = ", ".join(
                f"{attr}={self.literal(entry.type, value[entry.name])}"
                for entry, attr in zip(schema.fields, names, strict=True)
            )
            return f"{self.class_names[schema.name.fullname]}({arguments})"
        return _scalar(value)


def _is_null(schema: Schema) -> bool:
    return isinstance(schema, Primitive) and schema.type == "null"


def _scalar(value: Any) -> str:
    """Source for a plain or logical value."""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    if isinstance(value, decimal.Decimal):
        return f"decimal.Decimal({str(value)!r})"
    if isinstance(value, uuid.UUID):
        return f"uuid.UUID({str(value)!r})"
    if isinstance(value, dt.datetime):
        zone = ", tzinfo=datetime.UTC" if value.tzinfo is not None else ""
        return (
            f"datetime.datetime({value.year}, {value.month}, {value.day}, {value.hour}, {value.minute}, "
            f"{value.second}, {value.microsecond}{zone})"
        )
    if isinstance(value, dt.date):
        return f"datetime.date({value.year}, {value.month}, {value.day})"
    if isinstance(value, dt.time):
        return f"datetime.time({value.hour}, {value.minute}, {value.second}, {value.microsecond})"
    return repr(value)


def _walk(schema: Schema, seen: dict[str, NamedSchema]) -> None:
    pending = [schema]
    while pending:
        node = pending.pop(0)
        if isinstance(node, Record | Enum | Fixed):
            if node.name.fullname in seen:
                continue
            seen[node.name.fullname] = node
            if isinstance(node, Record):
                pending[0:0] = [f.type for f in node.fields]
        elif isinstance(node, Array):
            pending.insert(0, node.items)
        elif isinstance(node, Map):
            pending.insert(0, node.values)
        elif isinstance(node, Union):
            pending[0:0] = list(node.branches)


def collect(schemas: Iterable[Schema]) -> NamedTypes:
    """Every named type the schemas reach, in the order first met, with class names."""
    seen: dict[str, NamedSchema] = {}
    for schema in schemas:
        _walk(schema, seen)
    classes = [name for name, s in seen.items() if isinstance(s, Record | Enum)]
    simple = [name.rsplit(".", 1)[-1] for name in classes]
    class_names: dict[str, str] = {}
    taken: set[str] = set()
    for name, short in zip(classes, simple, strict=True):
        if simple.count(short) > 1 or short in RESERVED or keyword.iskeyword(short) or short.startswith("_"):
            short = "".join(part[:1].upper() + part[1:] for part in name.split("."))
        while short in RESERVED or keyword.iskeyword(short) or short in taken or short.startswith("_"):
            short = short.lstrip("_") + "_" if short.startswith("_") else short + "_"
        taken.add(short)
        class_names[name] = short
    return NamedTypes(seen, class_names)
