"""Dead-letter queue on the real stack: every poison kind lands in the DLQ with its original bytes and
the right headers, good messages around it are processed, offsets are committed past everything."""

from __future__ import annotations

import io
import json
import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import fastavro
import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema

from pipeline.codec import MAX_DEPTH, wire
from pipeline.dlq.envelope import parse_dead_letter, split_headers
from pipeline.kafka.binding import SchemaBinding, TopicBinding, open_consumer, open_producer
from pipeline.kafka.typed import Received
from pipeline.retry import RetryPolicy
from tests.conftest import StackHandle
from tests.integration.pipelines import EVENT_SCHEMA, OTHER_SCHEMA, committed, event, make_binding, read_all

pytestmark = pytest.mark.integration

FAST_RETRY = RetryPolicy(max_attempts=4, initial_backoff=0.05, multiplier=2.0, jitter=0.1)


def _avro(schema_text: str, datum: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(json.loads(schema_text)), datum)
    return buf.getvalue()


def test_every_poison_kind_goes_to_the_dlq_untouched(stack: StackHandle) -> None:
    binding = make_binding(stack, "poison")
    client = stack.registry_client()
    good_id = client.lookup_schema(binding.value.subject, Schema(EVENT_SCHEMA, "AVRO")).schema_id
    other_id = client.register_schema(stack.unique("other") + "-value", Schema(OTHER_SCHEMA, "AVRO"))
    good_body = _avro(EVENT_SCHEMA, event(0))
    poison: dict[str, tuple[bytes, bytes]] = {  # name -> (key, value)
        "WireFormatError": (b"k-magic", b"\x01" + wire.frame(good_id, good_body)[1:]),
        "UnknownSchemaError": (b"k-unknown", wire.frame(987654, good_body)),
        "CorruptPayloadError": (b"k-truncated", wire.frame(good_id, good_body[:-3])),
        "SchemaMismatchError": (b"k-other", wire.frame(other_id, _avro(OTHER_SCHEMA, {"x": 7}))),
        "KeyDecodeError": (b"\xff\xfe-not-utf8", wire.frame(good_id, good_body)),
    }
    producer = Producer(stack.kafka_config(**{"acks": "all", "enable.idempotence": True}))
    seq = 0
    expected_good: list[int] = []
    for key, value in poison.values():
        for _ in range(2):  # good ones before and after each poison message
            producer.produce(
                binding.topic, key=f"good-{seq}", value=wire.frame(good_id, _avro(EVENT_SCHEMA, event(seq)))
            )
            expected_good.append(seq)
            seq += 1
        producer.produce(binding.topic, key=key, value=value, headers=[("trace-id", b"t-" + key)])
    producer.produce(
        binding.topic, key="good-last", value=wire.frame(good_id, _avro(EVENT_SCHEMA, event(seq)))
    )
    expected_good.append(seq)
    assert producer.flush(30) == 0
    total = len(expected_good) + len(poison)

    group = stack.unique("poison-group")
    seen: list[int] = []
    consumer = open_consumer(stack.settings, binding, group, retry=FAST_RETRY)
    stats = consumer.run(
        lambda batch: seen.extend(r.value["seq"] for r in batch), idle_timeout=5, handle_signals=False
    )

    assert seen == expected_good, "every good message processed, in order"
    assert stats.dead_lettered == len(poison)
    assert committed(stack, group, binding.topic) == [total], "offsets committed past everything"

    dead = read_all(stack, binding.dlq_topic, expect=len(poison))
    assert len(dead) == len(poison)
    by_class = {parse_dead_letter(m.headers()).error_class: m for m in dead}
    assert set(by_class) == set(poison)
    for error_class, (key, value) in poison.items():
        msg = by_class[error_class]
        assert msg.key() == key and msg.value() == value, f"{error_class}: original bytes kept"
        original_headers, _ = split_headers(msg.headers())
        assert original_headers == [("trace-id", b"t-" + key)], f"{error_class}: original headers kept"
        letter = parse_dead_letter(msg.headers())
        assert letter.stage == "deserialize"
        assert letter.original_topic == binding.topic
        assert letter.original_partition == 0
        assert letter.original_offset is not None and 0 <= letter.original_offset < total
        assert letter.original_timestamp and letter.original_timestamp > 0
        assert letter.consumer_group == group
        assert letter.attempts == 1
        assert letter.error_message


class Flaky(Exception):
    pass


class Fatal(Exception):
    pass


