from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import Path
from uuid import UUID

import pytest

from pipeline.dlq.envelope import (
    DeadLetter,
    dead_letter_headers,
    envelope_field,
    header_text,
    json_to_datum,
    parse_dead_letter,
    record_to_json,
    split_headers,
)
from pipeline.registry.serde import parse


def test_headers_round_trip() -> None:
    letter = DeadLetter(
        stage="process",
        error_class="ValueError",
        error_message="boom",
        attempts=3,
        time=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
        original_topic="orders",
        original_partition=2,
        original_offset=41,
        original_timestamp=1795770000000,
        consumer_group="billing",
        field_path="Order.amount",
    )
    headers = dead_letter_headers(letter)
    assert all(name.startswith("dlq.") for name, _ in headers)
    assert ("dlq.original.offset", b"41") in headers
    assert parse_dead_letter([("trace", b"x"), *headers]) == letter


def test_absent_values_are_left_out() -> None:
    names = {name for name, _ in dead_letter_headers(DeadLetter("deserialize", "E", "m"))}
    assert names == {"dlq.stage", "dlq.error.class", "dlq.error.message", "dlq.attempts", "dlq.time"}


def test_split_keeps_original_headers_in_order() -> None:
    original, ours = split_headers([("a", b"1"), ("dlq.stage", b"process"), ("b", None), ("a", b"2")])
    assert original == [("a", b"1"), ("b", None), ("a", b"2")]
    assert ours == {"stage": "process"}


def test_not_a_dead_letter() -> None:
    with pytest.raises(ValueError, match=r"no dlq\.stage header"):
        parse_dead_letter([("a", b"1")])


def test_unknown_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="stage 'later'"):
        DeadLetter("later", "E", "m")


def test_long_error_messages_are_capped() -> None:
    headers = dict(dead_letter_headers(DeadLetter("process", "E", "x" * 10_000)))
    assert len(headers["dlq.error.message"]) == 4000


EVERYTHING = parse((Path(__file__).parents[2] / "data" / "everything.avsc").read_text())


class Colour(Enum):
    RED = "RED"


@dataclass
class Thing:
    name: str


def test_record_to_json_handles_every_avro_python_type() -> None:
    record = {
        "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "day": date(2026, 1, 2),
        "price": Decimal("1.10"),
        "id": UUID(int=1),
        "blob": b"\x00\xff",
        "colour": Colour.RED,
        "thing": Thing("x"),
    }
    assert json.loads(record_to_json(record)) == {
        "blob": {"$bytes_base64": "AP8="},
        "colour": "RED",
        "day": "2026-01-02",
        "id": "00000000-0000-0000-0000-000000000001",
        "price": "1.10",
        "thing": {"name": "x"},
        "when": "2026-01-02T03:04:05+00:00",
    }


def test_json_round_trip_back_to_an_avro_datum() -> None:
    from pipeline.codec import Decoder, Encoder
    from pipeline.dlq.envelope import json_to_datum
    from pipeline.registry.serde import parse

    schema = parse((Path(__file__).parents[2] / "data" / "everything.avsc").read_text())
    datum = {
        "null_field": None,
        "flag": True,
        "small": 1,
        "big": 2**40,
        "ratio": 0.5,
        "precise": 0.25,
        "blob": b"\x00\x01",
        "text": "t",
        "digest": b"abcd",
        "colour": "GREEN",
        "tags": ["x"],
        "scores": {"a": 1},
        "maybe": "m",
        "either": b"wxyz",
        "inner": {"label": "l", "children": []},
        "price": Decimal("1.25"),
        "fixed_price": Decimal("2.500"),
        "id": UUID(int=5),
        "day": date(2026, 2, 3),
        "at_millis": time(1, 2, 3, 4000),
        "at_micros": time(1, 2, 3, 4),
        "ts_millis": datetime(2026, 1, 1, 12, tzinfo=UTC),
        "ts_micros": datetime(2026, 1, 1, 12, 0, 0, 5, tzinfo=UTC),
    }
    back = json_to_datum(schema, json.loads(record_to_json(datum)))
    assert Decoder(schema).decode(Encoder(schema).encode(back)) == datum


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        pytest.param("colour", "PURPLE", "is not one of", id="unknown enum symbol"),
        pytest.param("small", "one", "is not an int", id="string for int"),
        pytest.param("small", 2**40, "32-bit range", id="int out of range"),
        pytest.param("blob", "text", "expected bytes", id="string for bytes"),
        pytest.param("digest", {"$bytes_base64": "AA=="}, "expected 4 bytes", id="fixed size"),
    ],
)
def test_json_that_does_not_fit_is_refused(field: str, value: object, message: str) -> None:

    from pipeline.registry.serde import parse

    schema = parse((Path(__file__).parents[2] / "data" / "everything.avsc").read_text())
    (entry,) = [f for f in schema.fields if f.name == field]
    with pytest.raises(ValueError, match=message):
        json_to_datum(entry.type, value)


@pytest.mark.parametrize(
    ("name", "attr"),
    [
        ("dlq.field.path", "field_path"),
        ("field.path", "field_path"),
        ("field_path", "field_path"),
        ("dlq.error.class", "error_class"),
        ("error-class", "error_class"),
        ("DLQ.Stage", "stage"),
        ("dlq.original.offset", "original_offset"),
        ("dlq.schema.version", "schema_version"),
    ],
)
def test_filters_take_the_documented_header_names_and_the_short_ones(name: str, attr: str) -> None:
    assert envelope_field(name) == attr


def test_an_unknown_header_name_is_refused_listing_the_valid_ones() -> None:
    with pytest.raises(ValueError) as caught:
        envelope_field("dlq.colour")
    message = str(caught.value)
    assert "'dlq.colour' is not a dead-letter header" in message and "\n" not in message
    for name in ("dlq.stage", "dlq.error.class", "dlq.field.path", "dlq.original.topic", "dlq.content.type"):
        assert name in message


def test_header_text_is_what_the_header_carries() -> None:
    when = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    letter = DeadLetter("process", "Boom", "x" * 5000, attempts=4, time=when, original_partition=0)
    headers = {name: value.decode() for name, value in dead_letter_headers(letter)}
    for attr in ("stage", "error_class", "error_message", "attempts", "time", "original_partition"):
        assert header_text(letter, attr) == headers["dlq." + attr.replace("_", ".")]
    assert header_text(letter, "field_path") is None
