"""The codec against Apache Avro Java 1.12 (tests/oracle), the implementation Confluent's serializers
build on, over generated schemas, values and evolutions:

- the bytes we write for a value are the bytes Java writes for it;
- what we read from bytes Java wrote is what Java reads from them;
- reading across an evolution (writer schema -> reader schema, compatible or not) gives what Java
  gives, or fails where Java fails.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline.avro import parse_schema
from pipeline.codec import Decoder, Encoder
from pipeline.compat import check
from pipeline.errors import (
    CorruptPayloadError,
    SchemaLoadError,
    SchemaViolationError,
    UnrepresentableValueError,
)
from tests.generative.evolution import evolved
from tests.generative.oracle_json import disagreement, to_oracle
from tests.generative.schemas import SchemaCase, full_name, schema_cases
from tests.generative.values import build_model, values
from tests.oracle import JavaAvro, OracleError

pytestmark = pytest.mark.usefixtures("each_codec")  # the same answers from every codec path

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_case(case: SchemaCase) -> Any:
    return parse_schema(case.root, named_types=_named(case))


@SETTINGS
@given(st.data(), schema_cases(), st.booleans())
def test_our_bytes_are_javas(java_avro: JavaAvro, data: st.DataObject, case: SchemaCase, typed: bool) -> None:
    schema = parse_case(case)
    model = build_model(schema) if typed else None
    value = data.draw(values(schema, model))
    ours = Encoder(schema, model).encode(value)
    theirs = java_avro.encode(case.root_text, to_oracle(schema, value, model), case.reference_texts)
    assert ours == theirs, (case.root_text, value)


@SETTINGS
@given(st.data(), schema_cases(), st.booleans())
def test_we_read_what_java_reads(
    java_avro: JavaAvro, data: st.DataObject, case: SchemaCase, typed: bool
) -> None:
    schema = parse_case(case)
    model = build_model(schema) if typed else None
    value = data.draw(values(schema))
    written = java_avro.encode(case.root_text, to_oracle(schema, value), case.reference_texts)
    theirs, trailing = java_avro.decode(case.root_text, written, writer_references=case.reference_texts)
    assert trailing == 0
    ours = Decoder(schema, schema, model).decode(written)
    assert disagreement(schema, theirs, ours) is None, (case.root_text, value)


@SETTINGS
@given(st.data(), schema_cases())
def test_resolution_matches_java(java_avro: JavaAvro, data: st.DataObject, case: SchemaCase) -> None:
    writer = parse_case(case)
    evolution = data.draw(evolved(case))
    try:
        reader = parse_case(evolution)
    except SchemaLoadError:
        event("evolution: not a valid schema")
        with pytest.raises(OracleError):
            java_avro.parse(evolution.root_text, evolution.reference_texts)
        return
    compatible = check(evolution.root, [case.root], "BACKWARD", named_types=_named(case)).compatible
    event(f"evolution: {'compatible' if compatible else 'incompatible'}")
    value = data.draw(values(writer))
    written = java_avro.encode(case.root_text, to_oracle(writer, value), case.reference_texts)
    try:
        theirs, _ = java_avro.decode(
            case.root_text,
            written,
            evolution.root_text,
            writer_references=case.reference_texts,
            reader_references=evolution.reference_texts,
        )
    except OracleError as refusal:
        if "Collection claims" in str(refusal):
            # Java's collection-size guard (AVRO-4241) counts the reader's element size even when the
            # writer's is smaller, so it refuses valid data under resolution; Java reads it as written.
            event("read: Java's collection guard over-estimates")
            java_avro.decode(case.root_text, written, writer_references=case.reference_texts)
            if compatible:
                Decoder(writer, reader).decode(written)
            return
        event("read: both refuse")
        with pytest.raises(SchemaViolationError):
            Decoder(writer, reader).decode(written)
        assert not compatible, "Java refused data across an evolution our checker calls compatible"
        return
    try:
        ours = Decoder(writer, reader).decode(written)
    except SchemaViolationError as exc:
        if documented_deviation(exc, theirs):
            event("read: documented deviation")
            return
        pytest.fail(f"Java reads it, we refuse ({exc}): writer {case.root_text} reader {evolution.root_text}")
    event("read: both read the same")
    assert disagreement(reader, theirs, ours) is None, (case.root_text, evolution.root_text, value)


def _named(case: SchemaCase) -> dict[str, Any]:
    return {full_name(ref): ref for ref in case.references}


def documented_deviation(error: SchemaViolationError, java: Any) -> bool:
    """The two places where we refuse what Java reads, on purpose (README, "Where we differ from Avro
    Java"): bytes that are not UTF-8 read as a string (Java puts U+FFFD in their place and the original is
    lost; we dead-letter the message with its bytes), and a logical value outside what Python holds (an
    instant outside the years 1 to 9999, which Java's Instant can hold and a datetime cannot)."""
    text = json.dumps(java)
    if isinstance(error, CorruptPayloadError) and "not valid UTF-8" in str(error):
        return "\\ufffd" in text
    return isinstance(error, UnrepresentableValueError) and "outside the years 1 to 9999" in str(error)


def test_the_oracle_is_java(java_avro: JavaAvro) -> None:
    """A known vector, so the suite is not comparing the codec with itself."""
    assert java_avro.encode('"long"', 1) == b"\x02"
    assert json.loads(json.dumps(java_avro.decode('"string"', b"\x02a")[0])) == "a"
