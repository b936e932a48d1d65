"""The compiled codec (pipeline.compiled_codec) against fastavro, byte for byte and datum for datum.

Every compiled encoding must equal fastavro's bytes (or decline with Fallback); every compiled decoding
must equal fastavro's datum, tagged and untagged. Random datums cover each type; a table covers the
edges (union members, ranges, defaults) with a reason per row."""

from __future__ import annotations

import io
import json
import random
import struct
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastavro
import pytest

from pipeline.compiled_codec import Unsupported, compile_decoder, compile_encoder
from pipeline.serde import parse

EVERYTHING = json.loads((Path(__file__).parents[1] / "data" / "everything.avsc").read_text())
ORDER = json.loads((Path(__file__).parents[2] / "schemas" / "com.example.orders.Order.avsc").read_text())

NESTED = {
    "type": "record",
    "name": "t.Outer",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "when", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
        {"name": "maybe_text", "type": ["string", "null"]},
        {"name": "maybe_int", "type": ["null", "int"]},
        {"name": "maybe_double", "type": ["null", "double"]},
        {
            "name": "payload",
            "type": [
                "null",
                {"type": "record", "name": "t.A", "fields": [{"name": "a", "type": "string"}]},
                {
                    "type": "record",
                    "name": "t.B",
                    "fields": [{"name": "b", "type": {"type": "array", "items": "int"}}],
                },
                {"type": "enum", "name": "t.E", "symbols": ["X", "Y"]},
            ],
        },
        {"name": "again", "type": ["null", "t.A"]},
        {"name": "nested", "type": {"type": "map", "values": {"type": "array", "items": ["null", "t.A"]}}},
        {"name": "flags", "type": {"type": "array", "items": "boolean"}},
        {"name": "f32", "type": "float"},
        {"name": "local", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
    ],
}


def _fastavro_bytes(schema: Any, datum: Any) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, schema, datum)
    return out.getvalue()


def _fastavro_read(schema: Any, data: bytes, tagged: bool) -> Any:
    return fastavro.schemaless_reader(io.BytesIO(data), schema, None, return_named_type=tagged)


def _compiled_bytes(schema: Any, datum: Any) -> bytes | None:
    buf = bytearray()
    try:
        compile_encoder(schema)(datum, buf)
    except Exception:  # the contract: any exception sends the datum to fastavro
        return None
    return bytes(buf)


class _Random:
    """Random datums in the canonical shapes the generated code produces (tuples for named union
    members), for any parsed schema."""

    def __init__(self, schema: Any, seed: int) -> None:
        self.named = schema.get("__named_schemas", {})
        self.rng = random.Random(seed)
        self.depth = 0

    def datum(self, schema: Any) -> Any:
        rng = self.rng
        if isinstance(schema, str) and schema in self.named:
            schema = self.named[schema]
        if isinstance(schema, list):
            branch = rng.choice(schema if self.depth < 3 else [b for b in schema if b == "null"] or schema)
            value = self.datum(branch)
            resolved = self.named.get(branch, branch) if isinstance(branch, str) else branch
            if isinstance(resolved, dict) and resolved["type"] in ("record", "enum", "fixed"):
                return (resolved["name"], value)
            return value
        kind = schema if isinstance(schema, str) else schema["type"]
        logical = schema.get("logicalType") if isinstance(schema, dict) else None
        if logical == "timestamp-millis":
            return datetime.fromtimestamp(rng.randrange(-(10**11), 10**11) / 1000, UTC)
        if logical in ("timestamp-micros", "local-timestamp-micros"):
            moment = datetime.fromtimestamp(rng.randrange(-(10**14), 10**14) / 10**6, UTC)
            return moment.replace(tzinfo=None) if logical.startswith("local") else moment
        if logical == "date":
            return date.fromordinal(rng.randrange(1, 800_000))
        if logical in ("time-millis", "time-micros"):
            micro = (
                rng.randrange(0, 10**6)
                // (1000 if logical == "time-millis" else 1)
                * (1000 if logical == "time-millis" else 1)
            )
            return time(rng.randrange(24), rng.randrange(60), rng.randrange(60), micro)
        if logical == "uuid":
            return uuid.UUID(int=rng.getrandbits(128))
        if logical == "decimal":
            digits = rng.randrange(1, schema["precision"] + 1)
            unscaled = rng.randrange(-(10**digits) + 1, 10**digits)
            return Decimal(unscaled).scaleb(-schema.get("scale", 0))
        self.depth += 1
        try:
            return self._plain(schema, kind)
        finally:
            self.depth -= 1

    def _plain(self, schema: Any, kind: str) -> Any:
        rng = self.rng
        if kind == "null":
            return None
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "int":
            return rng.choice(
                [0, 1, -1, 63, 64, -64, -65, 2**31 - 1, -(2**31), rng.randrange(-(2**31), 2**31)]
            )
        if kind == "long":
            return rng.choice([0, 63, 64, -65, 2**63 - 1, -(2**63), rng.randrange(-(2**63), 2**63)])
        if kind in ("float", "double"):
            value = rng.uniform(-1e6, 1e6)
            return struct.unpack("<f", struct.pack("<f", value))[0] if kind == "float" else value
        if kind == "string":
            return "".join(rng.choice("aé✓ 9\u00ff") for _ in range(rng.randrange(0, 80)))
        if kind == "bytes":
            return rng.randbytes(rng.randrange(0, 100))
        if kind == "fixed":
            return rng.randbytes(schema["size"])
        if kind == "enum":
            return rng.choice(schema["symbols"])
        if kind == "array":
            return [self.datum(schema["items"]) for _ in range(rng.randrange(0, 4 if self.depth < 3 else 1))]
        if kind == "map":
            n = rng.randrange(0, 4 if self.depth < 3 else 1)
            return {f"k{i}é": self.datum(schema["values"]) for i in range(n)}
        if kind in ("record", "error"):
            return {f["name"]: self.datum(f["type"]) for f in schema["fields"]}
        raise AssertionError(kind)


