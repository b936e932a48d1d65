"""An Avro schema as a graph of nodes: what the compatibility rules walk, the codec compiles and the
code generator renders. Pure.

Nodes are compared by identity, not by value (``eq=False``): the resolution rules memoise reader/writer
pairs by identity exactly as Avro Java does, and a recursive record refers to its own node.

The Avro type system's constants live here and nowhere else: the primitive types, the named kinds and
the ranges of ``int`` and ``long``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "INT_MAX",
    "INT_MIN",
    "LOGICAL_TYPES",
    "LONG_MAX",
    "LONG_MIN",
    "NAMED_KINDS",
    "NO_DEFAULT",
    "PRIMITIVE_TYPES",
    "Array",
    "Enum",
    "Field",
    "Fixed",
    "Logical",
    "Map",
    "Name",
    "NamedSchema",
    "Primitive",
    "Record",
    "Schema",
    "Union",
    "describe",
]

PRIMITIVE_TYPES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED_KINDS = frozenset({"record", "error", "enum", "fixed"})
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1

#: logical type -> the underlying Avro types it may annotate (Avro 1.12 specification).
LOGICAL_TYPES: Mapping[str, frozenset[str]] = {
    "decimal": frozenset({"bytes", "fixed"}),
    "big-decimal": frozenset({"bytes"}),
    "uuid": frozenset({"string", "fixed"}),
    "date": frozenset({"int"}),
    "time-millis": frozenset({"int"}),
    "time-micros": frozenset({"long"}),
    "timestamp-millis": frozenset({"long"}),
    "timestamp-micros": frozenset({"long"}),
    "timestamp-nanos": frozenset({"long"}),
    "local-timestamp-millis": frozenset({"long"}),
    "local-timestamp-micros": frozenset({"long"}),
    "local-timestamp-nanos": frozenset({"long"}),
    "duration": frozenset({"fixed"}),
}


@dataclass(frozen=True)
class Logical:
    """A logical type Avro Java 1.12 recognises on its underlying type (an invalid one is ignored, as
    Java ignores it). ``precision`` and ``scale`` are the decimal's."""

    name: str
    precision: int = 0
    scale: int = 0


class _NoDefault:
    """Marks a field declared without ``default`` (``None`` is the JSON ``null`` default)."""

    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT = _NoDefault()


@dataclass(frozen=True)
class Name:
    """A named type's name: the simple name and its namespace (``None`` for the null namespace)."""

    name: str
    namespace: str | None

    @property
    def fullname(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name


@dataclass(eq=False)
class Primitive:
    type: str
    logical_type: str | None = None  # as written, for messages
    logical: Logical | None = None  # as Java applies it


@dataclass(eq=False)
class Field:
    name: str
    type: Schema
    default: object = NO_DEFAULT
    aliases: tuple[str, ...] = ()
    doc: str | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass(eq=False)
class Record:
    name: Name
    aliases: frozenset[str] = frozenset()
    fields: list[Field] = field(default_factory=list)
    is_error: bool = False
    doc: str | None = None
    type: str = field(default="record", init=False)

    def field_named(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(eq=False)
class Enum:
    name: Name
    symbols: tuple[str, ...]
    default: str | None = None
    aliases: frozenset[str] = frozenset()
    doc: str | None = None
    type: str = field(default="enum", init=False)


@dataclass(eq=False)
class Fixed:
    name: Name
    size: int
    aliases: frozenset[str] = frozenset()
    logical_type: str | None = None
    logical: Logical | None = None
    doc: str | None = None
    type: str = field(default="fixed", init=False)


@dataclass(eq=False)
class Array:
    items: Schema
    type: str = field(default="array", init=False)


@dataclass(eq=False)
class Map:
    values: Schema
    type: str = field(default="map", init=False)


@dataclass(eq=False)
class Union:
    branches: tuple[Schema, ...]
    type: str = field(default="union", init=False)


NamedSchema = Record | Enum | Fixed
Schema = Primitive | Record | Enum | Fixed | Array | Map | Union


def describe(schema: Schema) -> str:
    """A short phrase for messages: ``long (timestamp-millis)``, ``record Customer``, ``array of string``."""
    if isinstance(schema, Primitive):
        return f"{schema.type} ({schema.logical_type})" if schema.logical_type else schema.type
    if isinstance(schema, Record | Enum | Fixed):
        return f"{schema.type} {schema.name.name}"
    if isinstance(schema, Array):
        return f"array of {describe(schema.items)}"
    if isinstance(schema, Map):
        return f"map of {describe(schema.values)}"
    return "union [" + ", ".join(_short(branch) for branch in schema.branches) + "]"


def _short(schema: Schema) -> str:
    if isinstance(schema, Record | Enum | Fixed):
        return schema.name.name
    if isinstance(schema, Primitive):
        return schema.type
    return schema.type