def test_retries_with_backoff_then_dlq_and_non_retryable_at_once(stack: StackHandle) -> None:
    binding = make_binding(stack, "retry")
    with open_producer(stack.settings, binding) as producer:
        for i in range(6):
            producer.send(event(i), key=f"k{i}")

    attempts: dict[int, list[float]] = {}
    processed: list[int] = []

    def handle(r: Received[dict]) -> None:
        seq = r.value["seq"]
        attempts.setdefault(seq, []).append(time.monotonic())
        if seq == 1 and len(attempts[seq]) <= 2:
            raise Flaky("fails twice, then succeeds")
        if seq == 3:
            raise Flaky("always fails")
        if seq == 4:
            raise Fatal("not worth retrying")
        processed.append(seq)

    policy = RetryPolicy(
        max_attempts=4, initial_backoff=0.2, multiplier=2.0, jitter=0.1, non_retryable=(Fatal,)
    )
    group = stack.unique("retry-group")
    consumer = open_consumer(stack.settings, binding, group, retry=policy)
    stats = consumer.run(handle, batch=False, idle_timeout=4, handle_signals=False)

    assert processed == [0, 1, 2, 5], "order kept for the messages that succeed"
    assert len(attempts[1]) == 3, "failed twice, succeeded on the third attempt, not dead-lettered"
    gaps = [b - a for a, b in zip(attempts[1], attempts[1][1:], strict=False)]
    assert 0.2 * 0.9 <= gaps[0] < 0.4 and gaps[1] >= 0.4 * 0.9, f"exponential backoff observed: {gaps}"
    assert len(attempts[3]) == 4, "always failing: dead-lettered after max_attempts"
    assert len(attempts[4]) == 1, "non-retryable: dead-lettered at once"
    assert stats.dead_lettered == 2
    assert stats.retries == 2 + 3
    assert committed(stack, group, binding.topic) == [6]

    dead = {m.key(): parse_dead_letter(m.headers()) for m in read_all(stack, binding.dlq_topic, expect=2)}
    assert set(dead) == {b"k3", b"k4"}
    assert dead[b"k3"].attempts == 4 and dead[b"k3"].error_class == "Flaky" and dead[b"k3"].stage == "process"
    assert dead[b"k4"].attempts == 1 and dead[b"k4"].error_class == "Fatal"


def test_producer_side_violations_go_to_dlq_as_json(stack: StackHandle) -> None:
    import json

    binding = make_binding(stack, "reject")
    bad = {
        "wrong type": {**event(100), "seq": "not a number"},
        "missing field": {k: v for k, v in event(101).items() if k != "id"},
        "unknown enum symbol": {**event(102), "kind": "C"},
        "long out of range": {**event(103), "seq": 2**64},
        "string where bytes belong": {**event(104), "payload": "text"},
    }
    results = {}
    with open_producer(stack.settings, binding, app="test-app") as producer:
        assert producer.send(event(0), key="before").accepted
        for name, record in bad.items():
            results[name] = producer.send(record, key=name)
        assert producer.send(event(1), key="after").accepted
    assert not any(r.accepted for r in results.values())
    assert producer.rejected == len(bad)
    assert (
        results["wrong type"].error is not None
        and results["wrong type"].error.field_path == "test.pipeline.Event.seq"
    )

    delivered = read_all(stack, binding.topic, expect=2)
    assert [m.key() for m in delivered] == [b"before", b"after"]
    dead = {m.key().decode(): m for m in read_all(stack, binding.dlq_topic, expect=len(bad))}
    assert set(dead) == set(bad)
    for name, msg in dead.items():
        letter = parse_dead_letter(msg.headers())
        assert letter.stage == "serialize"
        assert letter.subject == binding.value.subject
        assert letter.producer_app == "test-app"
        assert letter.content_type == "application/json"
        assert letter.error_class == "InvalidRecordError"
        body = json.loads(msg.value())
        assert body.get("seq", None) == (bad[name].get("seq") if name != "string where bytes belong" else 104)
    assert parse_dead_letter(dead["wrong type"].headers()).field_path == "test.pipeline.Event.seq"
    assert parse_dead_letter(dead["unknown enum symbol"].headers()).field_path == "test.pipeline.Event.kind"