@pytest.mark.parametrize(
    ("name", "raw"),
    [("everything", EVERYTHING), ("order", ORDER), ("nested unions, maps, logical", NESTED)],
)
def test_random_datums_encode_and_decode_exactly_as_fastavro(name: str, raw: Any) -> None:
    schema = parse(raw)
    encode, plain, tagged = (
        compile_encoder(schema),
        compile_decoder(schema),
        compile_decoder(schema, tagged=True),
    )
    compiled = 0
    for seed in range(300):
        datum = _Random(schema, seed).datum(schema)
        expected = _fastavro_bytes(schema, datum)
        buf = bytearray()
        try:
            encode(datum, buf)
        except Exception:
            pass
        else:
            compiled += 1
            assert bytes(buf) == expected, f"{name} seed {seed}"
        for decoder, is_tagged in ((plain, False), (tagged, True)):
            value, end = decoder(expected, 0)
            assert end == len(expected)
            assert value == _fastavro_read(schema, expected, is_tagged), (
                f"{name} seed {seed} tagged={is_tagged}"
            )
    assert compiled > 0, "the canonical shapes take the compiled path"


@pytest.mark.parametrize(
    ("schema", "datum", "compiled", "reason"),
    [
        ("long", 5, True, "small non-negative long: one byte"),
        ("long", -(2**63), True, "the smallest long"),
        ("long", 2**63, False, "past 64 bits: fastavro decides (it raises)"),
        ("long", True, False, "a bool is not a long here; fastavro takes it as 1"),
        ("double", 3, False, "an int for a double: fastavro converts"),
        ("float", 1e40, False, "too big for 32 bits: struct refuses, fastavro's C cast decides"),
        ("string", b"x", False, "bytes for a string"),
        (["null", "int"], 2**31, False, "an int branch takes 32 bits only (fastavro validates members)"),
        (["null", "int"], 2**31 - 1, True, "the largest int"),
        (["null", "string"], None, True, "None picks null"),
        (["string", "null"], "x", True, "the one other branch"),
        (["int", "string"], "x", False, "two non-null branches: fastavro matches by validation"),
        (["null", "string"], ("string", "x"), True, "a tuple names its branch"),
        (["null", "string"], ("nope", "x"), False, "an unknown branch name: fastavro raises"),
        ({"type": "array", "items": "int"}, (1, 2), False, "a tuple for an array"),
        ({"type": "enum", "name": "E", "symbols": ["A"]}, "B", False, "an unknown symbol: fastavro raises"),
        (
            {"type": "enum", "name": "E", "symbols": [f"S{i}" for i in range(70)]},
            "S63",
            True,
            "last 1-byte index",
        ),
        (
            {"type": "enum", "name": "E", "symbols": [f"S{i}" for i in range(70)]},
            "S64",
            True,
            "a 2-byte index",
        ),
        ({"type": "fixed", "name": "F", "size": 2}, b"abc", False, "wrong size"),
        (
            {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int", "default": 1}]},
            {},
            False,
            "a missing field: fastavro applies the default",
        ),
        (
            {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]},
            {"a": 1, "extra": 2},
            True,
            "extra keys are ignored, as fastavro does",
        ),
    ],
)
def test_encoder_takes_canonical_datums_and_leaves_the_rest_to_fastavro(
    schema: Any, datum: Any, compiled: bool, reason: str
) -> None:
    parsed = fastavro.parse_schema(schema)
    got = _compiled_bytes(parsed, datum)
    assert (got is not None) == compiled, reason
    if got is not None:
        assert got == _fastavro_bytes(parsed, datum), reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\x0a" + b"abc", "a string of 5 bytes with 3 left"),
        (b"\x01", "a negative length"),
        (b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", "a varint of more than 10 bytes"),
        (b"\x04\xff\xfe", "not UTF-8"),
    ],
)
def test_corrupt_input_raises(data: bytes, reason: str) -> None:
    decode = compile_decoder(fastavro.parse_schema("string"))
    with pytest.raises((IndexError, ValueError, EOFError, UnicodeDecodeError)):
        decode(data, 0)


