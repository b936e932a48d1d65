"""Our wire format is Confluent's: bytes we write decode with confluent-kafka's AvroDeserializer, and
bytes its AvroSerializer writes decode with ours, for every Avro type and logical type."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from pipeline.config import deserializer_config, serde_config
from pipeline.registry.serde import AvroDecoder, AvroEncoder, SchemaResolver, parse
from tests.conftest import StackHandle

pytestmark = pytest.mark.integration

SCHEMA_TEXT = json.dumps(json.loads((Path(__file__).parents[1] / "data" / "everything.avsc").read_text()))


def everything(i: int) -> dict[str, Any]:
    return {
        "null_field": None,
        "flag": i % 2 == 0,
        "small": -(2**31) + i,
        "big": 2**62 + i,
        "ratio": 0.5,
        "precise": 1 / 3,
        "blob": bytes(range(i % 256)),
        "text": f"naïve café {i} ✓",
        "digest": b"\x00\x01\x02\x03",
        "colour": ["RED", "GREEN", "BLUE"][i % 3],
        "tags": [f"t{j}" for j in range(i % 4)],
        "scores": {f"k{j}": j * i for j in range(3)},
        "maybe": None if i % 2 else "present",
        "either": [i, f"s{i}", b"abcd"][i % 3],
        "inner": {"label": "root", "children": [{"label": "leaf", "children": []}]},
        "price": Decimal("12345.67"),
        "fixed_price": Decimal("-1234.567"),
        "id": uuid.UUID(int=i),
        "day": date(2024, 2, 29),
        "at_millis": time(23, 59, 59, 999000),
        "at_micros": time(0, 0, 0, 1),
        "ts_millis": datetime(2026, 11, 27, 10, 0, 0, 123000, tzinfo=UTC),
        "ts_micros": datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    }


def _normalise(datum: dict[str, Any]) -> dict[str, Any]:
    # fastavro hands uuid back as UUID on read; compare on the string form either way.
    return {**datum, "id": str(datum["id"])}


@pytest.fixture(scope="module")
def subject(stack: StackHandle) -> tuple[str, int]:
    name = stack.unique("interop") + "-value"
    schema_id = stack.registry_client().register_schema(name, Schema(SCHEMA_TEXT, "AVRO"))
    return name, schema_id


@pytest.mark.parametrize("i", range(6))
def test_ours_encoded_reads_with_confluent_deserializer(
    stack: StackHandle, subject: tuple[str, int], i: int
) -> None:
    name, schema_id = subject
    client = stack.registry_client()
    encoder = AvroEncoder(parse(SCHEMA_TEXT), schema_id, name)
    data = encoder.encode(everything(i))

    theirs = AvroDeserializer(client, conf=deserializer_config())(
        data, SerializationContext(name.removesuffix("-value"), MessageField.VALUE)
    )
    assert _normalise(theirs) == _normalise(everything(i))

    serializer = AvroSerializer(client, SCHEMA_TEXT, conf=serde_config())
    assert data == serializer(
        everything(i), SerializationContext(name.removesuffix("-value"), MessageField.VALUE)
    )


@pytest.mark.parametrize("i", range(6))
def test_confluent_encoded_reads_with_ours(stack: StackHandle, subject: tuple[str, int], i: int) -> None:
    name, _ = subject
    client = stack.registry_client()
    serializer = AvroSerializer(client, SCHEMA_TEXT, conf=serde_config())
    data = serializer(everything(i), SerializationContext(name.removesuffix("-value"), MessageField.VALUE))
    assert data is not None
    ours = AvroDecoder(SchemaResolver(stack.registry()), parse(SCHEMA_TEXT)).decode(data)
    assert _normalise(ours) == _normalise(everything(i))


def test_resolver_looks_up_the_id_by_content_and_refuses_unregistered(
    stack: StackHandle, subject: tuple[str, int]
) -> None:
    from pipeline.errors import RegistryError

    name, schema_id = subject
    resolver = SchemaResolver(stack.registry())
    assert resolver.registered(name, SCHEMA_TEXT).schema_id == schema_id
    other = SCHEMA_TEXT.replace('"Everything"', '"Unregistered"')
    with pytest.raises(
        RegistryError, match=r"subject .*: this schema is not registered; run `make register-schemas`"
    ):
        resolver.registered(name, other)
