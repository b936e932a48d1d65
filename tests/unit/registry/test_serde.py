"""Encoding and decoding without a registry: the resolver is given its schemas directly."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

import fastavro
import pytest

from pipeline.codec import wire
from pipeline.errors import (
    CorruptPayloadError,
    InvalidRecordError,
    SchemaMismatchError,
    UnknownSchemaError,
    WireFormatError,
)
from pipeline.registry.serde import AvroDecoder, AvroEncoder, OneOfEncoder, SchemaResolver, parse

pytestmark = pytest.mark.usefixtures("each_codec")  # the same answers from every codec path

V1 = {"type": "record", "name": "User", "namespace": "t", "fields": [{"name": "name", "type": "string"}]}
V2 = {
    "type": "record",
    "name": "User",
    "namespace": "t",
    "fields": [{"name": "name", "type": "string"}, {"name": "age", "type": "int", "default": -1}],
}
OTHER = {"type": "record", "name": "Other", "namespace": "t", "fields": [{"name": "x", "type": "int"}]}


class KnownSchemas(SchemaResolver):
    """A resolver that knows its schemas up front (the registry's part is tested on the real stack)."""

    def __init__(self, schemas: dict[int, Any]) -> None:
        self._schemas = {schema_id: parse(schema) for schema_id, schema in schemas.items()}
        self.fetches = 0

    def writer_schema(self, schema_id: int) -> Any:
        self.fetches += 1
        if schema_id not in self._schemas:
            raise UnknownSchemaError(f"schema id {schema_id} is not known to the registry")
        return self._schemas[schema_id]


def _body(schema: Any, datum: Any) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema), datum)
    return buf.getvalue()


def test_encode_frames_and_decodes_back() -> None:
    data = AvroEncoder(parse(V1), 7, "users-value").encode({"name": "ada"})
    assert data[:5] == wire.header(7)
    assert AvroDecoder(KnownSchemas({7: V1}), parse(V1)).decode(data) == {"name": "ada"}


def test_old_writer_resolves_to_new_reader_and_plan_is_cached() -> None:
    resolver = KnownSchemas({1: V1, 2: V2})
    decoder = AvroDecoder(resolver, parse(V2))
    assert decoder.decode(wire.frame(1, _body(V1, {"name": "a"}))) == {"name": "a", "age": -1}
    assert decoder.decode(wire.frame(2, _body(V2, {"name": "b", "age": 3}))) == {"name": "b", "age": 3}
    decoder.decode(wire.frame(1, _body(V1, {"name": "c"})))
    assert resolver.fetches == 2, "each writer schema fetched once"


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        pytest.param(
            wire.frame(9, _body(V1, {"name": "x"})), UnknownSchemaError, "schema id 9", id="unknown id"
        ),
        pytest.param(
            wire.frame(1, _body(V1, {"name": "abcdef"})[:-2]),
            CorruptPayloadError,
            "truncated",
            id="truncated",
        ),
        pytest.param(
            wire.frame(1, _body(V1, {"name": "x"}) + b"\x00"),
            CorruptPayloadError,
            "1 bytes after the end",
            id="trailing",
        ),
        pytest.param(
            wire.frame(3, _body(OTHER, {"x": 1})), SchemaMismatchError, "has no field name", id="other record"
        ),
        pytest.param(b"\x02" + wire.frame(1, b"")[1:], WireFormatError, "magic byte is 2", id="magic"),
    ],
)
def test_decode_errors_say_what_is_wrong(data: bytes, error: type[Exception], message: str) -> None:
    decoder = AvroDecoder(KnownSchemas({1: V1, 3: OTHER}), parse(V1), topic="users")
    with pytest.raises(error, match=message):
        decoder.decode(data)


@pytest.mark.parametrize(
    ("datum", "field_path"),
    [
        pytest.param({"name": 5}, "t.User.name", id="wrong type"),
        pytest.param({}, "t.User.name", id="missing field"),
    ],
)
def test_invalid_records_name_the_field(datum: dict[str, Any], field_path: str) -> None:
    with pytest.raises(InvalidRecordError, match=f"subject users-value: {field_path}: ") as info:
        AvroEncoder(parse(V1), 1, "users-value").encode(datum)
    assert info.value.field_path == field_path


def test_one_of_several_types_writes_each_value_under_its_own_type() -> None:
    """Whatever was sent before, a value goes to its own type's encoder, and a value of none of the
    topic's types is refused."""
    from pipeline.generated.shipments import BINDING, ShipmentDelivered, ShipmentDispatched

    encoders = [
        AvroEncoder(value.parsed(), 10 + i, value.subject, BINDING.classes)
        for i, value in enumerate(BINDING.values)
    ]
    one_of = OneOfEncoder(encoders, BINDING.classes)
    delivered = ShipmentDelivered(signed_by=None, delivered_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    dispatched = ShipmentDispatched(
        tracking_number="t-1",
        expected_on=dt.date(2026, 1, 3),
        dispatched_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    for value, schema_id in [(delivered, 12), (dispatched, 11), (delivered, 12), (dispatched, 11)]:
        assert wire.unframe(one_of.encode(value))[0] == schema_id
    with pytest.raises(InvalidRecordError, match="none of this topic's types"):
        one_of.encode(
            BINDING.classes["com.example.shipments.ShipmentKey"](shipment_id=uuid.uuid4(), carrier="x")
        )
