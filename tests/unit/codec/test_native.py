"""The native codec against the compiled Python codec it hands its unusual cases to: over generated
schemas, values, damaged bodies and values of the wrong shape, both give the same answer -- the same
bytes, the same value and end, or the same error."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pipeline.avro import Record, parse_schema
from pipeline.codec import backend, native
from pipeline.codec.compiled import compile_decoder, compile_encoder
from tests.generative.schemas import SchemaCase, full_name, schema_cases
from tests.generative.values import build_model, values

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def _native_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.CODEC_VARIABLE, "native")


def parse_case(case: SchemaCase):  # type: ignore[no-untyped-def]
    return parse_schema(case.root, named_types={full_name(ref): ref for ref in case.references})


def outcome(function: Any, *args: Any) -> Any:
    """What a codec function answers: its result (as its repr, so that NaN equals NaN), or the type and
    text of what it raised."""
    try:
        return ("value", repr(function(*args)))
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))


def encoded(function: Any, value: Any) -> Any:
    buf = bytearray(b"\x01\x02")  # the codecs append to what the caller has written
    answer = outcome(function, value, buf)
    return answer if answer[0] == "raised" else bytes(buf)


def test_the_extension_is_built_where_a_c_compiler_is() -> None:
    if shutil.which("cc") or shutil.which("gcc"):
        assert native.available() and backend() == "native"


@SETTINGS
@given(st.data(), schema_cases(), st.booleans())
def test_same_bytes_and_values_as_the_compiled_codec(
    data: st.DataObject, case: SchemaCase, typed: bool
) -> None:
    schema = parse_case(case)
    model = build_model(schema) if typed else None
    value = data.draw(values(schema, model))
    ours, theirs = native.native_encoder(schema, model), compile_encoder(schema, model)
    assert ours is not None
    body = encoded(theirs, value)
    assert encoded(ours, value) == body
    reader, decoder = native.native_decoder(schema, schema, model), compile_decoder(schema, schema, model)
    assert reader is not None
    assert outcome(reader, body, 2) == outcome(decoder, body, 2)


@SETTINGS
@given(st.data(), schema_cases(), st.booleans())
def test_damaged_bodies_get_the_compiled_codecs_answer(
    data: st.DataObject, case: SchemaCase, typed: bool
) -> None:
    schema = parse_case(case)
    model = build_model(schema) if typed else None
    body = bytearray(encoded(compile_encoder(schema, model), data.draw(values(schema, model))))
    damage = data.draw(st.sampled_from(["truncate", "flip", "append", "replace"]))
    if damage == "truncate":
        del body[data.draw(st.integers(2, len(body))) :]
    elif damage == "flip" and len(body) > 2:
        at = data.draw(st.integers(2, len(body) - 1))
        body[at] = data.draw(st.integers(0, 255))
    elif damage == "append":
        body += data.draw(st.binary(min_size=1, max_size=12))
    else:
        body[2:] = data.draw(st.binary(max_size=64))
    damaged = bytes(body)
    reader = native.native_decoder(schema, schema, model)
    assert outcome(reader, damaged, 2) == outcome(compile_decoder(schema, schema, model), damaged, 2)


@SETTINGS
@given(st.data(), schema_cases(), st.booleans(), st.booleans())
def test_one_of_several_types_is_read_natively_with_the_compiled_codecs_answers(
    data: st.DataObject, case: SchemaCase, typed: bool, damaged: bool
) -> None:
    """A topic with several types reads each writer's record as the branch of their union Java picks."""
    writer = parse_case(case)
    assume(isinstance(writer, Record))
    other = {"type": "record", "name": "zz_other.Other", "fields": [{"name": "o", "type": "long"}]}
    branches = [other, case.root] if data.draw(st.booleans()) else [case.root, other]
    reader = parse_schema(branches, named_types={full_name(ref): ref for ref in case.references})
    model = build_model(reader) if typed else None
    body = bytearray(encoded(compile_encoder(writer, model), data.draw(values(writer, model))))
    if damaged:
        body[data.draw(st.integers(2, len(body))) :] = data.draw(st.binary(max_size=8))
    ours = native.native_decoder(writer, reader, model)
    assert ours is not None, "read natively"
    assert outcome(ours, bytes(body), 2) == outcome(compile_decoder(writer, reader, model), bytes(body), 2)


_ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.binary(max_size=5),
    st.datetimes(timezones=st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=5))])),
    st.uuids(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
    st.just(float("inf")),
    st.just(2**70),
    st.just("\ud800"),
)


@SETTINGS
@given(st.data(), schema_cases(), st.booleans())
def test_values_of_the_wrong_shape_are_refused_alike(
    data: st.DataObject, case: SchemaCase, typed: bool
) -> None:
    schema = parse_case(case)
    model = build_model(schema) if typed else None
    value = data.draw(st.one_of(_ODD, values(schema, model)))
    ours = native.native_encoder(schema, model)
    assert encoded(ours, value) == encoded(compile_encoder(schema, model), value)


def test_records_nested_past_the_limit_are_refused_alike() -> None:
    schema = parse_schema(
        {"type": "record", "name": "Node", "fields": [{"name": "next", "type": ["null", "Node"]}]}
    )
    model = build_model(schema)
    deep: Any = None
    for _ in range(200):
        deep = model["Node"](next=deep)
    refused = encoded(native.native_encoder(schema, model), deep)
    assert refused == encoded(compile_encoder(schema, model), deep)
    assert refused[0] == "raised"
    body = b"\x02" * 200 + b"\x00"
    answer = outcome(native.native_decoder(schema, schema, model), body, 0)
    assert answer == outcome(compile_decoder(schema, schema, model), body, 0)
    assert answer[:2] == ("raised", "NestingLimitError")


def test_common_logical_values_are_read_natively_as_python_reads_them() -> None:
    schema = parse_schema(
        {
            "type": "record",
            "name": "Times",
            "fields": [
                {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
                {"name": "local", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
                {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
            ],
        }
    )
    value = {
        "at": dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        "local": dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
        "id": uuid.UUID(int=7),
    }
    body = encoded(native.native_encoder(schema), value)
    assert body == encoded(compile_encoder(schema), value)
    assert outcome(native.native_decoder(schema, schema), body, 2) == ("value", repr((value, len(body))))


def test_writer_and_reader_that_differ_stay_with_schema_resolution() -> None:
    writer = parse_schema({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})
    reader = parse_schema({"type": "record", "name": "R", "fields": [{"name": "a", "type": "long"}]})
    same = parse_schema({"type": "record", "name": "R", "doc": "d", "fields": [{"name": "a", "type": "int"}]})
    assert native.native_decoder(writer, reader) is None
    assert native.native_decoder(writer, same) is not None


def test_python_can_be_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.CODEC_VARIABLE, "python")
    assert backend() == "compiled Python"
    assert native.native_encoder(parse_schema("long")) is None


def test_without_the_extension_one_notice_line(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    monkeypatch.setattr(native, "_native", None)
    monkeypatch.setattr(native, "_MISSING", "No module named 'pipeline.codec._native'")
    monkeypatch.setattr(native, "_noticed", False)
    with caplog.at_level(logging.WARNING):
        assert backend() == "compiled Python"
        assert native.native_encoder(parse_schema("long")) is None
    assert [r.getMessage() for r in caplog.records] == [
        "pipeline: the native codec is not built (No module named 'pipeline.codec._native'); "
        "running the compiled Python codec"
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-2, 20),
            st.integers(-5, 2_000_000),
            st.integers(0, 1),
            st.integers(-2, 2),
            st.lists(st.integers(-2, 5), max_size=3).map(tuple),
            st.sampled_from([None, dict, 3]),
            st.sampled_from([None, ("a",), (1, 2), "x"]),
            st.none(),
            st.sampled_from([None, {}, (), ("A",), (b"",)]),
            st.sampled_from([None, str]),
            st.sampled_from([None, print]),
        ),
        max_size=4,
    ),
    st.integers(-1, 4),
    st.booleans(),
)
def test_a_malformed_program_is_refused_not_run(nodes: list[Any], root: int, encoder: bool) -> None:
    try:
        program = native._native.Program(nodes, root, encoder, print)  # type: ignore[union-attr]
    except (ValueError, TypeError, OverflowError):
        return
    assert callable(program)
