"""Helpers for integration tests: a fresh topic, its DLQ and a registered schema, as a TopicBinding."""

from __future__ import annotations

import json
from typing import Any

from confluent_kafka import Consumer, Message
from confluent_kafka.schema_registry import Schema

from pipeline.kafka.binding import SchemaBinding, TopicBinding
from tests.conftest import StackHandle

EVENT_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Event",
        "namespace": "test.pipeline",
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "seq", "type": "long"},
            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
            {"name": "payload", "type": "bytes", "default": ""},
        ],
    },
    separators=(",", ":"),
)

OTHER_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Other",
        "namespace": "test.pipeline",
        "fields": [{"name": "x", "type": "int"}],
    },
    separators=(",", ":"),
)


def event(i: int) -> dict[str, Any]:
    return {"id": f"e{i}", "seq": i, "kind": "A" if i % 2 else "B", "payload": b"p"}


def make_binding(stack: StackHandle, prefix: str, partitions: int = 1) -> TopicBinding:
    topic = stack.create_topic(prefix, partitions)
    dlq = stack.create_topic(f"{topic}.dlq")
    subject = f"{topic}-value"
    stack.registry_client().register_schema(subject, Schema(EVENT_SCHEMA, "AVRO"))
    return TopicBinding(topic=topic, value=SchemaBinding(subject, EVENT_SCHEMA), dlq_topic=dlq)


def read_all(stack: StackHandle, topic: str, expect: int, timeout: float = 30.0) -> list[Message]:
    """Every message of ``topic`` from the beginning (at least ``expect`` of them, or until timeout)."""
    import time

    consumer = Consumer(
        stack.kafka_config(**{"group.id": stack.unique("reader"), "auto.offset.reset": "earliest"})
    )
    consumer.subscribe([topic])
    got: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(got) < expect:
            for msg in consumer.consume(500, 0.5):
                if msg.error() is None:
                    got.append(msg)
        # a short extra wait shows there is nothing beyond what was expected
        extra_deadline = time.monotonic() + 1.0
        while time.monotonic() < extra_deadline:
            got.extend(m for m in consumer.consume(500, 0.2) if m.error() is None)
    finally:
        consumer.close()
    return got


def committed(stack: StackHandle, group: str, topic: str, partitions: int = 1) -> list[int]:
    from confluent_kafka import TopicPartition

    consumer = Consumer(stack.kafka_config(**{"group.id": group}))
    try:
        offsets = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    finally:
        consumer.close()
    return [max(0, tp.offset) for tp in offsets]  # negative: nothing committed yet
