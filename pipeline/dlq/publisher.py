"""Writing dead letters: the original key, value and headers with the ``dlq.*`` envelope
(:mod:`pipeline.dlq.envelope`), through a reliable producer whose acknowledgement the consumer waits
for before it commits."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from confluent_kafka import Message

from pipeline.dlq.envelope import OMITTED, DeadLetter, dead_letter_headers
from pipeline.kafka.producer import ReliableProducer, message_overhead

__all__ = ["DeadLetterPublisher"]


class DeadLetterPublisher:
    """Writes dead letters with the original key, value and headers, plus the ``dlq.*`` envelope."""

    def __init__(
        self,
        producer: ReliableProducer,
        dlq_topic_for: Callable[[str], str],
        *,
        consumer_group: str | None = None,
        app: str | None = None,
    ) -> None:
        self.producer = producer
        self.dlq_topic_for = dlq_topic_for
        self.consumer_group = consumer_group
        self.app = app

    def from_message(self, msg: Message, stage: str, error: BaseException, attempts: int) -> None:
        """Queue a dead letter for a consumed message; ``flush`` acknowledges it."""
        _, timestamp = msg.timestamp()
        letter = DeadLetter(
            stage=stage,
            error_class=type(error).__name__,
            error_message=str(error),
            attempts=attempts,
            original_topic=msg.topic(),
            original_partition=msg.partition(),
            original_offset=msg.offset(),
            original_timestamp=timestamp,
            consumer_group=self.consumer_group,
            field_path=getattr(error, "field_path", None),
        )
        headers: list[tuple[str, str | bytes | None]] = list(msg.headers() or [])  # type: ignore[arg-type]
        headers.extend(dead_letter_headers(letter))
        self._produce(self.dlq_topic_for(str(msg.topic())), msg.value(), msg.key(), headers)

    def rejected_record(
        self,
        topic: str,
        payload: bytes,
        key: bytes | None,
        error: BaseException,
        *,
        subject: str | None,
        schema_version: int | None,
    ) -> None:
        """Queue a producer-side dead letter: ``payload`` is the rejected record as JSON."""
        letter = DeadLetter(
            stage="serialize",
            error_class=type(error).__name__,
            error_message=str(error),
            original_topic=topic,
            field_path=getattr(error, "field_path", None),
            subject=subject,
            schema_version=schema_version,
            producer_app=self.app,
            content_type="application/json",
        )
        headers: list[tuple[str, str | bytes | None]] = list(dead_letter_headers(letter))
        self._produce(self.dlq_topic_for(topic), payload, key, headers)

    def _produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: list[tuple[str, str | bytes | None]],
    ) -> None:
        """Write the dead letter; what would not fit in a message is replaced by its size and SHA-256
        (value ``{"dlq.omitted": {...}}``, header ``dlq.omitted``): the letter is never lost, only
        bytes that no message could carry."""
        room = self.producer.max_message_bytes - message_overhead(headers) - 1024
        if len(value or b"") + len(key or b"") > room:
            omitted = {
                part: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                for part, data in (("value", value), ("key", key))
                if data is not None and (part == "value" or len(data) > room // 2)
            }
            if "key" in omitted:
                key = None
            value = json.dumps({"dlq.omitted": omitted}, sort_keys=True).encode()
            headers = [*headers, (OMITTED, ", ".join(sorted(omitted)))]
        self.producer.produce(topic, value=value, key=key, headers=headers)

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until every queued dead letter is acknowledged; raises DeliveryError otherwise."""
        self.producer.flush(timeout)
