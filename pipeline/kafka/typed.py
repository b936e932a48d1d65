"""Typed producer and consumer for one topic: the runtime every generated pipeline binds to.

Generated modules supply the topic, the schemas and two conversions (typed object <-> Avro datum);
everything else -- wire format, registry lookups, delivery accounting, the consumer loop, retries and
the dead-letter queue -- lives here, written once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from confluent_kafka import KafkaException, Message

from pipeline.dlq.envelope import record_to_json
from pipeline.dlq.publisher import DeadLetterPublisher
from pipeline.errors import InvalidRecordError, KeyDecodeError, SchemaViolationError, UnsendableRecordError
from pipeline.kafka.consumer import ConsumerLoop, ConsumerStats
from pipeline.kafka.producer import ReliableProducer, message_overhead
from pipeline.registry.serde import AvroDecoder, AvroEncoder, OneOfEncoder
from pipeline.retry import RetryPolicy

__all__ = [
    "AvroKeyCodec",
    "KeyCodec",
    "Received",
    "SendResult",
    "StringKeyCodec",
    "TopicConsumer",
    "TopicProducer",
]

T = TypeVar("T")
_BARE = message_overhead(None)  # a message without headers


class KeyCodec(Protocol):
    def encode(self, key: Any) -> bytes | None: ...
    def decode(self, data: bytes | None) -> Any: ...


class StringKeyCodec:
    """UTF-8 string keys, as confluent-kafka's StringSerializer writes them (no framing)."""

    def encode(self, key: Any) -> bytes | None:
        if key is None:
            return None
        try:
            return str(key).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidRecordError(
                f"key {key!r} is not valid Unicode: {exc.reason}", field_path="key"
            ) from exc

    def decode(self, data: bytes | None) -> str | None:
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise KeyDecodeError(f"key is not valid UTF-8: {exc}") from exc


@dataclass(frozen=True)
class AvroKeyCodec:
    """Avro keys in the wire format."""

    encoder: AvroEncoder
    decoder: AvroDecoder

    def encode(self, key: Any) -> bytes | None:
        return None if key is None else self.encoder.encode(key)

    def decode(self, data: bytes | None) -> Any:
        if data is None:
            return None
        try:
            return self.decoder.decode(data)
        except SchemaViolationError as exc:
            raise KeyDecodeError(f"key does not decode: {exc}") from exc


@dataclass(frozen=True)
class SendResult:
    """What happened to one ``send``: queued for the topic, or rejected (and dead-lettered)."""

    accepted: bool
    error: InvalidRecordError | None = None


_ACCEPTED = SendResult(True)  # immutable, so every accepted send shares it


class Received(Generic[T]):
    """One consumed message: the typed value, its key, and where it came from.

    Built once per message, so only the value and the key are decoded up front (a key that will not
    decode must reach the DLQ); the position and headers are read from the message when asked for."""

    __slots__ = ("_msg", "key", "topic", "value")

    def __init__(self, value: T | None, key: Any, topic: str, msg: Message) -> None:
        self.value = value
        self.key = key
        self.topic = topic
        self._msg = msg

    @property
    def partition(self) -> int:
        return self._msg.partition() or 0

    @property
    def offset(self) -> int:
        return self._msg.offset() or 0

    @property
    def timestamp(self) -> int:
        return self._msg.timestamp()[1]

    @property
    def headers(self) -> Sequence[tuple[str, bytes | None]] | None:
        return self._msg.headers()  # type: ignore[return-value]

    def __repr__(self) -> str:
        return (
            f"Received(value={self.value!r}, key={self.key!r}, topic={self.topic!r}, "
            f"partition={self.partition}, offset={self.offset})"
        )


