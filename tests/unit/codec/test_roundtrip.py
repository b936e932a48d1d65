"""Encode then decode is the identity, typed and generic, over generated schemas and values; the
encoder takes exactly the values pipeline.codec.values says fit."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.avro import parse_schema
from pipeline.codec import Decoder, Encoder, problem
from tests.generative.schemas import SchemaCase, full_name, schema_cases
from tests.generative.values import build_model, same, untagged, values

pytestmark = pytest.mark.usefixtures("each_codec")  # the same answers from every codec path

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_case(case: SchemaCase):  # type: ignore[no-untyped-def]
    named = {full_name(ref): ref for ref in case.references}
    return parse_schema(case.root, named_types=named)


@SETTINGS
@given(st.data(), schema_cases())
def test_generic_round_trip(data: st.DataObject, case: SchemaCase) -> None:
    schema = parse_case(case)
    value = data.draw(values(schema))
    assert problem(schema, value) is None
    encoded = Encoder(schema).encode(value)
    decoded = Decoder(schema).decode(encoded)
    assert same(decoded, untagged(value)), (json.dumps(case.root), value, decoded)


@SETTINGS
@given(st.data(), schema_cases())
def test_typed_round_trip(data: st.DataObject, case: SchemaCase) -> None:
    schema = parse_case(case)
    model = build_model(schema)
    value = data.draw(values(schema, model))
    assert problem(schema, value, model) is None
    encoded = Encoder(schema, model).encode(value)
    assert encoded == Encoder(schema).encode(data.draw(st.just(None)) or _generic(schema, value, model))
    decoded = Decoder(schema, schema, model).decode(encoded)
    assert same(decoded, value), (json.dumps(case.root), value, decoded)


def _generic(schema, value, model):  # type: ignore[no-untyped-def]
    """The generic value of a typed one (records as dicts, enums as symbols)."""
    from tests.generative.convert import to_generic

    return to_generic(schema, value, model)
