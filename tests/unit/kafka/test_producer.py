"""ReliableProducer's accounting with failure-only delivery reports, against a model of librdkafka's
queue: messages wait until delivered (silently) or failed (a report that waits to be served), and client
events also count in the queue length."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pipeline.kafka.producer import ReliableProducer


class QueueModel:
    """librdkafka as ReliableProducer sees it: ``len`` is messages outstanding, reports of failures not
    yet served and client events not yet served (rd_kafka_outq_len)."""

    def __init__(self) -> None:
        self.waiting: list[Any] = []  # on_delivery of messages neither delivered nor failed
        self.reports: list[Any] = []  # failures not yet served
        self.events = 0
        self.delivered = 0
        self.failed = 0

    def produce(self, topic: str, value: Any, key: Any = None, *, on_delivery: Any, headers: Any) -> None:
        self.waiting.append(on_delivery)

    def settle(self, count: int, fail: bool) -> None:
        for callback in self.waiting[:count]:
            if fail:
                self.failed += 1
                self.reports.append(callback)
            else:
                self.delivered += 1
        del self.waiting[:count]

    def poll(self, timeout: float = 0) -> int:
        reports, self.reports, self.events = self.reports, [], 0
        for callback in reports:
            callback(_Error(), _Message())
        return len(reports)

    def flush(self, timeout: float = 0) -> int:
        self.settle(len(self.waiting), fail=False)
        self.poll()
        return len(self)

    def __len__(self) -> int:
        return len(self.waiting) + len(self.reports) + self.events


class _Error:
    def str(self) -> str:
        return "Broker: timed out"


class _Message:
    def topic(self) -> str:
        return "t"

    def partition(self) -> int:
        return 0


steps = st.lists(
    st.one_of(
        st.tuples(st.just("produce"), st.integers(1, 5)),
        st.tuples(st.just("deliver"), st.integers(1, 5)),
        st.tuples(st.just("fail"), st.integers(1, 5)),
        st.tuples(st.just("event"), st.integers(1, 3)),
        st.tuples(st.just("serve"), st.just(0)),
    ),
    max_size=40,
)


@given(steps)
def test_delivered_never_overcounts_and_is_exact_after_a_flush(plan: list[tuple[str, int]]) -> None:
    model = QueueModel()
    producer = ReliableProducer({}, producer=model)  # type: ignore[arg-type]
    seen = 0
    for step, count in plan:
        if step == "produce":
            for _ in range(count):
                producer.produce("t", b"v")
        elif step in ("deliver", "fail"):
            model.settle(count, fail=step == "fail")
        elif step == "event":
            model.events += count
        else:
            model.poll()
        delivered = producer.stats.delivered
        assert seen <= delivered <= model.delivered  # never more than the truth, never going back
        assert producer.stats.in_flight == producer.stats.produced - producer.stats.failed - delivered
        seen = delivered
    try:
        producer.flush(1)
    except Exception:
        assert model.failed > 0  # a flush raises for the failures, after counting them
    model.events += 1  # a client event after the flush (a broker's connection closed, say)
    assert producer.stats.failed == model.failed
    assert producer.stats.delivered == model.delivered == producer.stats.produced - model.failed
    assert producer.stats.in_flight == 0


def test_a_producer_passed_in_is_used_even_when_its_queue_is_empty() -> None:
    model = QueueModel()  # len() == 0, so falsy: it must still be the one used
    producer = ReliableProducer({}, producer=model)  # type: ignore[arg-type]
    producer.produce("t", b"v")
    assert len(model.waiting) == 1
