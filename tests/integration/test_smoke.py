"""The stack works with confluent-kafka's own clients: Avro through the registry's Confluent API,
idempotent and transactional producers on the single node."""

from __future__ import annotations

import time
from typing import Any

import pytest
from confluent_kafka import Consumer, DeserializingConsumer, Producer, SerializingProducer
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import StringDeserializer, StringSerializer

from pipeline.config import deserializer_config, serde_config
from tests.conftest import StackHandle

pytestmark = pytest.mark.integration

SCHEMA = """
{"type": "record", "name": "Ping", "namespace": "test.smoke",
 "fields": [{"name": "id", "type": "int"}, {"name": "note", "type": ["null", "string"], "default": null}]}
"""


def _drain(consumer: Any, want: int, timeout: float = 30.0) -> list[Any]:
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            got.append(msg)
    return got


def test_avro_round_trip_through_registry_with_confluent_serdes(stack: StackHandle) -> None:
    topic = stack.create_topic("smoke-avro")
    registry = stack.registry_client()
    schema_id = registry.register_schema(f"{topic}-value", Schema(SCHEMA, "AVRO"))
    assert registry.get_latest_version(f"{topic}-value").schema_id == schema_id

    producer = SerializingProducer(
        stack.kafka_config(
            **{
                "acks": "all",
                "enable.idempotence": True,
                "key.serializer": StringSerializer(),
                "value.serializer": AvroSerializer(registry, SCHEMA, conf=serde_config()),
            }
        )
    )
    sent = [{"id": i, "note": None if i % 2 else f"note {i}"} for i in range(10)]
    for value in sent:
        producer.produce(topic, key=str(value["id"]), value=value)
    assert producer.flush(30) == 0

    consumer = DeserializingConsumer(
        stack.kafka_config(
            **{
                "group.id": stack.unique("smoke"),
                "auto.offset.reset": "earliest",
                "key.deserializer": StringDeserializer(),
                "value.deserializer": AvroDeserializer(registry, conf=deserializer_config()),
            }
        )
    )
    consumer.subscribe([topic])
    try:
        got = _drain(consumer, len(sent))
    finally:
        consumer.close()
    assert [msg.value() for msg in got] == sent
    assert all(msg.value() is not None for msg in got)
    raw = got[0]
    assert raw.key() == "0"


def test_idempotent_producer_delivers_everything_on_one_node(stack: StackHandle) -> None:
    topic = stack.create_topic("smoke-idempotent", partitions=3)
    producer = Producer(stack.kafka_config(**{"enable.idempotence": True, "acks": "all"}))
    errors: list[Any] = []
    delivered: list[Any] = []

    def report(err: Any, msg: Any) -> None:
        (errors if err else delivered).append(err or msg)

    for i in range(500):
        producer.produce(topic, key=str(i % 7), value=f"v{i}", on_delivery=report)
    assert producer.flush(30) == 0
    assert errors == []
    assert len(delivered) == 500


def test_transactional_producer_commits_and_aborts(stack: StackHandle) -> None:
    topic = stack.create_topic("smoke-tx")
    producer = Producer(stack.kafka_config(**{"transactional.id": stack.unique("tx")}))
    producer.init_transactions(30)

    producer.begin_transaction()
    for i in range(3):
        producer.produce(topic, value=f"aborted-{i}")
    producer.abort_transaction(30)

    producer.begin_transaction()
    for i in range(3):
        producer.produce(topic, value=f"committed-{i}")
    producer.commit_transaction(30)

    consumer = Consumer(
        stack.kafka_config(
            **{
                "group.id": stack.unique("tx-reader"),
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
            }
        )
    )
    consumer.subscribe([topic])
    try:
        got = [msg.value().decode() for msg in _drain(consumer, 3)]
        # Nothing more arrives: the aborted records stay invisible to a read_committed reader.
        got += [msg.value().decode() for msg in _drain(consumer, 1, timeout=2)]
    finally:
        consumer.close()
    assert got == ["committed-0", "committed-1", "committed-2"]
