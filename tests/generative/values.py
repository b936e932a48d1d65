"""Hypothesis strategies for values of a parsed schema (pipeline.avro nodes), generic or typed, with
boundary values, and a test-local typed model built by the convention of pipeline.codec.typed.

Values are drawn so that writing then reading gives them back unchanged: timestamps are aware (UTC or
another offset) and in millisecond steps for the millis types, times in millisecond steps for
time-millis. What happens to other values (naive datetimes, finer times) has tests of its own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import math
import struct
from collections.abc import Mapping
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from pipeline.avro import (
    INT_MAX,
    INT_MIN,
    LONG_MAX,
    LONG_MIN,
    Array,
    Enum,
    Fixed,
    Map,
    Primitive,
    Record,
    Schema,
    Union,
)
from pipeline.codec.typed import AVRO_NAME, TypedModel, attribute_names, member_names
from pipeline.codec.values import converted, problem, type_name

_INTS = st.integers(INT_MIN, INT_MAX) | st.sampled_from(
    [0, 1, -1, 63, 64, -64, -65, INT_MIN, INT_MAX, 127, 128]
)
_LONGS = st.integers(LONG_MIN, LONG_MAX) | st.sampled_from([LONG_MIN, LONG_MAX, INT_MAX + 1, INT_MIN - 1, 0])
_ZONES = st.sampled_from(
    [dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(-dt.timedelta(hours=8))]
)
_SAFE_MIN = dt.datetime(1, 1, 2)
_SAFE_MAX = dt.datetime(9999, 12, 30)


def build_model(schema: Schema) -> dict[str, type]:
    """Classes for every record and enum ``schema`` reaches, as generated code would define them."""
    model: dict[str, type] = {}
    for node in walk(schema):
        full = node.name.fullname  # type: ignore[union-attr]
        if isinstance(node, Record):
            attrs = attribute_names([f.name for f in node.fields])
            cls = dataclasses.make_dataclass(
                "R_" + full.replace(".", "_"), [(a, Any) for a in attrs], kw_only=True, slots=True
            )
            setattr(cls, AVRO_NAME, full)
            model[full] = cls
        elif isinstance(node, Enum):
            members = list(zip(member_names(node.symbols), node.symbols, strict=True))
            cls = enum.Enum("E_" + full.replace(".", "_"), members)  # type: ignore[misc]
            cls.__avro_name__ = full  # type: ignore[attr-defined]
            model[full] = cls
    return model


def walk(schema: Schema) -> list[Schema]:
    """Every named type ``schema`` reaches, each once."""
    seen: dict[int, Schema] = {}
    pending = [schema]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        if isinstance(node, Record):
            pending.extend(f.type for f in node.fields)
        elif isinstance(node, Array):
            pending.append(node.items)
        elif isinstance(node, Map):
            pending.append(node.values)
        elif isinstance(node, Union):
            pending.extend(node.branches)
    return [n for n in seen.values() if isinstance(n, Record | Enum | Fixed)]


@st.composite
def values(draw: st.DrawFn, schema: Schema, model: TypedModel | None = None, max_depth: int = 4) -> Any:
    """A valid value of ``schema`` (typed against ``model`` when given)."""
    return _Drawer(draw, model, max_depth).value(schema, 0)


class _Drawer:
    def __init__(self, draw: st.DrawFn, model: TypedModel | None, max_depth: int) -> None:
        self.draw = draw
        self.model = model
        self.max_depth = max_depth

    def value(self, schema: Schema, depth: int) -> Any:
        draw = self.draw
        logical = converted(schema)
        if logical is not None:
            return self.logical(schema, logical)
        if isinstance(schema, Primitive):
            return self.primitive(schema.type)
        if isinstance(schema, Fixed):
            return draw(st.binary(min_size=schema.size, max_size=schema.size))
        if isinstance(schema, Enum):
            symbol = draw(st.sampled_from(schema.symbols))
            cls = self.model.get(schema.name.fullname) if self.model is not None else None
            return cls(symbol) if cls is not None else symbol
        if isinstance(schema, Array):
            size = 0 if depth >= self.max_depth else draw(st.integers(0, 3))
            return [self.value(schema.items, depth + 1) for _ in range(size)]
        if isinstance(schema, Map):
            size = 0 if depth >= self.max_depth else draw(st.integers(0, 3))
            keys = draw(st.lists(st.text(max_size=8), min_size=size, max_size=size, unique=True))
            return {key: self.value(schema.values, depth + 1) for key in keys}
        if isinstance(schema, Union):
            options = list(schema.branches)
            if depth >= self.max_depth:  # end recursion: prefer branches that cannot recurse
                ending = [b for b in options if not isinstance(b, Record)]
                options = ending or options
            branch = draw(st.sampled_from(options))
            value = self.value(branch, depth + 1)
            takes_dicts = [b for b in schema.branches if isinstance(b, Record | Map) and not self.typed(b)]
            if branch in takes_dicts and len(takes_dicts) > 1:
                value = (type_name(branch), value)  # a generic dict names its branch, as fastavro takes it
            # A value another branch claims first (a Decimal of one decimal branch, when an earlier one
            # has another scale) is no value of the union: Avro Java's resolveUnion refuses it too.
            assume(problem(schema, value, self.model) is None)
            return value
        assert isinstance(schema, Record)
        fields = {f.name: self.value(f.type, depth + 1) for f in schema.fields}
        cls = self.model.get(schema.name.fullname) if self.model is not None else None
        if cls is None:
            return fields
        names = attribute_names(list(fields))
        return cls(**dict(zip(names, fields.values(), strict=True)))

    def typed(self, schema: Schema) -> bool:
        return (
            self.model is not None
            and isinstance(schema, Record | Enum)
            and schema.name.fullname in self.model
        )

    def primitive(self, kind: str) -> Any:
        draw = self.draw
        if kind == "null":
            return None
        if kind == "boolean":
            return draw(st.booleans())
        if kind == "int":
            return draw(_INTS)
        if kind == "long":
            return draw(_LONGS)
        if kind == "float":
            return draw(st.floats(width=32, allow_nan=True, allow_infinity=True))
        if kind == "double":
            return draw(st.floats(allow_nan=True, allow_infinity=True))
        if kind == "string":
            return draw(st.text(max_size=12))
        return draw(st.binary(max_size=12))

    def logical(self, schema: Schema, logical: Any) -> Any:
        draw = self.draw
        name = logical.name
        if name == "decimal":
            limit = 10**logical.precision - 1
            edges = [e for e in (0, limit, -limit, 1, -1, -128, 127, 128, -129, 255, -256) if abs(e) <= limit]
            unscaled = draw(st.integers(-limit, limit) | st.sampled_from(edges))
            value = decimal.Decimal(unscaled).scaleb(-logical.scale, decimal.Context(prec=100))
            return value.normalize(decimal.Context(prec=100)) if draw(st.booleans()) and value else value
        if name == "big-decimal":
            return decimal.Decimal(draw(st.integers(-(10**30), 10**30))).scaleb(
                -draw(st.integers(-5, 20)), decimal.Context(prec=100)
            )
        if name == "uuid":
            return draw(st.uuids())
        if name == "date":
            return draw(st.dates())
        if name.startswith("time-"):
            moment = draw(st.times())
            return (
                moment.replace(microsecond=moment.microsecond // 1000 * 1000)
                if name == "time-millis"
                else moment
            )
        moment = draw(st.datetimes(min_value=_SAFE_MIN, max_value=_SAFE_MAX))
        if name.endswith("millis"):
            moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        if name.startswith("local-"):
            return moment
        return moment.replace(tzinfo=draw(_ZONES))


def untagged(value: Any) -> Any:
    """``value`` with generic ``(name, value)`` union tuples replaced by their values, as read back."""
    if type(value) is tuple:
        return untagged(value[1])
    if type(value) is list:
        return [untagged(v) for v in value]
    if type(value) is dict:
        return {k: untagged(v) for k, v in value.items()}
    return value


def same(a: Any, b: Any) -> bool:
    """Equality that tells floats apart by their bits (NaN equals itself; 0.0 is not -0.0) and a
    record object from another class, and compares datetimes as instants with their zone kind."""
    if type(a) is float or type(b) is float:
        return type(a) is type(b) and struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
        )
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return (a.tzinfo is None) == (b.tzinfo is None) and a == b
    if isinstance(a, decimal.Decimal) and isinstance(b, decimal.Decimal):
        return a == b
    return type(a) is type(b) and a == b


def float32(value: float) -> float:
    """``value`` rounded to 32 bits, as a float field holds it."""
    if math.isnan(value) or math.isinf(value):
        return value
    return struct.unpack("<f", struct.pack("<f", value))[0]


def as_mapping(model: TypedModel | None) -> Mapping[str, type]:
    return model or {}
