"""Registry outage: stop the schema registry mid-run and keep going.

Before the outage a producer and a consumer have their schema ids cached, and a second producer has the
id of a newer schema version (v2, registered beforehand) that the consumer has never seen. While the
registry is down:

- the cached producer keeps sending and the cached consumer keeps processing (no registry needed);
- half-way through, the v2 producer sends: the running consumer meets a schema id it must look up;
- a new consumer (fresh client, new group) starts, and a new producer is opened: both need lookups.

Those lookups must retry with backoff and succeed once the registry is back -- not crash, and not send
the messages to the dead-letter queue (an unreachable registry is not a poison message). Every message
is then processed by both consumers: none lost, none duplicated.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema

from pipeline.kafka.binding import SchemaBinding, TopicBinding, open_consumer, open_producer
from pipeline.kafka.typed import Received, TopicConsumer, TopicProducer
from tests.faults.support import EVENT_SCHEMA_V2, FaultStack, end_offsets, event, record_result

pytestmark = pytest.mark.fault

WARM_UP = 100
RATE = 200  # v1 messages per second from the cached producer, throughout
V2_BASE, LATE_BASE = 10_000_000, 20_000_000  # sequence numbers of the v2 producer's and the new producer's
V2_MESSAGES = LATE_MESSAGES = 50
RECOVERY_TIMEOUT = 240.0


@dataclass
class Processed:
    """What one consumer handled: each seq with the time it was handled."""

    seqs: Counter[int] = field(default_factory=Counter)
    times: dict[int, float] = field(default_factory=dict)

    def handle(self, batch: list[Received[dict[str, Any]]]) -> None:
        now = time.monotonic()
        for received in batch:
            assert received.value is not None
            seq = received.value["seq"]
            self.seqs[seq] += 1
            self.times.setdefault(seq, now)

    def first(self, accept: Callable[[int], bool]) -> float | None:
        times = [t for seq, t in self.times.items() if accept(seq)]
        return min(times) if times else None


class Background(threading.Thread):
    """A thread that keeps the exception it died of, for the test to report."""

    def __init__(self, target: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self._call = target
        self.error: BaseException | None = None
        self.finished_at: float | None = None

    def run(self) -> None:
        try:
            self._call()
        except BaseException as exc:
            self.error = exc
        finally:
            self.finished_at = time.monotonic()


def _consume(consumer: TopicConsumer[dict[str, Any]], into: Processed) -> Background:
    thread = Background(lambda: consumer.run(into.handle, handle_signals=False))
    thread.start()
    return thread


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _drained(processed: Processed, thread: Background, expected: set[int]) -> bool:
    """Everything expected is processed, or the consumer is gone (it will be reported)."""
    return expected <= set(processed.seqs) or not thread.is_alive()


def test_registry_outage_cached_schemas_keep_working_lookups_recover(fault_stack: FaultStack) -> None:
    sizes, settings = fault_stack.sizes, fault_stack.settings
    outage = sizes.outage_seconds
    binding = fault_stack.event_binding("outage")
    fault_stack.registry_client().register_schema(binding.value.subject, Schema(EVENT_SCHEMA_V2, "AVRO"))
    binding_v2 = TopicBinding(
        binding.topic, SchemaBinding(binding.value.subject, EVENT_SCHEMA_V2), binding.dlq_topic
    )
    tag = fault_stack.unique("ro")

    cached = open_producer(settings, binding)
    v2_producer = open_producer(settings, binding_v2)
    first, second = Processed(), Processed()
    running = open_consumer(settings, binding, fault_stack.unique("ro-running"), batch_size=100)
    running_thread = _consume(running, first)
    for seq in range(WARM_UP):
        cached.send(event(seq, tag), key=f"{tag}-{seq}")
    cached.flush()
    assert _wait(lambda: len(first.seqs) >= WARM_UP, 60), "the consumer warmed up before the outage"

    sent_v1 = [WARM_UP]  # next v1 seq; the cached producer's thread alone advances it
    stop_sending = threading.Event()

    def send_steadily() -> None:
        while not stop_sending.is_set():
            seq = sent_v1[0]
            cached.send(event(seq, tag), key=f"{tag}-{seq}")
            sent_v1[0] = seq + 1
            cached.producer.poll(1 / RATE)

    sender = Background(send_steadily)
    sender.start()

    started = time.monotonic()
    fault_stack.stack.registry.stop()
    stopped_at = time.monotonic()
    time.sleep(outage / 2)

    for i in range(V2_MESSAGES):
        v2_producer.send({**event(V2_BASE + i, tag), "origin": "v2"}, key=f"{tag}-v2-{i}")
    v2_producer.flush()
    fresh = open_consumer(settings, binding, fault_stack.unique("ro-fresh"), batch_size=100)
    fresh_thread = _consume(fresh, second)
    late: list[TopicProducer[dict[str, Any]]] = []

    def open_late_producer() -> None:
        late.append(open_producer(settings, binding))

    opener = Background(open_late_producer)
    opener.start()
    time.sleep(max(0.0, stopped_at + outage - time.monotonic()))

    restart_at = time.monotonic()
    during_outage = sum(1 for seq, t in first.times.items() if seq < V2_BASE and stopped_at <= t < restart_at)
    sent_during_outage = sent_v1[0] - WARM_UP
    restarting = Background(fault_stack.restore)
    restarting.start()
    _wait(lambda: fault_stack.stack.registry_ready(timeout=0.5), RECOVERY_TIMEOUT)
    ready_at = time.monotonic()  # within ~50 ms of the registry answering again
    restarting.join(RECOVERY_TIMEOUT)

    recovered = _wait(
        lambda: (
            (
                first.first(lambda s: s >= V2_BASE) is not None
                and second.first(lambda s: True) is not None
                and opener.finished_at is not None
            )
            or not running_thread.is_alive()
            or not fresh_thread.is_alive()
        ),
        RECOVERY_TIMEOUT,
    )
    opener.join(RECOVERY_TIMEOUT)
    if late:
        for i in range(LATE_MESSAGES):
            late[0].send(event(LATE_BASE + i, tag), key=f"{tag}-late-{i}")
        late[0].flush()
    stop_sending.set()
    sender.join(30)
    cached.flush()

    expected = (
        set(range(sent_v1[0]))
        | {V2_BASE + i for i in range(V2_MESSAGES)}
        | ({LATE_BASE + i for i in range(LATE_MESSAGES)} if late else set())
    )
    _wait(lambda: _drained(first, running_thread, expected) and _drained(second, fresh_thread, expected), 120)
    running.stop()
    fresh.stop()
    running_thread.join(30)
    fresh_thread.join(30)
    elapsed = time.monotonic() - started

    recovery = {
        "running consumer, new schema id": first.first(lambda s: s >= V2_BASE),
        "new consumer": second.first(lambda s: True),
        "new producer": opener.finished_at if late else None,
    }
    # Seconds after the registry answered again; 0 when a lookup got in before our readiness poll saw it.
    after_ready = {name: round(max(0.0, t - ready_at), 2) if t else None for name, t in recovery.items()}
    lost = {name: len(expected - set(p.seqs)) for name, p in (("running", first), ("fresh", second))}
    duplicated = {
        name: sum(c - 1 for c in p.seqs.values() if c > 1)
        for name, p in (("running", first), ("fresh", second))
    }
    dead_lettered = sum(end_offsets(fault_stack, binding.dlq_topic).values())
    record_result(
        "registry outage",
        sizes,
        messages=len(expected),
        lost=max(lost.values()),
        duplicated=max(duplicated.values()),
        dlq=dead_lettered,
        recovered_after_s=max((v for v in after_ready.values() if v is not None), default=None),
        seconds=round(elapsed, 1),
        details={
            "outage_s": round(ready_at - stopped_at, 1),
            "registry_restart_s": round(ready_at - restart_at, 1),
            "sent_during_outage": sent_during_outage,
            "processed_during_outage": during_outage,
            "recovered_after_registry_ready_s": after_ready,
            "lost_by_consumer": lost,
            "duplicated_by_consumer": duplicated,
            "errors": {
                name: repr(t.error)
                for name, t in (("running", running_thread), ("fresh", fresh_thread), ("opener", opener))
                if t.error
            },
        },
    )

    assert restarting.error is None, f"the registry did not come back: {restarting.error!r}"
    assert running_thread.error is None, f"the running consumer crashed: {running_thread.error!r}"
    assert fresh_thread.error is None, f"the new consumer crashed: {fresh_thread.error!r}"
    assert opener.error is None, f"opening a producer during the outage failed: {opener.error!r}"
    assert sender.error is None, f"the cached producer failed: {sender.error!r}"
    assert recovered, "every lookup that needed the registry succeeded once it was back"
    assert all(t is not None and t >= restart_at for t in recovery.values()), (
        f"those lookups really waited for the registry: {after_ready}"
    )
    assert sent_during_outage > 0 and during_outage > 0, "cached producer and consumer kept working"
    assert lost == {"running": 0, "fresh": 0}
    assert duplicated == {"running": 0, "fresh": 0}
    assert dead_lettered == 0, "an unreachable registry sends nothing to the dead-letter queue"
