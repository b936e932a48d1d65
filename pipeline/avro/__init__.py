"""The Avro type system as this project reads it: schemas parsed by Avro Java 1.12's rules into a graph
of nodes (:mod:`pipeline.avro.model`), shared by the compatibility checker, the codec and the code
generator. Pure."""

from pipeline.avro.model import (
    INT_MAX,
    INT_MIN,
    LONG_MAX,
    LONG_MIN,
    NAMED_KINDS,
    NO_DEFAULT,
    PRIMITIVE_TYPES,
    Array,
    Enum,
    Field,
    Fixed,
    Logical,
    Map,
    Name,
    NamedSchema,
    Primitive,
    Record,
    Schema,
    Union,
    describe,
)
from pipeline.avro.parsing import SchemaInput, load_json, logical_of, parse_schema

__all__ = [
    "INT_MAX",
    "INT_MIN",
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
    "SchemaInput",
    "Union",
    "describe",
    "load_json",
    "logical_of",
    "parse_schema",
]
