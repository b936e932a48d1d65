"""The transform loop on the real stack: every input's outputs appear once for read_committed readers,
failures go to the input's or the output's DLQ inside the same transaction, the input offsets are
committed with the outputs, and a zombie (a worker whose slot was taken) writes nothing."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from confluent_kafka import Producer

from pipeline.dlq.envelope import parse_dead_letter
from pipeline.errors import PipelineError
from pipeline.kafka.binding import TopicBinding, open_producer
from pipeline.kafka.transform import TransformLoop
from pipeline.retry import RetryPolicy
from tests.conftest import StackHandle
from tests.integration.pipelines import committed, event, make_binding, read_all

pytestmark = pytest.mark.integration

FAST_RETRY = RetryPolicy(max_attempts=2, initial_backoff=0.01, max_backoff=0.02)


def handler(value: dict[str, Any]) -> Any:
    """Per seq % 10: 1 raises, 2 returns a record that does not fit, 3 returns nothing, 4 returns two
    records (one keyed), else one record."""
    seq = value["seq"]
    kind = seq % 10
    if kind == 1:
        raise ValueError(f"cannot transform {seq}")
    if kind == 2:
        return {**value, "seq": "not a long"}
    if kind == 3:
        return None
    if kind == 4:
        return [{**value, "payload": b"first"}, (f"k{seq}", {**value, "payload": b"second"})]
    return {**value, "payload": b"out"}


def _produce_inputs(stack: StackHandle, source: TopicBinding, count: int) -> None:
    with open_producer(stack.settings, source) as producer:
        for i in range(count):
            producer.send(event(i), key=f"in{i}")
    raw = Producer(stack.kafka_config())
    raw.produce(source.topic, value=b"\x01 no magic byte", key=b"poison")
    raw.produce(source.topic, value=b"garbage", key=b"garbage")
    assert raw.flush(30) == 0


@pytest.mark.parametrize("exactly_once", [True, False], ids=["exactly-once", "at-least-once"])
def test_each_input_gives_its_outputs_once_and_failures_go_to_the_right_dlq(
    stack: StackHandle, exactly_once: bool
) -> None:
    source, sink = make_binding(stack, "tf-in", partitions=2), make_binding(stack, "tf-out")
    count = 200
    _produce_inputs(stack, source, count)
    group = stack.unique("tf-group")
    loop = TransformLoop(
        stack.settings, stack.unique("tf"), source, sink, handler, group=group, exactly_once=exactly_once,
        batch=37, retry=FAST_RETRY,
    )  # fmt: skip
    stats = loop.run(max_inputs=count + 2, idle_timeout=20)

    expected: Counter[int] = Counter()
    for seq in range(count):
        expected[seq] += {1: 0, 2: 0, 3: 0, 4: 2}.get(seq % 10, 1)
    outputs = read_all(stack, sink.topic, sum(expected.values()))
    got = Counter(_seq(stack, sink, msg.value() or b"") for msg in outputs)
    assert got == expected
    keys = {msg.key() for msg in outputs}
    assert b"k4" in keys and b"in0" in keys, "a bare record keeps the input's key; a pair names its own"

    input_dead = read_all(stack, source.dlq_topic, count // 10 + 2)
    stages = Counter(parse_dead_letter(msg.headers()).stage for msg in input_dead)
    assert stages == {"process": count // 10, "deserialize": 2}
    assert {msg.value() for msg in input_dead} >= {b"garbage"}, "the original bytes are kept"
    output_dead = read_all(stack, sink.dlq_topic, count // 10)
    assert len(output_dead) == count // 10
    assert all(parse_dead_letter(m.headers()).stage == "serialize" for m in output_dead)

    assert stats.consumed == count + 2
    assert (stats.dead_lettered_inputs, stats.dead_lettered_outputs) == (count // 10 + 2, count // 10)
    assert sum(committed(stack, group, source.topic, partitions=2)) == count + 2, "every input committed"


def _seq(stack: StackHandle, binding: TopicBinding, payload: bytes) -> int:
    from pipeline.kafka.binding import registry_client, value_decoder
    from pipeline.registry.serde import SchemaResolver

    decoder = _DECODERS.get(binding.topic)
    if decoder is None:
        decoder = _DECODERS[binding.topic] = value_decoder(
            binding, SchemaResolver(registry_client(stack.settings))
        )
    return int(decoder.decode(payload)["seq"])


_DECODERS: dict[str, Any] = {}


def test_a_zombie_whose_slot_was_taken_writes_nothing(stack: StackHandle) -> None:
    source, sink = make_binding(stack, "tf-zin"), make_binding(stack, "tf-zout")
    _produce_inputs(stack, source, 20)
    name, group = stack.unique("tfz"), stack.unique("tfz-group")
    inside, release = threading.Event(), threading.Event()

    def slow(value: dict[str, Any]) -> Any:
        inside.set()
        release.wait(30)
        return {**value, "payload": b"zombie"}

    zombie = TransformLoop(stack.settings, name, source, sink, slow, group=group, exactly_once=True, batch=5)
    failure: list[BaseException] = []

    def run_zombie() -> None:
        try:
            zombie.run(max_inputs=22, idle_timeout=10)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run_zombie)
    thread.start()
    assert inside.wait(30), "the zombie is inside a transaction"
    successor = TransformLoop(
        stack.settings, name, source, sink, handler, group=stack.unique("other"), exactly_once=True
    )
    successor._raw_producer.init_transactions(30)  # takes the slot: the zombie's producer is fenced
    release.set()
    thread.join(60)
    assert failure and isinstance(failure[0], PipelineError), failure
    assert "cannot go on" in str(failure[0])
    assert read_all(stack, sink.topic, 1, timeout=3) == [], "nothing the zombie wrote is visible"
