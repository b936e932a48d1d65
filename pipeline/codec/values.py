"""Which Python values a schema takes, said once: the reference the compiled codec follows, the
explanation of a refused value (field path and sentence), union branch choice, and field defaults as
Python values. Pure.

Each Avro type takes values of exactly these Python types (subclasses of built-in types are not taken,
``bool`` is never an ``int``):

- null, boolean: ``None``; ``bool``.
- int, long: ``int`` in the 32/64-bit range.
- float, double: ``float``, or an ``int`` (Python's numeric tower); a float must fit 32 bits.
- string: ``str`` that is valid Unicode (no lone surrogates).
- bytes, fixed: ``bytes`` or ``bytearray`` (a fixed's of exactly its size).
- enum: typed, the enum class's member; generic, the symbol as ``str``.
- array, map: ``list``; ``dict`` with ``str`` keys.
- record: typed, an instance of the generated class (of any class whose ``__avro_name__`` names the
  record); generic, a ``dict`` (missing fields take their defaults; other keys are ignored).
- logical types: see :mod:`pipeline.codec.logical`.

A union takes the value of its first branch whose type takes it, except numbers, which go where they fit
best (an ``int`` to int, long, double, then float; a ``float``, a double in Python, to double before
float); a generic ``dict`` goes to the first record (or map) branch it is valid for, and a generic
``(name, value)`` tuple names its branch, as fastavro writes them. Records nest at most
:data:`MAX_DEPTH` deep.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
import struct
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from pipeline.avro import (
    INT_MAX,
    INT_MIN,
    LONG_MAX,
    LONG_MIN,
    Array,
    Enum,
    Fixed,
    Logical,
    Map,
    Primitive,
    Record,
    Schema,
    Union,
)
from pipeline.codec.logical import CONVERTED, LogicalValueError, from_underlying, to_underlying
from pipeline.codec.typed import TypedModel, attribute_names, avro_name

__all__ = [
    "MAX_DEPTH",
    "Problem",
    "branch_value",
    "choose_branch",
    "converted",
    "default_value",
    "problem",
    "type_name",
]

#: Records nested deeper than this are refused by writers and dead-lettered by readers; a recursive
#: value that deep is almost certainly a mistake or an attack, and Python's stack has a bottom.
MAX_DEPTH = 128

_PACK_FLOAT = struct.Struct("<f").pack


class Problem(NamedTuple):
    """Why a value does not fit: the path to the offending part and a sentence."""

    path: str
    message: str


def converted(schema: Schema) -> Logical | None:
    """The logical type of ``schema`` when it has a Python value of its own (decimal, uuid, dates and
    times), else None."""
    logical = getattr(schema, "logical", None)
    return logical if logical is not None and logical.name in CONVERTED else None


def type_name(schema: Schema) -> str:
    """The name a ``(name, value)`` tuple uses for a union branch: a named type's full name, or the
    type keyword."""
    if isinstance(schema, Record | Enum | Fixed):
        return schema.name.fullname
    return schema.type


def _describe_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# -- union branches -------------------------------------------------------------------------------


def _takes_shallow(schema: Schema, value: Any, typed: bool) -> bool:
    """Whether ``schema``'s type takes ``value``'s Python type (contents are checked separately)."""
    t = type(value)
    logical = converted(schema)
    if logical is not None:
        wanted = {
            "decimal": decimal.Decimal,
            "big-decimal": decimal.Decimal,
            "uuid": uuid.UUID,
            "date": dt.date,
        }.get(logical.name)
        if wanted is None:
            wanted = dt.time if logical.name.startswith("time-") else dt.datetime
        return t is wanted
    if isinstance(schema, Primitive):
        kind = schema.type
        if kind == "null":
            return value is None
        if kind == "boolean":
            return t is bool
        if kind == "int":
            return t is int and INT_MIN <= value <= INT_MAX
        if kind == "long":
            return t is int and LONG_MIN <= value <= LONG_MAX
        if kind in ("float", "double"):
            return t is float or t is int
        if kind == "string":
            return t is str
        return t is bytes or t is bytearray
    if isinstance(schema, Fixed):
        return (t is bytes or t is bytearray) and len(value) == schema.size
    if isinstance(schema, Enum):
        if typed:
            return isinstance(value, enum.Enum) and avro_name(t) == schema.name.fullname
        return t is str and value in schema.symbols
    if isinstance(schema, Array):
        return t is list
    if isinstance(schema, Map):
        return t is dict
    if isinstance(schema, Record):
        return avro_name(t) == schema.name.fullname if typed else t is dict
    return False


def choose_branch(union: Union, value: Any, model: TypedModel | None) -> int | None:
    """The index of the branch of ``union`` that writes ``value``, or None when none takes it."""
    branches = union.branches
    if model is None and type(value) is tuple and len(value) == 2 and type(value[0]) is str:
        for index, branch in enumerate(branches):
            if type_name(branch) == value[0]:
                return index
        return None
    if type(value) in (int, float):
        # A number goes where it fits best: an int to int, long, double, then float; a float (which is
        # a double in Python) to double, then float.
        kinds = ("int", "long", "double", "float") if type(value) is int else ("double", "float")
        for kind in kinds:
            for index, branch in enumerate(branches):
                plain = isinstance(branch, Primitive) and branch.type == kind and converted(branch) is None
                if plain and _takes_shallow(branch, value, False):
                    return index
        return None
    for index, branch in enumerate(branches):
        typed = model is not None and isinstance(branch, Record | Enum) and branch.name.fullname in model
        if not _takes_shallow(branch, value, typed):
            continue
        ambiguous = (
            type(value) is dict and not typed and sum(isinstance(b, Record | Map) for b in branches) > 1
        )
        if ambiguous and isinstance(branch, Record | Map) and problem(branch, value, model):
            continue  # several branches may take a dict: the first it is valid for
        return index
    return None


def branch_value(union: Union, value: Any, model: TypedModel | None) -> Any:
    """The value a branch writes: a generic ``(name, value)`` tuple's second element, else ``value``."""
    if model is None and type(value) is tuple and len(value) == 2 and type(value[0]) is str:
        return value[1]
    return value


