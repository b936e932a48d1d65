"""Poison fuzz: seeded random and mutated payloads (bit flips, truncations, wrong magic byte, random
schema ids, garbage, trailing bytes, another record's schema, undecodable keys) interleaved with good
messages. Every poison message must land in the dead-letter queue with its original key and bytes, every
good one must be processed (once, with its content), and the consumer must never crash.

A mutation can still be a valid message (a flipped bit inside a string, a schema id that happens to
exist with a compatible schema): such a mutant is processed like any good message. The scenario counts
those honestly as "decoded" instead of poison -- each message is identified by a header the mutations
never touch -- and reports them by kind.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import pytest
from confluent_kafka import Message, Producer
from confluent_kafka.schema_registry import Schema

from pipeline.codec import wire
from pipeline.dlq.envelope import parse_dead_letter, split_headers
from pipeline.kafka.binding import open_consumer
from pipeline.kafka.typed import Received
from pipeline.registry.serde import AvroEncoder, parse
from pipeline.retry import RetryPolicy
from tests.faults.support import (
    EVENT_SCHEMA,
    FaultStack,
    committed_offsets,
    end_offsets,
    event,
    read_topic,
    record_result,
)

pytestmark = pytest.mark.fault

GOOD_PER_POISON = 2
POISON_BASE = 1_000_000  # sequence numbers of the messages the poison is made from
PARTITIONS = 3
OTHER_SCHEMA = (
    '{"type":"record","name":"Other","namespace":"test.faults","fields":[{"name":"x","type":"int"}]}'
)


@dataclass(frozen=True)
class Injected:
    fault_id: str
    kind: str  # "good" or the mutation
    key: bytes
    value: bytes
    seq: int


def _flip_bits(rng: random.Random, good: bytes) -> bytes:
    data = bytearray(good)
    for _ in range(rng.randint(1, 3)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def mutations(good_id: int, other: bytes) -> dict[str, Callable[[random.Random, bytes], bytes]]:
    """Each mutation kind: (rng, a good framed message) -> its poisoned bytes."""
    return {
        "bit flip": _flip_bits,
        "truncation": lambda rng, good: good[: rng.randrange(len(good))],
        "wrong magic": lambda rng, good: bytes([rng.randint(1, 255)]) + good[1:],
        "random schema id": lambda rng, good: wire.header(rng.getrandbits(32)) + good[wire.HEADER_SIZE :],
        "garbage": lambda rng, good: rng.randbytes(rng.randint(0, 64)),
        "garbage after a valid header": lambda rng, good: (
            wire.header(good_id) + rng.randbytes(rng.randint(1, 64))
        ),
        "trailing bytes": lambda rng, good: good + rng.randbytes(rng.randint(1, 8)),
        "another record's schema": lambda rng, good: other,
    }


def generate(
    rng: random.Random, poison: int, encode: Callable[[dict[str, Any]], bytes], good_id: int, other: bytes
) -> list[Injected]:
    """``poison`` mutants and GOOD_PER_POISON times as many good messages, shuffled together."""
    kinds = mutations(good_id, other)
    names = [*kinds, "undecodable key"]
    messages = [
        Injected(f"g-{seq}", "good", f"k-{seq}".encode(), encode(event(seq)), seq)
        for seq in range(poison * GOOD_PER_POISON)
    ]
    for i in range(poison):
        seq = POISON_BASE + i
        kind = rng.choice(names)
        good = encode(event(seq))
        if kind == "undecodable key":
            key, value = b"\xff\xfe" + rng.randbytes(4), good
        else:
            key, value = f"k-{seq}".encode(), kinds[kind](rng, good)
        messages.append(Injected(f"p-{i}", kind, key, value, seq))
    rng.shuffle(messages)
    return messages


def _headers(msg: Message) -> list[tuple[str, bytes | None]]:
    return cast(list[tuple[str, bytes | None]], msg.headers() or [])


def test_poison_fuzz_every_poison_in_the_dlq_every_good_processed(fault_stack: FaultStack) -> None:
    sizes = fault_stack.sizes
    rng = random.Random(sizes.seed)
    binding = fault_stack.event_binding("fuzz", partitions=PARTITIONS)
    registry = fault_stack.registry_client()
    good_id = registry.lookup_schema(binding.value.subject, Schema(EVENT_SCHEMA, "AVRO")).schema_id
    assert good_id is not None
    other_id = registry.register_schema(
        fault_stack.unique("fuzz-other") + "-value", Schema(OTHER_SCHEMA, "AVRO")
    )
    other = AvroEncoder(parse(OTHER_SCHEMA), other_id, "other").encode({"x": 7})
    encoder = AvroEncoder(parse(EVENT_SCHEMA), good_id, binding.value.subject)
    injected = generate(rng, sizes.poison, encoder.encode, good_id, other)
    by_id = {m.fault_id: m for m in injected}

    producer = Producer(
        fault_stack.kafka_config(**{"acks": "all", "enable.idempotence": True, "linger.ms": 5})
    )
    for m in injected:
        producer.produce(
            binding.topic,
            key=m.key,
            value=m.value,
            headers=[("fault.id", m.fault_id.encode()), ("fault.kind", m.kind.encode())],
        )
        producer.poll(0)
    assert producer.flush(60) == 0

    processed: dict[str, list[Received[dict[str, Any]]]] = defaultdict(list)

    def handle(batch: list[Received[dict[str, Any]]]) -> None:
        for received in batch:
            headers = dict(received.headers or [])
            processed[(headers.get("fault.id") or b"").decode()].append(received)

    group = fault_stack.unique("fuzz-group")
    consumer = open_consumer(
        fault_stack.settings,
        binding,
        group,
        retry=RetryPolicy(max_attempts=2, initial_backoff=0.05),
    )
    started = time.monotonic()
    crash: BaseException | None = None
    try:
        stats = consumer.run(handle, max_messages=len(injected), idle_timeout=60, handle_signals=False)
    except BaseException as exc:
        crash = exc
    elapsed = time.monotonic() - started

    dead = {}
    for msg in read_topic(fault_stack, binding.dlq_topic):
        original_headers, _ = split_headers(_headers(msg))
        dead[(dict(original_headers).get("fault.id") or b"").decode()] = msg
    poison = [m for m in injected if m.kind != "good"]
    good = [m for m in injected if m.kind == "good"]
    decoded = Counter(m.kind for m in poison if m.fault_id in processed and m.fault_id not in dead)
    unaccounted = [m.fault_id for m in poison if (m.fault_id in dead) == (m.fault_id in processed)]
    altered = [
        f
        for f, msg in dead.items()
        if f not in by_id or msg.value() != by_id[f].value or msg.key() != by_id[f].key
    ]
    good_missing = [m.fault_id for m in good if len(processed.get(m.fault_id, [])) == 0]
    good_twice = [m.fault_id for m in good if len(processed.get(m.fault_id, [])) > 1]
    good_wrong = [
        m.fault_id
        for m in good
        if processed.get(m.fault_id) and processed[m.fault_id][0].value != event(m.seq)
    ]
    good_dead = [m.fault_id for m in good if m.fault_id in dead]

    record_result(
        "poison fuzz",
        sizes,
        messages=len(injected),
        lost=len(good_missing) + len(unaccounted),
        duplicated=len(good_twice),
        dlq=len(dead),
        recovered_after_s=None,
        seconds=round(elapsed, 1),
        details={
            "poison": len(poison),
            "good": len(good),
            "poison_by_kind": dict(Counter(m.kind for m in poison)),
            "decoded_mutants_by_kind": dict(decoded),
            "dlq_by_error": dict(Counter(parse_dead_letter(_headers(m)).error_class for m in dead.values())),
            "crash": repr(crash) if crash else None,
        },
    )

    assert crash is None, f"the consumer crashed: {crash!r}"
    assert not unaccounted, f"poison neither dead-lettered nor decoded (or both): {unaccounted[:10]}"
    assert not altered, f"dead letters whose key or bytes differ from what was sent: {altered[:10]}"
    assert len(dead) == len(poison) - sum(decoded.values())
    assert stats.dead_lettered == len(dead)
    assert not good_missing, f"good messages not processed: {good_missing[:10]}"
    assert not good_twice and not good_wrong and not good_dead
    assert all(parse_dead_letter(_headers(m)).stage == "deserialize" for m in dead.values())
    assert committed_offsets(fault_stack, group, binding.topic, PARTITIONS) == end_offsets(
        fault_stack, binding.topic
    )
