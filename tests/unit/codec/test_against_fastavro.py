"""The codec against fastavro, the library confluent-kafka's serdes run on: where fastavro takes a schema
and a value, it writes the bytes we write and reads back the values we read. Two differences are ours
on purpose and Avro Java sides with us (tests/unit/codec/test_against_java.py): fastavro writes a
negative decimal with one byte more than the minimal two's complement, and it cannot write some
unions (a string in a union with a date raises inside its validation) or read an invalid logical type
(a decimal of precision 0), which Avro ignores."""

from __future__ import annotations

import decimal
import io
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline.avro import Array, Map, Record, Schema, Union
from pipeline.codec import Decoder, Encoder
from pipeline.codec.values import branch_value, choose_branch, type_name
from tests.generative.schemas import SchemaCase, schema_cases
from tests.generative.values import same, untagged, values
from tests.unit.codec.test_roundtrip import parse_case

pytestmark = pytest.mark.usefixtures("each_codec")  # the same answers from every codec path

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def tagged(schema: Schema, value: Any) -> Any:
    """``value`` with every union member as fastavro's ``(type name, value)``, naming our branch."""
    if isinstance(schema, Union):
        index = choose_branch(schema, value, None)
        assert index is not None
        branch = schema.branches[index]
        inner = tagged(branch, branch_value(schema, value, None))
        return None if inner is None else (type_name(branch), inner)
    if isinstance(schema, Array):
        return [tagged(schema.items, v) for v in value]
    if isinstance(schema, Map):
        return {k: tagged(schema.values, v) for k, v in value.items()}
    if isinstance(schema, Record):
        return {f.name: tagged(f.type, value[f.name]) for f in schema.fields}
    return value


def _has_negative_decimal(value: Any) -> bool:
    if isinstance(value, decimal.Decimal):
        return value < 0
    if isinstance(value, tuple):
        return _has_negative_decimal(value[1])
    if isinstance(value, list):
        return any(_has_negative_decimal(v) for v in value)
    if isinstance(value, dict):
        return any(_has_negative_decimal(v) for v in value.values())
    return False


def _fastavro_schema(case: SchemaCase) -> Any:
    named: dict[str, Any] = {}
    for ref in case.references:
        fastavro.parse_schema(ref, named_schemas=named)
    return fastavro.parse_schema(case.root, named_schemas=named)


@SETTINGS
@given(st.data(), schema_cases())
def test_fastavro_writes_and_reads_what_we_do(data: st.DataObject, case: SchemaCase) -> None:
    schema = parse_case(case)
    value = untagged(data.draw(values(schema)))
    ours = Encoder(schema).encode(value)
    try:
        theirs_schema = _fastavro_schema(case)
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, theirs_schema, tagged(schema, value))
    except Exception:
        event("fastavro refuses the schema or the value")
        return
    if _has_negative_decimal(value):
        event("a negative decimal: fastavro's bytes are not minimal")
    else:
        event("same bytes")
        assert buf.getvalue() == ours, (case.root_text, value)
    try:
        read = fastavro.schemaless_reader(io.BytesIO(ours), theirs_schema, None)
    except Exception:  # e.g. a decimal of precision 0, which Avro ignores and fastavro fails on
        event("fastavro cannot read it")
        return
    assert same(_plain(read), _plain(Decoder(schema).decode(ours))), case.root_text


def _plain(value: Any) -> Any:
    """fastavro gives a uuid back as a UUID or str depending on the branch: compare as text."""
    import uuid

    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
