"""Quick checks of the Avro Java oracle harness itself: hand-written oracle JSON, bytes computed by hand."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from tests.oracle import JavaAvro, OracleError


@pytest.fixture(scope="module")
def avro() -> Iterator[JavaAvro]:
    with JavaAvro() as oracle:
        yield oracle


def _s(schema: Any) -> str:
    return json.dumps(schema)


# -- bytes written by hand --------------------------------------------------------------------------

KNOWN_BYTES = [
    ("long 1 is zigzag 2", '"long"', 1, b"\x02"),
    ("long -1 is zigzag 1", '"long"', -1, b"\x01"),
    ("int 64 needs a second varint byte", '"int"', 64, b"\x80\x01"),
    ("string: length then UTF-8", '"string"', "a", b"\x02a"),
    ("boolean is one byte", '"boolean"', True, b"\x01"),
    ("null is no bytes", '"null"', None, b""),
    (
        "float is 4 little-endian bytes of its bits",
        '"float"',
        {"float_bits": 0x3F800000},
        b"\x00\x00\x80\x3f",
    ),
    (
        "double is 8 little-endian bytes of its bits",
        '"double"',
        {"double_bits": str(0xC000000000000000)},
        b"\x00\x00\x00\x00\x00\x00\x00\xc0",
    ),
    ("a NaN payload is kept", '"float"', {"float_bits": 0xFFC00001}, b"\x01\x00\xc0\xff"),
]


@pytest.mark.parametrize(
    ("reason", "schema", "datum", "expected"), KNOWN_BYTES, ids=[r[0] for r in KNOWN_BYTES]
)
def test_known_bytes(avro: JavaAvro, reason: str, schema: str, datum: Any, expected: bytes) -> None:
    assert avro.encode(schema, datum) == expected
    assert avro.decode(schema, expected) == (datum, 0)


EVERY_PRIMITIVE = {
    "type": "record",
    "name": "Every",
    "namespace": "t",
    "fields": [
        {"name": "n", "type": "null"},
        {"name": "b", "type": "boolean"},
        {"name": "i", "type": "int"},
        {"name": "l", "type": "long"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "s", "type": "string"},
        {"name": "by", "type": "bytes"},
        {"name": "fx", "type": {"type": "fixed", "name": "Two", "size": 2}},
        {"name": "e", "type": {"type": "enum", "name": "Abc", "symbols": ["A", "B", "C"]}},
        {"name": "a", "type": {"type": "array", "items": "int"}},
        {"name": "m", "type": {"type": "map", "values": "long"}},
    ],
}


def test_record_with_every_primitive_round_trips_to_known_bytes(avro: JavaAvro) -> None:
    datum = {
        "n": None,
        "b": True,
        "i": -1,
        "l": 64,
        "f": {"float_bits": 0x3F800000},
        "d": {"double_bits": str(0xC000000000000000)},
        "s": "hé",
        "by": {"base64": "AP8="},
        "fx": {"base64": "YWI="},
        "e": "C",
        "a": [1, 2],
        "m": {"k": 3},
    }
    expected = bytes.fromhex(
        "01 01 8001 0000803f 00000000000000c0 0668c3a9 0400ff 6162 04 04020400 02026b0600"
    )
    data = avro.encode(_s(EVERY_PRIMITIVE), datum)
    assert data == expected
    assert avro.decode(_s(EVERY_PRIMITIVE), data) == (datum, 0)


# -- unions -----------------------------------------------------------------------------------------

UNION = [
    "null",
    "boolean",
    "int",
    "long",
    "float",
    "double",
    "bytes",
    "string",
    {"type": "record", "name": "R", "fields": [{"name": "x", "type": "int"}]},
    {"type": "enum", "name": "E", "symbols": ["X", "Y"]},
    {"type": "fixed", "name": "F", "size": 1},
    {"type": "array", "items": "int"},
    {"type": "map", "values": "int"},
    {"type": "fixed", "name": "G", "size": 1},
]
UNION_VALUES = [
    None,
    False,
    7,
    7,
    {"float_bits": 0x40E00000},
    {"double_bits": str(0x401C000000000000)},
    {"base64": "Bw=="},
    "7",
    {"x": 7},
    "Y",
    {"base64": "Bw=="},
    [7],
    {"k": 7},
    {"base64": "Bw=="},
]


@pytest.mark.parametrize("branch", range(len(UNION)))
def test_union_branch_comes_back(avro: JavaAvro, branch: int) -> None:
    datum = {"branch": branch, "value": UNION_VALUES[branch]}
    data = avro.encode(_s(UNION), datum)
    assert data[0] == 2 * branch  # the zigzag branch index leads
    assert avro.decode(_s(UNION), data) == (datum, 0)


def test_a_branch_java_cannot_select_is_an_error(avro: JavaAvro) -> None:
    # Any BigDecimal resolves to the first decimal branch, so the second cannot be written.
    union = [
        {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2},
        {"type": "fixed", "name": "D", "size": 4, "logicalType": "decimal", "precision": 4, "scale": 2},
    ]
    with pytest.raises(OracleError, match="cannot write branch 1"):
        avro.encode(_s(union), {"branch": 1, "value": {"unscaled": "1", "scale": 2}})


# -- logical types ----------------------------------------------------------------------------------

LOGICAL = [
    (
        "decimal on bytes: minimal two's complement",
        {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
        {"unscaled": "-12345", "scale": 2},
        b"\x04\xcf\xc7",
    ),
    (
        "decimal on fixed: sign-extended to the size",
        {"type": "fixed", "name": "Dec", "size": 4, "logicalType": "decimal", "precision": 9, "scale": 2},
        {"unscaled": "-1", "scale": 2},
        b"\xff\xff\xff\xff",
    ),
    (
        "big-decimal: unscaled bytes then the scale, in one bytes value",
        {"type": "bytes", "logicalType": "big-decimal"},
        {"unscaled": "-1", "scale": -3},
        b"\x06\x02\xff\x05",
    ),
    (
        "uuid on string: its canonical text",
        {"type": "string", "logicalType": "uuid"},
        "00000000-0000-0000-0000-00000000000a",
        b"\x48" + b"00000000-0000-0000-0000-00000000000a",
    ),
    (
        "uuid on fixed 16: its bytes",
        {"type": "fixed", "name": "U", "size": 16, "logicalType": "uuid"},
        "00000000-0000-0000-0000-00000000000a",
        bytes(15) + b"\x0a",
    ),
    ("date: days since the epoch", {"type": "int", "logicalType": "date"}, {"epoch_day": -1}, b"\x01"),
    (
        "time-millis: milliseconds of the day",
        {"type": "int", "logicalType": "time-millis"},
        {"nano_of_day": 1_000_000},
        b"\x02",
    ),
    (
        "time-micros: microseconds of the day",
        {"type": "long", "logicalType": "time-micros"},
        {"nano_of_day": 64_000},
        b"\x80\x01",
    ),
    (
        "timestamp-millis",
        {"type": "long", "logicalType": "timestamp-millis"},
        {"epoch_second": 1, "nano": 500_000_000},
        b"\xb8\x17",
    ),
    (
        "timestamp-micros before the epoch",
        {"type": "long", "logicalType": "timestamp-micros"},
        {"epoch_second": -1, "nano": 999_999_000},
        b"\x01",
    ),
    (
        "timestamp-nanos",
        {"type": "long", "logicalType": "timestamp-nanos"},
        {"epoch_second": 0, "nano": 64},
        b"\x80\x01",
    ),
    (
        "local-timestamp-millis",
        {"type": "long", "logicalType": "local-timestamp-millis"},
        {"local_epoch_second": 0, "nano": 1_000_000},
        b"\x02",
    ),
    (
        "local-timestamp-micros",
        {"type": "long", "logicalType": "local-timestamp-micros"},
        {"local_epoch_second": 0, "nano": 1_000},
        b"\x02",
    ),
    (
        "local-timestamp-nanos",
        {"type": "long", "logicalType": "local-timestamp-nanos"},
        {"local_epoch_second": 0, "nano": 1},
        b"\x02",
    ),
    (
        "duration: three unsigned little-endian ints",
        {"type": "fixed", "name": "Dur", "size": 12, "logicalType": "duration"},
        {"months": 1, "days": 2, "millis": 3},
        bytes.fromhex("01000000 02000000 03000000"),
    ),
    (
        "a logical type Avro ignores (decimal on int) leaves the plain form",
        {"type": "int", "logicalType": "decimal", "precision": 3},
        5,
        b"\x0a",
    ),
]


@pytest.mark.parametrize(("reason", "schema", "datum", "expected"), LOGICAL, ids=[r[0] for r in LOGICAL])
def test_logical_types(avro: JavaAvro, reason: str, schema: Any, datum: Any, expected: bytes) -> None:
    data = avro.encode(_s(schema), datum)
    assert data == expected
    assert avro.decode(_s(schema), data) == (datum, 0)


def test_decimal_is_rescaled_without_rounding(avro: JavaAvro) -> None:
    schema = _s({"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2})
    data = avro.encode(schema, {"unscaled": "15", "scale": 1})
    assert avro.decode(schema, data) == ({"unscaled": "150", "scale": 2}, 0)
    with pytest.raises(OracleError, match="without rounding"):
        avro.encode(schema, {"unscaled": "1234", "scale": 3})


def test_decimal_over_its_precision_is_an_error(avro: JavaAvro) -> None:
    schema = _s({"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2})
    with pytest.raises(OracleError, match="precision"):
        avro.encode(schema, {"unscaled": "12345", "scale": 2})


def test_a_plain_number_for_a_logical_type_is_an_error(avro: JavaAvro) -> None:
    with pytest.raises(OracleError, match="epoch_second"):
        avro.encode(_s({"type": "long", "logicalType": "timestamp-millis"}), 1500)


# -- resolution, trailing bytes ---------------------------------------------------------------------


def test_schema_resolution_fills_defaults_and_promotes(avro: JavaAvro) -> None:
    writer = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
    reader = {
        "type": "record",
        "name": "R",
        "fields": [{"name": "a", "type": "long"}, {"name": "b", "type": "string", "default": "x"}],
    }
    data = avro.encode(_s(writer), {"a": 5})
    assert avro.decode(_s(writer), data, _s(reader)) == ({"a": 5, "b": "x"}, 0)


def test_trailing_bytes_are_counted(avro: JavaAvro) -> None:
    assert avro.decode('"long"', b"\x02\x00\x00") == (1, 2)


def test_truncated_input_is_an_error_and_the_oracle_goes_on(avro: JavaAvro) -> None:
    with pytest.raises(OracleError, match="EOFException"):
        avro.decode('"string"', b"\x06a")
    assert avro.encode('"long"', 1) == b"\x02"


# -- parse, compatibility, references ---------------------------------------------------------------


def _crc64_avro(text: str) -> int:
    """The Avro spec's 64-bit Rabin fingerprint, written from the spec, as a signed long."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in text.encode("utf-8"):
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp - (1 << 64) if fp >= 1 << 63 else fp


