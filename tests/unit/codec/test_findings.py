"""One test per finding of the outside correctness review (issue "Correct for every schema"), each
against the generated classes of the shipped catalog where the finding was made."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from pipeline.avro import parse_schema
from pipeline.codec import MAX_DEPTH, Decoder, Encoder
from pipeline.errors import CorruptPayloadError, InvalidRecordError, NestingLimitError
from pipeline.generated import customers, orders, payments, types
from pipeline.registry.serde import parse

pytestmark = pytest.mark.usefixtures("each_codec")  # the same answers from every codec path

UTC = dt.UTC


def payment(amount: Decimal, address: Any = None) -> Any:
    return types.PaymentEvent(
        payment_id=uuid.UUID(int=1),
        order_id="o-1",
        amount=types.Money(amount=amount, currency="EUR"),
        method=types.PaymentMethod.CARD,
        status=types.PaymentStatus.CAPTURED,
        billing_address=address,
        occurred_at=dt.datetime(2026, 1, 1, tzinfo=UTC),
    )


def an_order(created_at: dt.datetime) -> Any:
    return types.Order(
        order_id="o",
        customer_id="c",
        amount=1.0,
        product="p",
        status=types.OrderStatus.PENDING,
        created_at=created_at,
    )


ADDRESS = types.Address(line1="Hauptstraße 1", city="Berlin", postal_code="10115", country_code="DE")


def test_a_referenced_named_type_in_a_union_reads_back_from_the_registrys_form() -> None:
    """The bug itself: the writer schema as the registry holds it (the shared types by reference)
    reads set optional referenced fields into the generated classes."""
    binding = payments.BINDING.value
    writer = parse(binding.schema_text, {name: ref.schema_text for name, ref in binding.references})
    reader = binding.parsed()
    value = payment(Decimal("12.34"), ADDRESS)
    assert Decoder(writer, reader, types.MODEL).decode(Encoder(reader, types.MODEL).encode(value)) == value


@pytest.mark.parametrize(
    ("amount", "why"),
    [
        (Decimal("123456789012345678"), "20 digits at scale 2"),
        (Decimal("1E+17"), "20 digits at scale 2"),
        (Decimal("1.234"), "more than 2 decimal places"),
        (Decimal("NaN"), "not a finite Decimal"),
    ],
)
def test_1_a_decimal_beyond_its_precision_or_scale_is_refused_naming_the_field(
    amount: Decimal, why: str
) -> None:
    schema = payments.BINDING.value.parsed()
    with pytest.raises(InvalidRecordError, match=why) as raised:
        Encoder(schema, types.MODEL).encode(payment(amount))
    assert raised.value.field_path == "com.example.payments.PaymentEvent.amount.amount"


def test_1_the_largest_decimal_that_fits_is_written() -> None:
    schema = payments.BINDING.value.parsed()
    value = payment(Decimal("9999999999999999.99"))
    assert Decoder(schema, schema, types.MODEL).decode(Encoder(schema, types.MODEL).encode(value)) == value


def test_2_the_readers_logical_type_applies_when_a_newer_writer_drops_it() -> None:
    reader = orders.BINDING.value.parsed()
    text = json.loads(orders.BINDING.value.schema_text)
    created = next(f for f in text["fields"] if f["name"] == "created_at")
    created["type"] = "long"  # a compatible writer without the logical type
    writer = parse_schema(text)
    order = {"order_id": "o", "customer_id": "c", "amount": 1.0, "product": "p", "status": "PENDING",
             "created_at": 1_767_225_600_123}  # fmt: skip
    value = Decoder(writer, reader, types.MODEL).decode(Encoder(writer).encode(order))
    assert value.created_at == dt.datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)


def test_3_a_negative_enum_index_or_union_branch_is_corrupt() -> None:
    order_schema = orders.BINDING.value.parsed()
    order = an_order(dt.datetime(2026, 1, 1, tzinfo=UTC))
    data = bytearray(Encoder(order_schema, types.MODEL).encode(order))
    status_at = len(data) - 7  # the enum index, before the 6-byte timestamp varint
    assert data[status_at] == 0
    data[status_at] = 1  # zig-zag -1
    with pytest.raises(CorruptPayloadError, match="enum index -1"):
        Decoder(order_schema, order_schema, types.MODEL).decode(bytes(data))

    schema = payments.BINDING.value.parsed()
    data = bytearray(Encoder(schema, types.MODEL).encode(payment(Decimal("1.00"))))
    branch_at = len(data) - 7  # billing_address's branch, before the timestamp
    assert data[branch_at] == 0
    data[branch_at] = 1  # zig-zag -1
    with pytest.raises(CorruptPayloadError, match="union branch -1"):
        Decoder(schema, schema, types.MODEL).decode(bytes(data))


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))),  # year 0 in UTC
        dt.datetime(9999, 12, 31, 23, 30, tzinfo=dt.timezone(-dt.timedelta(hours=1))),  # year 10000
    ],
)
def test_4_an_instant_a_reader_cannot_hold_is_refused_at_the_producer(moment: dt.datetime) -> None:
    schema = orders.BINDING.value.parsed()
    order = an_order(moment)
    with pytest.raises(InvalidRecordError, match="outside the years 1 to 9999") as raised:
        Encoder(schema, types.MODEL).encode(order)
    assert raised.value.field_path == "com.example.orders.Order.created_at"


@pytest.mark.parametrize(
    ("amount", "unscaled"),
    [
        ("-1.28", b"\x80"),
        ("-1.29", b"\xff\x7f"),
        ("1.28", b"\x00\x80"),
        ("0.00", b"\x00"),
        ("-0.01", b"\xff"),
    ],
)
def test_5_decimals_are_minimal_twos_complement_as_java_writes_them(amount: str, unscaled: bytes) -> None:
    money = parse_schema(json.loads(payments.BINDING.value.references[1][1].schema_text))
    data = Encoder(money, types.MODEL).encode(types.Money(amount=Decimal(amount), currency="EUR"))
    assert data[1 : 1 + len(unscaled)] == unscaled and data[0] == len(unscaled) * 2


def test_6_a_union_takes_a_class_generated_elsewhere_for_the_same_avro_type() -> None:
    @dataclasses.dataclass(slots=True, kw_only=True)
    class Address:  # another module's class for the same Avro type
        __avro_name__ = "com.example.common.Address"
        line1: str
        line2: str | None = None
        city: str
        postal_code: str
        country_code: str

    schema = payments.BINDING.value.parsed()
    foreign = Address(line1="a", city="b", postal_code="c", country_code="DE")
    back = Decoder(schema, schema, types.MODEL).decode(
        Encoder(schema, types.MODEL).encode(payment(Decimal(1), foreign))
    )
    assert back.billing_address == types.Address(line1="a", city="b", postal_code="c", country_code="DE")


def test_7_shared_types_are_generated_once() -> None:
    assert payments.Money is customers.Money is types.Money
    assert payments.Address is customers.Address is types.Address


RECURSIVE = {
    "type": "record",
    "name": "Node",
    "namespace": "t",
    "fields": [{"name": "value", "type": "int"}, {"name": "next", "type": ["null", "Node"], "default": None}],
}


def _chain(depth: int) -> Any:
    value: Any = None
    for i in range(depth):
        value = {"value": i, "next": value}
    return value


def test_8_a_value_nested_too_deep_is_refused_with_a_sentence_and_read_as_a_dead_letter() -> None:
    schema = parse_schema(RECURSIVE)
    ok = _chain(MAX_DEPTH)
    assert Decoder(schema).decode(Encoder(schema).encode(ok)) == ok
    with pytest.raises(InvalidRecordError, match=f"nested more than {MAX_DEPTH} records deep"):
        Encoder(schema).encode(_chain(MAX_DEPTH + 1))
    with pytest.raises(InvalidRecordError, match="nested more than"):
        Encoder(schema).encode(_chain(5000))  # far past Python's own recursion limit: still a sentence
    # another writer's bytes, 5 000 levels deep: the reader stops, it does not crash
    deep = b"".join(b"\x00\x02" for _ in range(5000)) + b"\x00\x00"
    with pytest.raises(NestingLimitError, match="nested more than"):
        Decoder(schema).decode(deep)