def test_decoder_reports_where_the_datum_ends_so_trailing_bytes_can_be_refused() -> None:
    schema = parse(ORDER)
    datum = {
        "order_id": "o-1",
        "customer_id": "c-1",
        "amount": 9.5,
        "product": "tamper",
        "status": "SHIPPED",
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    data = _fastavro_bytes(schema, datum)
    value, end = compile_decoder(schema)(b"\x00\x00\x00\x00\x07" + data + b"junk", 5)
    assert value == datum and end == 5 + len(data)


def test_a_truncated_double_raises() -> None:
    with pytest.raises(struct.error):
        compile_decoder(fastavro.parse_schema("double"))(b"\x00\x01", 0)


def test_an_unknown_type_is_unsupported() -> None:
    with pytest.raises(Unsupported):
        compile_decoder({"type": "weird"})


def test_flat_records_are_built_as_their_generated_class() -> None:
    """With the generated classes, a flat record comes out as exactly what ``from_avro`` builds."""
    import datetime as dt

    from pipeline.compiled_codec import builds_class
    from pipeline.generated import orders, payments

    parsed = orders.BINDING.value.parsed()
    plain = compile_decoder(parsed, tagged=True)
    fused = compile_decoder(parsed, tagged=True, classes=orders.BINDING.classes)
    assert builds_class(parsed, orders.BINDING.classes)
    rng = random.Random(3)
    for i in range(200):
        order = orders.Order(
            order_id=f"o-{i}",
            customer_id=f"c-{rng.randrange(100)}",
            amount=rng.random() * 1000,
            product="ünïcode ✓" if i % 2 else "",
            status=rng.choice(list(orders.OrderStatus)),
            created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            + dt.timedelta(milliseconds=rng.randrange(10**11)),
        )
        data = _fastavro_bytes(parsed, order.to_avro())
        built, end = fused(data, 0)
        assert type(built) is orders.Order and end == len(data)
        assert built == order == orders.Order.from_avro(plain(data, 0)[0])

    # A record with a nested record, a union of a record, ... is left to from_avro.
    assert not builds_class(payments.BINDING.value.parsed(), payments.BINDING.classes)
    assert not builds_class(parsed, {}), "without its class nothing is built"


def test_flat_build_keeps_primitive_unions_and_keyword_field_names() -> None:
    import dataclasses
    import enum as enum_module

    from pipeline.compiled_codec import builds_class

    class Kind(enum_module.Enum):
        A = "A"
        B = "B"

    @dataclasses.dataclass(kw_only=True)
    class Flat:
        class_: str
        maybe: str | None
        kind: Kind

    schema = fastavro.parse_schema(
        {
            "type": "record",
            "name": "t.Flat",
            "fields": [
                {"name": "class", "type": "string"},
                {"name": "maybe", "type": ["null", "string"]},
                {"name": "kind", "type": {"type": "enum", "name": "t.Kind", "symbols": ["A", "B"]}},
            ],
        }
    )
    classes = {"t.Flat": Flat, "t.Kind": Kind}
    assert builds_class(schema, classes)
    decode = compile_decoder(schema, tagged=True, classes=classes)
    for maybe in (None, "x"):
        data = _fastavro_bytes(schema, {"class": "c", "maybe": maybe, "kind": "B"})
        assert decode(data, 0)[0] == Flat(class_="c", maybe=maybe, kind=Kind.B)
