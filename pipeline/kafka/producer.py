"""A reliably configured Kafka producer: delivery reports collected and surfaced, back-pressure on a
full buffer, flush on close. Its settings are :func:`pipeline.config.producer_config`'s: ``acks=all`` with
idempotence (no loss, no duplicates on retry), lz4 batches with a short linger (``ProducerTuning``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from pipeline.errors import DeliveryError, UnsendableRecordError

__all__ = ["ONLY_ERROR_REPORTS", "DeliveryStats", "ReliableProducer", "header_problem", "message_overhead"]


def header_problem(headers: object) -> str | None:
    """Why Kafka cannot carry ``headers``, or None. Checked before librdkafka sees them: confluent-kafka
    (2.x) crashes the process on a header name that is not valid UTF-8."""
    if headers is None:
        return None
    if not isinstance(headers, list | tuple):
        return f"headers must be a list of (name, value) pairs, not {type(headers).__name__}"
    for index, pair in enumerate(headers):
        if not isinstance(pair, tuple) or len(pair) != 2:
            return f"header {index} is not a (name, value) pair"
        name, value = pair
        if not isinstance(name, str) or not _utf8(name):
            return f"header {index}: the name must be a string of valid UTF-8"
        if not (value is None or isinstance(value, bytes) or (isinstance(value, str) and _utf8(value))):
            return f"header {name!r}: the value must be None, bytes or a string of valid UTF-8"
    return None


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def message_overhead(headers: Sequence[tuple[str, str | bytes | None]] | None) -> int:
    """Bytes a message takes beyond its key and value: its headers and the record's framing (an upper
    bound of librdkafka's own count, so that a message judged to fit does fit)."""
    size = 512
    for name, value in headers or ():
        size += 16 + _length(name) + _length(value)
    return size


def _length(part: object) -> int:
    """Bytes of a header part; what Kafka cannot carry counts 0 here and is refused by librdkafka."""
    if isinstance(part, str):
        return len(part.encode("utf-8", "surrogatepass"))
    return len(part) if isinstance(part, bytes | bytearray) else 0


@dataclass
class DeliveryStats:
    """Counts from delivery reports. ``first_errors`` keeps the first few, as sentences. Only failures are
    reported one by one: ``delivered`` is exact after a flush and a lower bound between flushes, taken
    from librdkafka's queue length (``outstanding``), which also counts client events waiting to be
    served."""

    produced: int = 0
    failed: int = 0
    first_errors: list[str] = field(default_factory=list)
    outstanding: Callable[[], int] = field(default=lambda: 0, repr=False, compare=False)
    _known_delivered: int = field(default=0, init=False, repr=False, compare=False)

    @property
    def delivered(self) -> int:
        lower = self.produced - self.failed - self.outstanding()
        self._known_delivered = max(self._known_delivered, lower)
        return self._known_delivered

    @property
    def in_flight(self) -> int:
        return self.produced - self.failed - self.delivered

    def settled(self) -> None:
        """Everything produced so far was delivered or has failed (a flush left nothing outstanding)."""
        self._known_delivered = self.produced - self.failed


# Delivery reports of successes cost a Message object and a Python call each (about 1 µs a message
# here); ReliableProducer asks librdkafka for failures only and counts the rest from its queue.
ONLY_ERROR_REPORTS = {"delivery.report.only.error": True}
_POLL_EVERY = 64  # messages between polls that serve failure reports and client events


class ReliableProducer:
    """confluent-kafka's Producer with delivery accounting, back-pressure and flush-on-close.

    ``produce`` never drops a message on a full local queue: it serves delivery reports until there is
    room. ``flush``/``close`` raise DeliveryError when any message failed since the last check. A
    ``producer`` passed in should be configured with ``ONLY_ERROR_REPORTS`` (it is counted right either
    way, only slower)."""

    def __init__(self, config: Mapping[str, Any], *, producer: Producer | None = None) -> None:
        self._producer = producer if producer is not None else Producer({**config, **ONLY_ERROR_REPORTS})
        #: The largest message librdkafka will take (key, value and headers, with its own overhead).
        self.max_message_bytes = int(config.get("message.max.bytes", 1_000_000))
        self.stats = DeliveryStats(outstanding=self._producer.__len__)
        self._reported_failures = 0
        self._unpolled = 0
        self._report = self._on_delivery  # one bound method, not one per message

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            return
        self.stats.failed += 1
        if len(self.stats.first_errors) < 5:
            where = f"{msg.topic()}[{msg.partition()}]" if msg is not None else "?"
            self.stats.first_errors.append(f"{where}: {err.str()}")

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: list[tuple[str, str | bytes | None]] | None = None,
    ) -> None:
        """Queue one message, waiting for room when the local buffer is full. Raises
        UnsendableRecordError for headers Kafka cannot carry."""
        if headers is not None:
            problem = header_problem(headers)
            if problem is not None:
                raise UnsendableRecordError(f"{topic}: {problem}")
        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=self._report, headers=headers)
                break
            except BufferError:
                self._producer.poll(0.05)  # serve delivery reports until the queue has room
        self.stats.produced += 1
        self._unpolled += 1
        if self._unpolled >= _POLL_EVERY:
            self._unpolled = 0
            self._producer.poll(0)

    def poll(self, timeout: float = 0) -> int:
        return int(self._producer.poll(timeout))

    def connect(self, topic: str, timeout: float = 10.0) -> None:
        """Connect and fetch ``topic``'s metadata now rather than on the first message (which otherwise
        waits for both, about half a second). Raises KafkaException when the cluster does not answer."""
        self._producer.list_topics(topic, timeout=timeout)

    def flush(self, timeout: float = 60.0) -> DeliveryStats:
        """Wait for every queued message; raise DeliveryError if any failed since the last check."""
        deadline = time.monotonic() + timeout
        remaining = self._producer.flush(timeout)
        while remaining and time.monotonic() < deadline:
            remaining = self._producer.flush(max(0.0, deadline - time.monotonic()))
        if remaining:
            raise DeliveryError(f"{remaining} messages still undelivered after {timeout:.0f} s", self.stats)
        self.stats.settled()
        self._raise_new_failures()
        return self.stats

    def _raise_new_failures(self) -> None:
        if self.stats.failed > self._reported_failures:
            new = self.stats.failed - self._reported_failures
            self._reported_failures = self.stats.failed
            first = "; ".join(self.stats.first_errors) or "unknown error"
            raise DeliveryError(f"{new} messages failed delivery (first: {first})", self.stats)

    def close(self, timeout: float = 60.0) -> DeliveryStats:
        """Flush and report. Idempotent."""
        return self.flush(timeout)

    def __enter__(self) -> ReliableProducer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None:
            self.close()
        else:
            self._producer.flush(10)  # deliver what we can; the original error propagates