def test_a_failed_dlq_write_commits_nothing_of_its_batch(stack: StackHandle) -> None:
    from pipeline.config import consumer_config, producer_config
    from pipeline.dlq.publisher import DeadLetterPublisher
    from pipeline.errors import DeliveryError
    from pipeline.kafka.consumer import ConsumerLoop
    from pipeline.kafka.producer import ReliableProducer

    topic = stack.create_topic("dlqfail")
    producer = Producer(stack.kafka_config(**{"acks": "all"}))
    for value in (b"good-1", b"bad", b"good-2"):
        producer.produce(topic, value=value)
    assert producer.flush(30) == 0

    def picky(value: bytes) -> None:
        if value == b"bad":
            raise Fatal("refused")

    group = stack.unique("dlqfail-group")
    broken = DeadLetterPublisher(
        ReliableProducer(
            producer_config(
                stack.settings.kafka, replace(stack.settings.producer, delivery_timeout_ms=3000, linger_ms=5)
            )
        ),
        lambda _topic: stack.unique("no-such-dlq-topic"),  # auto-creation is off: the write fails
    )
    loop = ConsumerLoop(
        consumer_config(stack.settings.kafka, group, stack.settings.consumer),
        [topic],
        lambda msg: msg.value(),
        picky,
        batch=False,
        dlq=broken,
        retry=RetryPolicy(max_attempts=1, non_retryable=(Fatal,)),
    )
    with pytest.raises(DeliveryError):
        loop.run(idle_timeout=10, handle_signals=False)
    assert committed(stack, group, topic) == [0], "good-1 was processed, but its batch is not committed"

    dlq_topic = stack.create_topic(f"{topic}.dlq")
    working = DeadLetterPublisher(
        ReliableProducer(
            producer_config(stack.settings.kafka, replace(stack.settings.producer, linger_ms=5))
        ),
        lambda _topic: dlq_topic,
    )
    seen: list[bytes] = []
    ConsumerLoop(
        consumer_config(stack.settings.kafka, group, stack.settings.consumer),
        [topic],
        lambda msg: msg.value(),
        lambda value: seen.append(value) if value != b"bad" else picky(value),
        batch=False,
        dlq=working,
        retry=RetryPolicy(max_attempts=1, non_retryable=(Fatal,)),
    ).run(idle_timeout=4, handle_signals=False)
    assert seen == [b"good-1", b"good-2"], "re-delivered from the last commit"
    assert committed(stack, group, topic) == [3]
    assert [m.value() for m in read_all(stack, dlq_topic, expect=1)] == [b"bad"]


NODE_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Node",
        "namespace": "t.deep",
        "fields": [
            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
            {
                "name": "amount",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2},
            },
            {"name": "next", "type": ["null", "Node"], "default": None},
        ],
    },
    separators=(",", ":"),
)


def _node_chain(depth: int) -> Any:
    value: Any = None
    for _ in range(depth):
        value = {"kind": "A", "amount": Decimal("1.50"), "next": value}
    return value


def test_what_the_correctness_review_found_goes_to_the_dlq_and_nothing_crashes(stack: StackHandle) -> None:
    """A decimal past its precision and a value nested too deep are refused at the producer (DLQ, naming
    the field); another writer's enum index -1 and a payload 5 000 records deep are dead-lettered by the
    consumer, which goes on."""
    topic = stack.create_topic("findings")
    dlq = stack.create_topic(f"{topic}.dlq")
    subject = f"{topic}-value"
    schema_id = stack.registry_client().register_schema(subject, Schema(NODE_SCHEMA, "AVRO"))
    binding = TopicBinding(topic=topic, value=SchemaBinding(subject, NODE_SCHEMA), dlq_topic=dlq)

    with open_producer(stack.settings, binding) as producer:
        assert producer.send(_node_chain(3), key="good-0").accepted
        too_precise = producer.send({"kind": "A", "amount": Decimal("100.00"), "next": None}, key="p-1")
        too_deep = producer.send(_node_chain(MAX_DEPTH + 1), key="p-2")
        assert producer.send(_node_chain(1), key="good-1").accepted
    assert not too_precise.accepted and too_precise.error is not None
    assert too_precise.error.field_path == "t.deep.Node.amount"
    assert not too_deep.accepted and "nested more than" in str(too_deep.error)

    body = b"".join(b"\x00\x04\x00\x96\x02" for _ in range(5000)) + b"\x00\x04\x00\x96\x00"  # A, 1.50, next
    raw = Producer(stack.kafka_config(**{"acks": "all", "enable.idempotence": True}))
    raw.produce(topic, key=b"deep", value=wire.frame(schema_id, body))
    raw.produce(topic, key=b"enum", value=wire.frame(schema_id, b"\x01\x04\x00\x96\x00"))  # kind index -1
    raw.produce(topic, key=b"good-2", value=wire.frame(schema_id, b"\x02\x04\x00\x96\x00"))
    assert raw.flush(30) == 0

    seen: list[str] = []
    consumer = open_consumer(stack.settings, binding, stack.unique("findings"))
    stats = consumer.run(
        lambda batch: seen.extend(r.key for r in batch), idle_timeout=5, handle_signals=False
    )
    assert seen == ["good-0", "good-1", "good-2"]
    assert stats.dead_lettered == 2
    letters = {m.key(): parse_dead_letter(m.headers()) for m in read_all(stack, dlq, expect=4)}
    assert letters[b"p-1"].stage == "serialize" and letters[b"p-1"].field_path == "t.deep.Node.amount"
    assert letters[b"p-2"].stage == "serialize" and "nested more than" in letters[b"p-2"].error_message
    assert letters[b"deep"].error_class == "NestingLimitError"
    assert letters[b"enum"].error_class == "CorruptPayloadError"
    assert "enum index -1" in letters[b"enum"].error_message
