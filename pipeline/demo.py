"""``pipeline demo``: the smallest end-to-end run on the real stack: register the Order schema, produce
a few orders with confluent-kafka's SerializingProducer + AvroSerializer, read them back with
DeserializingConsumer + AvroDeserializer, print them."""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import DeserializingConsumer, SerializingProducer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import StringDeserializer, StringSerializer

from pipeline.cluster import ensure_cluster
from pipeline.config import librdkafka_config, registry_client_config, serde_config
from pipeline.errors import PipelineError

__all__ = ["register"]

ORDER_SCHEMA = Path("schemas/com.example.orders.Order.avsc")
_PRODUCTS = ["espresso machine", "coffee grinder", "milk frother", "tamper", "descaler"]
_STATUSES = ["PENDING", "CONFIRMED", "SHIPPED", "DELIVERED"]


def _orders(count: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC).replace(microsecond=0)
    return [
        {
            "order_id": f"order-{i + 1:04d}",
            "customer_id": f"customer-{(i % 7) + 1:02d}",
            "amount": round(19.5 + 13.25 * i, 2),
            "product": _PRODUCTS[i % len(_PRODUCTS)],
            "status": _STATUSES[i % len(_STATUSES)],
            "created_at": now,
        }
        for i in range(count)
    ]


def run_demo(count: int, topic: str) -> list[dict[str, Any]]:
    settings = ensure_cluster(progress=lambda msg: print(f"  {msg}"))
    kafka_conf = librdkafka_config(settings.kafka)
    admin = AdminClient(kafka_conf)
    if topic not in admin.list_topics(timeout=10).topics:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)

    registry = SchemaRegistryClient(registry_client_config(settings.registry))
    subject = f"{topic}-value"
    schema_id = registry.register_schema(subject, Schema(ORDER_SCHEMA.read_text(), "AVRO"))
    print(f"  registered {ORDER_SCHEMA} as subject {subject}, schema id {schema_id}")

    producer = SerializingProducer(
        {
            **kafka_conf,
            "acks": "all",
            "enable.idempotence": True,
            "key.serializer": StringSerializer("utf_8"),
            "value.serializer": AvroSerializer(registry, ORDER_SCHEMA.read_text(), conf=serde_config()),
        }
    )
    sent = _orders(count)
    failures: list[str] = []

    def on_delivery(err: Any, msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    for order in sent:
        producer.produce(topic, key=order["order_id"], value=order, on_delivery=on_delivery)
    producer.flush(30)
    if failures:
        raise PipelineError(f"topic {topic}: {len(failures)} orders were not delivered: {failures[0]}")
    print(f"  produced {len(sent)} orders to topic {topic}")

    consumer = DeserializingConsumer(
        {
            **kafka_conf,
            "group.id": f"pipeline-demo-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "key.deserializer": StringDeserializer("utf_8"),
            "value.deserializer": AvroDeserializer(registry),
        }
    )
    wanted = {order["order_id"] for order in sent}
    received: list[dict[str, Any]] = []
    try:
        consumer.subscribe([topic])
        deadline = datetime.now(UTC).timestamp() + 60
        while wanted and datetime.now(UTC).timestamp() < deadline:
            msg = consumer.poll(1.0)
            if msg is None or msg.error():
                continue
            if msg.key() in wanted:
                wanted.discard(msg.key())
                received.append(msg.value())  # type: ignore[arg-type]  # AvroDeserializer gives a dict
            consumer.commit(message=msg, asynchronous=False)
    finally:
        consumer.close()
    if wanted:
        raise PipelineError(f"topic {topic}: {len(wanted)} orders were not read back within 60 s")
    return received


def _run(args: argparse.Namespace) -> int:
    print(f"pipeline demo: {args.count} orders through topic {args.topic}")
    for order in run_demo(args.count, args.topic):
        print(
            f"  read back {order['order_id']}  {order['customer_id']}  {order['product']:<16} "
            f"{order['amount']:>8.2f}  {order['status']:<9}  {order['created_at'].isoformat()}"
        )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="register Order, produce and read back a few orders")
    demo.add_argument("--count", type=int, default=3)
    demo.add_argument("--topic", default="orders")
    demo.set_defaults(handler=_run)