# -- checking ---------------------------------------------------------------------------------------


def problem(schema: Schema, value: Any, model: TypedModel | None = None) -> Problem | None:
    """Why ``value`` does not fit ``schema`` (typed against ``model``, else generic), or None when it
    fits: exactly the values the compiled encoders write are those this returns None for."""
    root = schema.name.fullname if isinstance(schema, Record | Enum | Fixed) else schema.type
    return _Checker(model).check(schema, value, root, 0)


class _Checker:
    def __init__(self, model: TypedModel | None) -> None:
        self.model = model

    def typed(self, schema: Record | Enum) -> bool:
        return self.model is not None and schema.name.fullname in self.model

    def check(self, schema: Schema, value: Any, path: str, depth: int) -> Problem | None:
        if not _takes_shallow(schema, value, isinstance(schema, Record | Enum) and self.typed(schema)):
            if isinstance(schema, Union):
                return self.union(schema, value, path, depth)
            return Problem(path, f"{_describe_value(value)} is not {self.expected(schema)}")
        logical = converted(schema)
        if logical is not None:
            try:
                to_underlying(logical, value, schema.size if isinstance(schema, Fixed) else None)
            except LogicalValueError as exc:
                return Problem(path, str(exc))
            return None
        if isinstance(schema, Primitive):
            return self.primitive(schema, value, path)
        if isinstance(schema, Enum):
            symbol = value.value if isinstance(value, enum.Enum) else value
            if symbol not in schema.symbols:
                return Problem(path, f"{_describe_value(value)} is not one of {', '.join(schema.symbols)}")
            return None
        if isinstance(schema, Array):
            for index, item in enumerate(value):
                found = self.check(schema.items, item, f"{path}[{index}]", depth)
                if found:
                    return found
            return None
        if isinstance(schema, Map):
            for key, item in value.items():
                if type(key) is not str or _bad_unicode(key):
                    return Problem(f"{path}[{key!r}]", f"map key {_describe_value(key)} is not a valid str")
                found = self.check(schema.values, item, f"{path}[{key!r}]", depth)
                if found:
                    return found
            return None
        if isinstance(schema, Record):
            return self.record(schema, value, path, depth)
        return None  # fixed: the size was checked with the type

    def union(self, schema: Union, value: Any, path: str, depth: int) -> Problem | None:
        index = choose_branch(schema, value, self.model)
        if index is None:
            names = ", ".join(type_name(b) for b in schema.branches)
            return Problem(path, f"{_describe_value(value)} fits no branch of the union [{names}]")
        return self.check(schema.branches[index], branch_value(schema, value, self.model), path, depth)

    def primitive(self, schema: Primitive, value: Any, path: str) -> Problem | None:
        kind = schema.type
        if kind in ("float", "double"):
            try:
                number = float(value)
            except OverflowError:
                return Problem(path, f"{value} is too large for a {kind}")
            if kind == "float" and math.isfinite(number):
                try:
                    _PACK_FLOAT(number)
                except OverflowError:
                    return Problem(path, f"{value!r} is too large for a 32-bit float")
        elif kind == "string" and _bad_unicode(value):
            return Problem(path, f"{_describe_value(value)} is not valid Unicode (a lone surrogate)")
        return None

    def record(self, schema: Record, value: Any, path: str, depth: int) -> Problem | None:
        if depth >= MAX_DEPTH:
            return Problem(path, f"nested more than {MAX_DEPTH} records deep")
        typed = self.typed(schema)
        names = attribute_names([f.name for f in schema.fields]) if typed else None
        for index, entry in enumerate(schema.fields):
            where = f"{path}.{entry.name}"
            if names is not None:
                try:
                    item = getattr(value, names[index])
                except AttributeError:
                    return Problem(where, f"{type(value).__name__} has no attribute {names[index]!r}")
            elif entry.name in value:
                item = value[entry.name]
            elif entry.has_default:
                continue
            else:
                return Problem(where, "missing, and the field has no default")
            found = self.check(entry.type, item, where, depth + 1)
            if found:
                return found
        return None

    def expected(self, schema: Schema) -> str:
        logical = converted(schema)
        if logical is not None:
            return f"a {logical.name} value (see pipeline.codec.logical)"
        if isinstance(schema, Record):
            return f"a {schema.name.fullname} record" + ("" if self.typed(schema) else " (a dict)")
        if isinstance(schema, Enum):
            return f"a {schema.name.fullname} symbol"
        if isinstance(schema, Fixed):
            return f"{schema.size} bytes (fixed {schema.name.fullname})"
        if isinstance(schema, Array):
            return "a list"
        if isinstance(schema, Map):
            return "a dict with str keys"
        assert isinstance(schema, Primitive)
        return {
            "null": "None",
            "boolean": "a bool",
            "int": "an int in the 32-bit range",
            "long": "an int in the 64-bit range",
            "float": "a float",
            "double": "a float",
            "string": "a str",
            "bytes": "bytes",
        }[schema.type]


