"""Hostile records, keys, headers and raw payloads against the runtime on the real stack: nothing
raises out of ``send``, nothing crashes a consumer, and everything is accounted for
(produced == accepted + rejected; consumed == processed + dead-lettered)."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import Producer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.config import ProducerTuning
from pipeline.kafka.binding import open_consumer, open_producer
from tests.conftest import StackHandle
from tests.integration.pipelines import event, make_binding, read_all

pytestmark = pytest.mark.integration

LIMIT = 200_000  # message.max.bytes for these producers, so "too large" is cheap to reach

anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
records = st.one_of(
    st.builds(event, st.integers(0, 10**6)),  # valid
    anything,  # not a record at all
    st.builds(
        lambda i, k, v: {**event(i), k: v},
        st.integers(0, 9),
        st.sampled_from(["id", "seq", "kind", "payload"]),
        anything,
    ),
    st.builds(lambda n: {**event(1), "payload": b"x" * n}, st.sampled_from([LIMIT - 600, LIMIT, 5 * LIMIT])),
)
keys = (
    st.none()
    | st.text()
    | st.just("\ud800")
    | st.binary(max_size=8)
    | st.integers()
    | st.just("k" * (2 * LIMIT))
)
headers = st.none() | st.lists(
    st.tuples(st.text(max_size=8), st.none() | st.text(max_size=8) | st.binary(max_size=8) | st.integers()),
    max_size=2,
)


@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.tuples(records, keys, headers), min_size=30, max_size=30))
@example(  # the review's findings: a 5x too large value, a too large key, a lone surrogate key, bad headers
    [
        ({**event(1), "payload": b"x" * 5 * LIMIT}, "k", None),
        (event(2), "k" * 2 * LIMIT, None),
        (event(3), "\ud800", None),
        (event(4), "k", [("h", 7)]),
        (event(5), "k", [("\ud800", "v")]),
        (event(6), "ok", [("h", "v")]),
    ]
)
def test_hostile_sends_are_accounted_for_and_never_raise(
    stack: StackHandle, sends: list[tuple[Any, Any, Any]]
) -> None:
    binding = make_binding(stack, "fuzz-send")
    tuning = ProducerTuning(message_max_bytes=LIMIT, linger_ms=5)
    producer = open_producer(stack.settings, binding, tuning=tuning)
    accepted = rejected = 0
    for value, key, extra in sends:
        result = producer.send(value, key=key, headers=extra)  # must not raise, whatever it is given
        accepted += result.accepted
        rejected += not result.accepted
    producer.flush(30)
    assert accepted + rejected == len(sends) and producer.rejected == rejected
    if sends[-1] == (event(6), "ok", [("h", "v")]):  # the explicit example: only the last one fits
        assert (accepted, rejected) == (1, 5)
    assert producer.sent == accepted
    letters = read_all(stack, binding.dlq_topic, expect=rejected)
    assert len(letters) == rejected  # every refusal is in the DLQ, however large it was
    assert all(len(m.value() or b"") <= LIMIT for m in letters)


payloads = st.one_of(
    st.binary(max_size=40),  # garbage
    st.builds(lambda tail: b"\x00\x00\x00\x00\x01" + tail, st.binary(max_size=30)),  # unknown schema id
    st.builds(lambda body: b"\x00" + body, st.binary(min_size=4, max_size=30)),  # maybe our id, bad body
    st.none(),
)


@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.tuples(payloads, st.none() | st.binary(max_size=8)), min_size=40, max_size=40))
def test_hostile_payloads_never_crash_a_consumer(stack: StackHandle, messages: list[tuple[Any, Any]]) -> None:
    binding = make_binding(stack, "fuzz-read")
    good = open_producer(stack.settings, binding)
    for i in range(10):
        assert good.send(event(i), key=f"good-{i}").accepted
    good.flush(30)
    raw = Producer(stack.kafka_config())
    for value, key in messages:
        raw.produce(binding.topic, value=value, key=key)
    assert raw.flush(30) == 0
    handled: list[Any] = []
    consumer = open_consumer(stack.settings, binding, stack.unique("fuzz"))
    stats = consumer.run(handled.extend, idle_timeout=8, handle_signals=False)
    total = 10 + len(messages)
    assert stats.consumed == total
    assert stats.processed + stats.dead_lettered == total
    assert len(handled) == stats.processed >= 10
    assert len(read_all(stack, binding.dlq_topic, expect=stats.dead_lettered)) == stats.dead_lettered
