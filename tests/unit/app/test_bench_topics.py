"""The benchmark's topics (pipeline.app.bench.topics): a generated binding moved onto a fresh topic keeps
its schemas and renames every subject it uses after that topic; the records and keys it sends there."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.app.bench.topics import rebind, sample_records, subjects
from pipeline.avro import Record, Union
from pipeline.codec import AVRO_NAME, attribute_names
from pipeline.codec.values import type_name
from pipeline.generated import customer_activity, customers, orders, payments, shipments
from pipeline.kafka.binding import TopicBinding

BINDINGS = [m.BINDING for m in (orders, payments, customers, shipments, customer_activity)]
TOPIC = st.from_regex(r"[A-Za-z0-9._-]{1,60}", fullmatch=True)


@pytest.mark.parametrize("binding", BINDINGS, ids=lambda b: b.topic)
@given(topic=TOPIC)
def test_every_subject_is_renamed_after_the_new_topic_and_nothing_else_changes(
    binding: TopicBinding, topic: str
) -> None:
    moved = rebind(binding, topic)
    assert (moved.topic, moved.dlq_topic, moved.classes) == (topic, f"{topic}.dlq", binding.classes)
    before, after = subjects(binding), subjects(moved)
    assert len(after) == len(before)
    for old, new in zip(before, after, strict=True):
        assert new.subject.startswith(f"{topic}-")
        assert new.subject.endswith(old.subject.removeprefix(f"{binding.topic}-"))
        assert (new.schema_text, new.resolved_text) == (old.schema_text, old.resolved_text)
        assert [name for name, _ in new.references] == [name for name, _ in old.references]


@pytest.mark.parametrize(
    ("binding", "expected", "reason"),
    [
        (orders.BINDING, ["t-value"], "one value subject, a string key"),
        (
            payments.BINDING,
            ["t-com.example.common.Address", "t-com.example.common.Money", "t-value"],
            "references first",
        ),
        (
            shipments.BINDING,
            [
                "t-com.example.common.Address",
                "t-com.example.shipments.ShipmentCreated",
                "t-com.example.shipments.ShipmentDispatched",
                "t-com.example.shipments.ShipmentDelivered",
                "t-com.example.shipments.ShipmentKey",
            ],
            "three event types, each its own subject, and an Avro key",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_subjects_come_once_each_after_those_they_refer_to(
    binding: TopicBinding, expected: list[str], reason: str
) -> None:
    assert [s.subject for s in subjects(rebind(binding, "t"))] == expected, reason


def _optional_fields(binding: TopicBinding, record: Any) -> dict[str, bool]:
    """Which of ``record``'s top-level optional fields (a union with null) are set."""
    schemas = {type_name(value.parsed()): value.parsed() for value in binding.values}
    schema = schemas[getattr(type(record), AVRO_NAME)]
    assert isinstance(schema, Record)
    names = attribute_names([f.name for f in schema.fields])
    return {
        f.name: getattr(record, attr) is not None
        for f, attr in zip(schema.fields, names, strict=True)
        if isinstance(f.type, Union) and any(getattr(b, "type", None) == "null" for b in f.type.branches)
    }


@pytest.mark.parametrize("binding", BINDINGS, ids=lambda b: b.topic)
def test_records_set_each_optional_field_in_a_good_share_and_are_keyed_as_pipeline_run_keys_them(
    binding: TopicBinding,
) -> None:
    records, keys = sample_records(binding, binding.topic, 200, 42, "r")
    assert len(records) == len(keys) == 200
    if binding.key is None:
        assert keys[:2] == [f"{binding.topic}-0000000", f"{binding.topic}-0000001"]
    else:
        assert all(getattr(type(key), AVRO_NAME) == "com.example.shipments.ShipmentKey" for key in keys)
    types = {getattr(type(record), AVRO_NAME) for record in records}
    assert len(types) == len(binding.values), "every event type of the topic turns up"
    set_counts: dict[tuple[str, str], list[bool]] = {}
    for record in records:
        for name, is_set in _optional_fields(binding, record).items():
            set_counts.setdefault((type(record).__name__, name), []).append(is_set)
    for field, flags in set_counts.items():
        assert 0.3 <= sum(flags) / len(flags) <= 0.7, f"{field} set in {sum(flags)} of {len(flags)}"


def test_records_are_the_same_for_the_same_seed() -> None:
    assert sample_records(payments.BINDING, "payments", 20, 7, "r") == sample_records(
        payments.BINDING, "payments", 20, 7, "r"
    )