def test_parse_gives_the_canonical_form_and_its_fingerprint(avro: JavaAvro) -> None:
    schema = {
        "type": "record",
        "name": "R",
        "namespace": "a.b",
        "doc": "dropped",
        "fields": [{"name": "x", "type": {"type": "int"}, "default": 1}],
    }
    canonical = '{"name":"a.b.R","type":"record","fields":[{"name":"x","type":"int"}]}'
    assert avro.parse(_s(schema)) == canonical
    assert avro.fingerprint(_s(schema)) == _crc64_avro(canonical)


INVALID_SCHEMAS = [
    ("a name may not start with a digit", {"type": "record", "name": "1R", "fields": []}),
    (
        "a default must fit its type",
        {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int", "default": "x"}]},
    ),
    ("a union may not repeat a type", ["int", "int"]),
    ("an unknown name", "Nowhere"),
]


@pytest.mark.parametrize(("reason", "schema"), INVALID_SCHEMAS, ids=[r[0] for r in INVALID_SCHEMAS])
def test_parse_rejects_invalid_schemas(avro: JavaAvro, reason: str, schema: Any) -> None:
    with pytest.raises(OracleError):
        avro.parse(_s(schema))


def test_compatible(avro: JavaAvro) -> None:
    writer = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
    widened = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "long"}]}
    assert avro.compatible(_s(widened), _s(writer)) == (True, [])

    added = {"type": "record", "name": "R", "fields": [*writer["fields"], {"name": "b", "type": "string"}]}
    ok, problems = avro.compatible(_s(added), _s(writer))
    assert not ok
    assert [p["type"] for p in problems] == ["READER_FIELD_MISSING_DEFAULT_VALUE"]
    assert "b" in problems[0]["message"]


def test_references_name_types_for_the_schema(avro: JavaAvro) -> None:
    address = {
        "type": "record",
        "name": "Address",
        "namespace": "com.example",
        "fields": [{"name": "city", "type": "string"}],
    }
    person = {
        "type": "record",
        "name": "Person",
        "namespace": "com.example",
        "fields": [{"name": "home", "type": "com.example.Address"}],
    }
    datum = {"home": {"city": "Oslo"}}
    data = avro.encode(_s(person), datum, references=[_s(address)])
    assert data == b"\x08Oslo"
    assert avro.decode(_s(person), data, writer_references=[_s(address)]) == (datum, 0)
    with pytest.raises(OracleError, match=r"com\.example\.Address"):
        avro.encode(_s(person), datum)


# -- the process ------------------------------------------------------------------------------------


def test_a_dead_process_is_an_error_then_a_new_one_starts(avro: JavaAvro) -> None:
    pid = avro.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(OracleError, match="oracle process"):
        avro.encode('"long"', 1)
    assert avro.encode('"long"', 1) == b"\x02"
    assert avro.pid not in (None, pid)
