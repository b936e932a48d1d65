"""Consume → transform → produce: one declared pipeline's loop.

With ``exactly_once`` it is Kafka's exactly-once loop (KIP-98, KIP-447): a transactional producer whose
``transactional.id`` names the worker's slot, so a restarted worker fences its predecessor (a zombie's
transaction is aborted and its later writes refused); per batch one transaction holds the outputs, the
dead letters (of the input and of the output) and the input offsets, sent with the consumer's group
metadata; the consumer reads ``read_committed``. An aborted batch is read again from the committed
offsets. Without it, the loop is at-least-once: outputs are flushed, then the offsets committed.

A handler gets each input's typed record (a :class:`~pipeline.kafka.typed.Received`'s value) and returns
nothing, one output record, a ``(key, record)`` pair, or a list of these. A handler that raises is retried
with backoff, then the input goes to the input's DLQ; an output that does not fit the output's schema goes
to the output's DLQ as JSON: both inside the batch's transaction.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from pipeline.config import Settings, consumer_config, producer_config
from pipeline.dlq.envelope import record_to_json
from pipeline.dlq.publisher import DeadLetterPublisher
from pipeline.errors import InvalidRecordError, PipelineError, SchemaViolationError
from pipeline.kafka.binding import TopicBinding, key_codec, registry_client, value_decoder, value_encoder
from pipeline.kafka.producer import ONLY_ERROR_REPORTS, ReliableProducer
from pipeline.kafka.typed import Received
from pipeline.registry.serde import SchemaResolver
from pipeline.retry import RetryPolicy

__all__ = ["TransformLoop", "TransformStats", "transactional_id"]

log = logging.getLogger(__name__)

Handler = Callable[[Any], Any]


@dataclass
class TransformStats:
    consumed: int = 0
    outputs: int = 0
    dead_lettered_inputs: int = 0
    dead_lettered_outputs: int = 0
    batches: int = 0
    transactions: int = 0
    aborted: int = 0
    retries: int = 0


def transactional_id(pipeline: str, instance: int | str) -> str:
    """The transactional id of a pipeline's worker slot: the same slot after a restart fences the one
    before it."""
    return f"{pipeline}-{instance}"


class TransformLoop:
    """Run one worker of a declared pipeline until ``stop()`` (or ``max_inputs`` inputs)."""

    def __init__(
        self,
        settings: Settings,
        name: str,
        source: TopicBinding,
        sink: TopicBinding | None,
        handler: Handler,
        *,
        group: str,
        exactly_once: bool,
        batch: int = 500,
        instance: int | str = 0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.name, self.source, self.sink, self.handler = name, source, sink, handler
        self.exactly_once, self.batch, self.group = exactly_once, batch, group
        self.retry = retry or RetryPolicy()
        self.stats = TransformStats()
        self._stop = threading.Event()
        self._owned: set[tuple[str, int]] = set()
        self._rng = random.Random()
        resolver = SchemaResolver(registry_client(settings))
        self._decode_value = value_decoder(source, resolver).decode
        self._source_keys = key_codec(source, resolver)
        self._encoder = value_encoder(sink, resolver) if sink is not None else None
        self._sink_keys = key_codec(sink, resolver) if sink is not None else None
        consumer_conf = consumer_config(settings.kafka, group, settings.consumer)
        consumer_conf["isolation.level"] = "read_committed"
        self._consumer = Consumer(consumer_conf)
        producer_conf = producer_config(settings.kafka, settings.producer)
        if exactly_once:
            producer_conf["transactional.id"] = transactional_id(name, instance)
            producer_conf["transaction.timeout.ms"] = 60000
            # librdkafka: a message may not outlive the transaction it belongs to.
            producer_conf["delivery.timeout.ms"] = min(int(producer_conf["delivery.timeout.ms"]), 60000)
        self._raw_producer = Producer({**producer_conf, **ONLY_ERROR_REPORTS})
        self.producer = ReliableProducer(producer_conf, producer=self._raw_producer)
        app = f"pipeline worker {name}"
        self._input_dlq = DeadLetterPublisher(
            self.producer, lambda _t: source.dlq_topic, consumer_group=group
        )
        self._output_dlq = (
            DeadLetterPublisher(self.producer, lambda _t: sink.dlq_topic, app=app)
            if sink is not None
            else None
        )

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def assignment(self) -> list[tuple[str, int]]:
        """The partitions this worker owns, as its rebalance callbacks last said (safe from any thread:
        the consumer itself is only ever called from the loop's)."""
        return sorted(self._owned)

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._owned.update((tp.topic, tp.partition) for tp in partitions)

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._owned.difference_update((tp.topic, tp.partition) for tp in partitions)

    def run(self, *, max_inputs: int | None = None, idle_timeout: float | None = None) -> TransformStats:
        """Transform until stopped, ``max_inputs`` were read, or nothing came for ``idle_timeout`` s.
        Raises PipelineError when the producer is fenced (another worker took this slot) or fails."""
        if self.exactly_once:
            self._raw_producer.init_transactions(60)
        self._consumer.subscribe(
            [self.source.topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke
        )
        last_input = time.monotonic()
        try:
            while not self._stop.is_set():
                if max_inputs is not None and self.stats.consumed >= max_inputs:
                    break
                want = self.batch if max_inputs is None else min(self.batch, max_inputs - self.stats.consumed)
                messages = [m for m in self._consumer.consume(want, 0.5) if not self._is_event(m)]
                if not messages:
                    if idle_timeout is not None and time.monotonic() - last_input > idle_timeout:
                        break
                    continue
                last_input = time.monotonic()
                self._transform_batch(messages)
        finally:
            self._close()
        return self.stats

    # -- one batch ---------------------------------------------------------------------------------

    def _transform_batch(self, messages: list[Message]) -> None:
        self.stats.batches += 1
        if not self.exactly_once:
            counts = self._write(messages)
            self.producer.flush()
            self._consumer.commit(offsets=_next_offsets(messages), asynchronous=False)
            self._count(messages, counts)
            return
        self._raw_producer.begin_transaction()
        try:
            counts = self._write(messages)
            self._raw_producer.send_offsets_to_transaction(
                _next_offsets(messages), self._consumer.consumer_group_metadata(), 30
            )
            self._commit_transaction()
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if not error.txn_requires_abort():
                raise PipelineError(
                    f"pipeline {self.name}: the transaction failed and cannot go on ({error.str()}); "
                    "another worker may have taken this slot"
                ) from exc
            log.warning(
                "pipeline %s: transaction aborted (%s); reading the batch again", self.name, error.str()
            )
            self._raw_producer.abort_transaction(30)
            self.stats.aborted += 1
            self._rewind(messages)
            return
        self.stats.transactions += 1
        self._count(messages, counts)

    def _count(self, messages: list[Message], counts: tuple[int, int, int]) -> None:
        self.stats.consumed += len(messages)
        self.stats.outputs += counts[0]
        self.stats.dead_lettered_inputs += counts[1]
        self.stats.dead_lettered_outputs += counts[2]

    def _commit_transaction(self) -> None:
        while True:
            try:
                self._raw_producer.commit_transaction(30)
                return
            except KafkaException as exc:
                if exc.args[0].retriable():
                    continue
                raise

    def _write(self, messages: list[Message]) -> tuple[int, int, int]:
        """Produce every output and dead letter of ``messages``; (outputs, input DLQ, output DLQ)."""
        outputs = input_dlq = output_dlq = 0
        for msg in messages:
            try:
                payload = msg.value()
                value = None if payload is None else self._decode_value(payload)
                received = Received(value, self._source_keys.decode(msg.key()), str(msg.topic()), msg)
            except SchemaViolationError as exc:
                exc.topic, exc.partition, exc.offset = msg.topic(), msg.partition(), msg.offset()
                self._input_dlq.from_message(msg, "deserialize", exc, 1)
                input_dlq += 1
                continue
            result = self._call(msg, received)
            if result is _FAILED:
                input_dlq += 1
                continue
            for key, record in _outputs(result, received.key):
                if self._produce_output(key, record):
                    outputs += 1
                else:
                    output_dlq += 1
        return outputs, input_dlq, output_dlq

    def _call(self, msg: Message, received: Received[Any]) -> Any:
        attempts = 0
        while True:
            attempts += 1
            try:
                return self.handler(received.value)
            except Exception as exc:
                if self.retry.should_retry(exc, attempts) and not self._stop.is_set():
                    self.stats.retries += 1
                    time.sleep(self.retry.backoff(attempts, self._rng))
                    continue
                self._input_dlq.from_message(msg, "process", exc, attempts)
                return _FAILED

    def _produce_output(self, key: Any, record: Any) -> bool:
        """Encode and queue one output; an output that does not fit goes to the output's DLQ."""
        sink, encoder, keys, dlq = self.sink, self._encoder, self._sink_keys, self._output_dlq
        if sink is None or encoder is None or keys is None or dlq is None:
            raise PipelineError(
                f"pipeline {self.name} has no output topic, but its handler returned {record!r}"
            )
        try:
            key_bytes = keys.encode(key)
            payload = encoder.encode(record)
        except InvalidRecordError as exc:
            chosen = encoder.encoder_for(record)
            dlq.rejected_record(
                sink.topic,
                record_to_json(record),
                None,
                exc,
                subject=chosen.subject if chosen is not None else None,
                schema_version=chosen.version if chosen is not None else None,
            )
            return False
        self.producer.produce(sink.topic, value=payload, key=key_bytes)
        return True

    def _rewind(self, messages: list[Message]) -> None:
        """Seek each partition of an aborted batch back to its committed offset (its first message)."""
        first: dict[tuple[str, int], int] = {}
        for msg in messages:
            first.setdefault((str(msg.topic()), int(msg.partition() or 0)), int(msg.offset() or 0))
        for (topic, partition), offset in first.items():
            with contextlib.suppress(KafkaException):
                self._consumer.seek(TopicPartition(topic, partition, offset))

    @staticmethod
    def _is_event(msg: Message) -> bool:
        error = msg.error()
        if error is None:
            return False
        if error.code() != KafkaError._PARTITION_EOF:
            log.warning("transform consumer event: %s", error)
            if error.fatal():
                raise KafkaException(error)
        return True

    def _close(self) -> None:
        with contextlib.suppress(KafkaException, RuntimeError):
            self._consumer.close()
        if not self.exactly_once:
            with contextlib.suppress(PipelineError):
                self.producer.flush()


_FAILED = object()


def _outputs(result: Any, input_key: Any) -> Iterable[tuple[Any, Any]]:
    """The handler's result as (key, record) pairs; a bare record keeps the input's key."""
    if result is None:
        return []
    items = result if isinstance(result, list) else [result]
    return [item if isinstance(item, tuple) and len(item) == 2 else (input_key, item) for item in items]


def _next_offsets(messages: list[Message]) -> list[TopicPartition]:
    """The offset after the last message of each partition: what a commit of ``messages`` records."""
    last: dict[tuple[str, int], int] = {}
    for msg in messages:
        last[(str(msg.topic()), int(msg.partition() or 0))] = int(msg.offset() or 0) + 1
    return [TopicPartition(topic, partition, offset) for (topic, partition), offset in last.items()]