def _bad_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# -- defaults ---------------------------------------------------------------------------------------


def default_value(schema: Schema, default: Any, model: TypedModel | None = None) -> Any:
    """The Python value of a field's JSON ``default`` (Avro's JSON encoding: bytes and fixed as
    ISO-8859-1 text, a union's default in its first branch), typed against ``model``. Raises
    ValueError when the default does not fit."""
    if isinstance(schema, Union):
        return default_value(schema.branches[0], default, model)
    logical = converted(schema)
    if isinstance(schema, Primitive):
        raw = _primitive_default(schema.type, default)
        return from_underlying(logical, raw) if logical is not None else raw
    if isinstance(schema, Fixed):
        raw = _latin1(default)
        if len(raw) != schema.size:
            raise ValueError(f"default of fixed {schema.name.fullname} is not {schema.size} bytes")
        return from_underlying(logical, raw) if logical is not None else raw
    if isinstance(schema, Enum):
        if default not in schema.symbols:
            raise ValueError(f"{default!r} is not a symbol of {schema.name.fullname}")
        cls = model.get(schema.name.fullname) if model is not None else None
        return cls(default) if cls is not None else default
    if isinstance(schema, Array):
        return [default_value(schema.items, item, model) for item in _of(default, list)]
    if isinstance(schema, Map):
        return {key: default_value(schema.values, item, model) for key, item in _of(default, dict).items()}
    assert isinstance(schema, Record)
    values = _of(default, dict)
    fields = {
        entry.name: default_value(entry.type, values.get(entry.name, entry.default), model)
        for entry in schema.fields
    }
    cls = model.get(schema.name.fullname) if model is not None else None
    if cls is None:
        return fields
    names = attribute_names(list(fields))
    return cls(**dict(zip(names, fields.values(), strict=True)))


def _of(value: Any, kind: type) -> Any:
    if not isinstance(value, kind):
        raise ValueError(f"default {value!r} is not a JSON {kind.__name__}")
    return value


def _latin1(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"default {value!r} is not a string")
    return value.encode("latin-1")


_PRIMITIVE_DEFAULTS: dict[str, Callable[[Any], Any]] = {
    "null": lambda v: None if v is None else _fail(v, "null"),
    "boolean": lambda v: v if type(v) is bool else _fail(v, "boolean"),
    "int": lambda v: v if type(v) is int and INT_MIN <= v <= INT_MAX else _fail(v, "int"),
    "long": lambda v: v if type(v) is int and LONG_MIN <= v <= LONG_MAX else _fail(v, "long"),
    "float": lambda v: float(v) if type(v) in (int, float) else _fail(v, "float"),
    "double": lambda v: float(v) if type(v) in (int, float) else _fail(v, "double"),
    "string": lambda v: v if type(v) is str else _fail(v, "string"),
    "bytes": _latin1,
}


def _primitive_default(kind: str, value: Any) -> Any:
    return _PRIMITIVE_DEFAULTS[kind](value)


def _fail(value: Any, kind: str) -> Any:
    raise ValueError(f"default {value!r} is not a {kind}")
