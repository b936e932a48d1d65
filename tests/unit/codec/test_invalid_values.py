"""No invalid value is ever written: over generated schemas, a valid value with one part broken (a wrong
type, an int out of range, a decimal with too many digits, an unknown symbol, a fixed of the wrong size,
a lone surrogate, a naive/aware datetime mismatch) is refused by the encoder exactly when
pipeline.codec.values says it does not fit, with the path to the broken part; and where the break can be
said in Avro terms, Avro Java refuses it too."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline.avro import INT_MAX, LONG_MAX, Array, Enum, Fixed, Map, Primitive, Record, Schema, Union
from pipeline.codec import Encoder, attribute_names, problem
from pipeline.codec.values import branch_value, choose_branch, converted
from pipeline.errors import InvalidRecordError
from tests.generative.oracle_json import to_oracle
from tests.generative.schemas import SchemaCase, schema_cases
from tests.generative.values import build_model, values
from tests.oracle import JavaAvro, OracleError
from tests.unit.codec.test_roundtrip import parse_case

pytestmark = pytest.mark.usefixtures("each_codec")  # the same answers from every codec path

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Slot:
    """A place in a value: its schema, and how to replace what is there."""

    schema: Schema
    current: Any
    path: str
    replace: Any  # Callable[[Any], None]


def slots(schema: Schema, value: Any, model: Any, path: str, out: list[Slot], replace: Any) -> None:
    out.append(Slot(schema, value, path, replace))
    if isinstance(schema, Union):
        index = choose_branch(schema, value, model)
        if index is not None and type(value) is not tuple:
            slots(schema.branches[index], branch_value(schema, value, model), model, path, out, replace)
    elif isinstance(schema, Array) and isinstance(value, list):
        for i, item in enumerate(value):
            slots(schema.items, item, model, f"{path}[{i}]", out, lambda v, i=i: value.__setitem__(i, v))
    elif isinstance(schema, Map) and isinstance(value, dict):
        for key, item in list(value.items()):
            slots(
                schema.values, item, model, f"{path}[{key!r}]", out, lambda v, k=key: value.__setitem__(k, v)
            )
    elif isinstance(schema, Record):
        names = attribute_names([f.name for f in schema.fields])
        for entry, attr in zip(schema.fields, names, strict=True):
            if isinstance(value, dict):
                slots(entry.type, value[entry.name], model, f"{path}.{entry.name}", out,
                      lambda v, n=entry.name: value.__setitem__(n, v))  # fmt: skip
            else:
                slots(entry.type, getattr(value, attr), model, f"{path}.{entry.name}", out,
                      lambda v, a=attr: setattr(value, a, v))  # fmt: skip


def breakage(schema: Schema, draw: st.DrawFn) -> tuple[Any, bool]:
    """A value that does not fit ``schema`` (most of the time), and whether Java can be told it."""
    logical = converted(schema)
    if logical is not None and logical.name == "decimal":
        return decimal.Decimal(10**logical.precision).scaleb(-logical.scale), True
    if isinstance(schema, Primitive) and logical is None:
        bad: dict[str, tuple[Any, bool]] = {
            "int": (draw(st.sampled_from([INT_MAX + 1, -INT_MAX - 2])), True),
            "long": (draw(st.sampled_from([LONG_MAX + 1, -LONG_MAX - 2])), True),
            "string": ("\ud800 lone surrogate", False),
            "boolean": (1, False),
            "null": (0, False),
            "bytes": ("text", False),
            "float": (1e39, False),
            "double": ("1.5", False),
        }
        return bad[schema.type]
    if isinstance(schema, Enum):
        return "NOT_A_SYMBOL_AT_ALL", False
    if isinstance(schema, Fixed) and logical is None:
        return b"\x00" * (schema.size + 1), False
    if logical is not None and logical.name.startswith("local-"):
        return dt.datetime(2020, 1, 1, tzinfo=dt.UTC), False
    return draw(st.sampled_from([object(), 1j, [object()], {"x": object()}])), False


@SETTINGS
@given(st.data(), schema_cases(), st.booleans())
def test_a_broken_value_is_refused_exactly_when_it_does_not_fit(
    java_avro: JavaAvro, data: st.DataObject, case: SchemaCase, typed: bool
) -> None:
    schema = parse_case(case)
    model = build_model(schema) if typed else None
    value = data.draw(values(schema, model))
    places: list[Slot] = []
    holder = [value]
    slots(schema, value, model, "$", places, lambda v: holder.__setitem__(0, v))
    place = data.draw(st.sampled_from(places))
    broken, java_can_tell = breakage(place.schema, data.draw)
    place.replace(broken)
    value = holder[0]
    found = problem(schema, value, model)
    if found is None:  # the break happened to fit (e.g. a str where a union also takes strings)
        event("the broken part still fits")
        Encoder(schema, model).encode(value)
        return
    event("refused")
    with pytest.raises(InvalidRecordError) as raised:
        Encoder(schema, model).encode(value)
    assert raised.value.field_path == found.path
    if java_can_tell and not typed and isinstance(place.schema, Primitive | Fixed):
        event("refused by Java too")
        with pytest.raises((OracleError, AssertionError, KeyError, TypeError, ValueError)):
            java_avro.encode(case.root_text, to_oracle(schema, value), case.reference_texts)