class TopicProducer(Generic[T]):
    """Sends typed objects to one topic. A record (or key) that does not fit its schema is not sent: it
    goes to the dead-letter queue as JSON and ``send`` returns a rejected SendResult (it never raises for
    it)."""

    def __init__(
        self,
        producer: ReliableProducer,
        topic: str,
        encoder: AvroEncoder | OneOfEncoder,
        *,
        key_codec: KeyCodec | None = None,
        dlq: DeadLetterPublisher | None = None,
    ) -> None:
        self.producer = producer
        self.topic = topic
        self._encoder = encoder
        self._keys = key_codec or StringKeyCodec()
        self._dlq = dlq
        self.sent = 0
        self.rejected = 0

    def send(
        self, value: T | None, key: Any = None, headers: list[tuple[str, str | bytes | None]] | None = None
    ) -> SendResult:
        try:
            key_bytes = self._keys.encode(key)
        except InvalidRecordError as exc:
            return self._reject(value, record_to_json(key), exc)
        try:
            payload = None if value is None else self._encoder.encode(value)
        except InvalidRecordError as exc:
            return self._reject(value, key_bytes, exc)
        size = (
            len(payload or b"")
            + len(key_bytes or b"")
            + (_BARE if headers is None else message_overhead(headers))
        )
        if size > self.producer.max_message_bytes:
            limit = self.producer.max_message_bytes
            error = UnsendableRecordError(
                f"{self.topic}: the record is {size:,} bytes, over the {limit:,} a message may carry"
            )
            return self._reject(value, key_bytes, error)
        try:
            self.producer.produce(self.topic, value=payload, key=key_bytes, headers=headers)
        except UnsendableRecordError as exc:
            return self._reject(value, key_bytes, exc)
        except (KafkaException, TypeError, ValueError, UnicodeEncodeError) as exc:
            return self._reject(
                value, key_bytes, UnsendableRecordError(f"{self.topic}: Kafka cannot take it: {exc}")
            )
        self.sent += 1
        return _ACCEPTED

    def _reject(self, value: Any, key: bytes | None, error: InvalidRecordError) -> SendResult:
        self.rejected += 1
        if self._dlq is None:
            raise error
        encoder = self._encoder.encoder_for(value)  # the type it was checked against, if one took it
        self._dlq.rejected_record(
            self.topic,
            record_to_json(value),
            key,
            error,
            subject=encoder.subject if encoder is not None else None,
            schema_version=encoder.version if encoder is not None else None,
        )
        return SendResult(False, error)

    def flush(self, timeout: float = 60.0) -> None:
        self.producer.flush(timeout)
        if self._dlq is not None and self._dlq.producer is not self.producer:
            self._dlq.flush(timeout)

    close = flush

    def __enter__(self) -> TopicProducer[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None:
            self.close()


class TopicConsumer(Generic[T]):
    """Consumes one topic in a group and hands batches of ``Received[T]`` to a handler. ``decoder``
    yields the typed values (an AvroDecoder given the generated class's ``from_avro``)."""

    def __init__(
        self,
        config: Mapping[str, Any],
        topic: str,
        decoder: AvroDecoder,
        *,
        key_codec: KeyCodec | None = None,
        dlq: DeadLetterPublisher | None = None,
        retry: RetryPolicy | None = None,
        batch_size: int = 500,
        batch_timeout: float = 0.5,
    ) -> None:
        self.topic = topic
        self._decoder = decoder
        self._keys = key_codec or StringKeyCodec()
        self._decode_value = decoder.decode
        self._string_keys = type(self._keys) is StringKeyCodec
        self._loop_args: dict[str, Any] = {
            "config": config,
            "dlq": dlq,
            "retry": retry,
            "batch_size": batch_size,
            "batch_timeout": batch_timeout,
        }
        self.loop: ConsumerLoop[Received[T]] | None = None

    def decode(self, msg: Message) -> Received[T]:
        raw = msg.value()
        value = None if raw is None else self._decode_value(raw)
        data = msg.key()
        key: Any
        if not self._string_keys or data is None:
            key = self._keys.decode(data)
        else:  # StringKeyCodec.decode written out: once per message
            try:
                key = data.decode("utf-8")
            except UnicodeDecodeError:
                key = self._keys.decode(data)  # raises KeyDecodeError, naming the problem
        return Received(value, key, self.topic, msg)

    def run(
        self,
        handle: Callable[[list[Received[T]]], None] | Callable[[Received[T]], None],
        *,
        batch: bool = True,
        max_messages: int | None = None,
        idle_timeout: float | None = None,
        handle_signals: bool = True,
        on_batch: Callable[[ConsumerStats], None] | None = None,
        on_dead_letter: Callable[[Message, str, BaseException], None] | None = None,
    ) -> ConsumerStats:
        """Run the loop (see ConsumerLoop.run). ``handle`` takes a list of received messages, or one
        at a time with ``batch=False``."""
        args = self._loop_args
        self.loop = ConsumerLoop(
            args["config"],
            [self.topic],
            self.decode,
            handle,
            batch=batch,
            dlq=args["dlq"],
            retry=args["retry"],
            batch_size=args["batch_size"],
            batch_timeout=args["batch_timeout"],
        )
        self.loop.on_batch = on_batch
        self.loop.on_dead_letter = on_dead_letter
        return self.loop.run(
            max_messages=max_messages, idle_timeout=idle_timeout, handle_signals=handle_signals
        )

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.stop()
