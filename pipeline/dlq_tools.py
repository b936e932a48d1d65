"""Working with dead-letter topics: read their entries, and re-drive them to where they came from.

``replay`` is idempotent: it reads with its own consumer group (one per DLQ topic and filter) and
commits each DLQ offset only after the re-driven message is acknowledged, so a second run re-drives
nothing and a crash re-drives at most what was in flight. Consumer-side entries go back with their
original key, value and headers; producer-side (JSON) entries are re-encoded with the subject's latest
registered schema if they now fit it, and reported otherwise.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from pipeline.config import Settings, librdkafka_config, producer_config
from pipeline.dlq import DeadLetter, json_to_datum, parse_dead_letter, split_headers
from pipeline.errors import ClusterUnavailableError, ConfigError, SchemaViolationError
from pipeline.producer import ReliableProducer
from pipeline.registry import RegistryClient
from pipeline.serde import AvroEncoder, SchemaResolver

__all__ = ["DlqEntry", "ReplayReport", "matches", "read_entries", "replay"]

REPLAY_HEADER = "replayed-from"


@dataclass(frozen=True)
class DlqEntry:
    """One dead letter: where it sits in the DLQ topic, its envelope and its original message."""

    topic: str
    partition: int
    offset: int
    letter: DeadLetter
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]

    @property
    def position(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"

    @property
    def source(self) -> str:
        letter = self.letter
        if letter.original_partition is None:
            return f"{letter.original_topic} (not sent)"
        return f"{letter.original_topic}[{letter.original_partition}]@{letter.original_offset}"

    def as_json(self) -> dict[str, Any]:
        letter = {
            k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in self.letter.__dict__.items()
        }
        return {
            "dlq_position": self.position,
            **letter,
            "key": None if self.key is None else self.key.decode("utf-8", errors="replace"),
            "value_bytes": None if self.value is None else len(self.value),
            "original_headers": [
                [k, None if v is None else v.decode("utf-8", "replace")] for k, v in self.headers
            ],
        }


def matches(entry: DlqEntry, filters: Mapping[str, str]) -> bool:
    """True when every ``field=value`` filter holds for the entry's envelope (e.g. error_class, stage)."""
    for name, wanted in filters.items():
        if not hasattr(entry.letter, name):
            known = ", ".join(sorted(entry.letter.__dict__))
            raise ConfigError(f"--filter {name}: unknown field; use one of {known}")
        if str(getattr(entry.letter, name)) != wanted:
            return False
    return True


def _entry(msg: Message) -> DlqEntry:
    original, _ = split_headers(msg.headers())  # type: ignore[arg-type]
    return DlqEntry(
        str(msg.topic()),
        int(msg.partition() or 0),
        int(msg.offset() or 0),
        parse_dead_letter(msg.headers()),  # type: ignore[arg-type]
        msg.key(),
        msg.value(),
        tuple(original),
    )


def _read(consumer: Consumer, topic: str, *, from_committed: bool) -> Iterator[Message]:
    """Every message of ``topic`` up to its end as of now, from the start or the group's position."""
    metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if metadata is None or metadata.error is not None:
        raise ConfigError(f"dead-letter topic {topic} does not exist")
    tps = [TopicPartition(topic, p) for p in sorted(metadata.partitions)]
    ends: dict[int, int] = {}
    starts: list[TopicPartition] = []
    committed = consumer.committed(tps, timeout=10) if from_committed else tps
    for tp, done in zip(tps, committed, strict=True):
        low, high = consumer.get_watermark_offsets(tp, timeout=10)
        start = done.offset if from_committed and done.offset >= 0 else low
        if start < high:
            ends[tp.partition] = high
            starts.append(TopicPartition(topic, tp.partition, start))
    if not starts:
        return
    consumer.assign(starts)
    while ends:
        for msg in consumer.consume(500, 1.0):
            if msg.error():
                continue
            partition, offset = int(msg.partition() or 0), int(msg.offset() or 0)
            if partition in ends:
                yield msg
                if offset + 1 >= ends[partition]:
                    del ends[partition]


def read_entries(settings: Settings, dlq_topic: str) -> Iterator[DlqEntry]:
    """Every entry of ``dlq_topic`` from the beginning (no group, nothing committed)."""
    consumer = Consumer(
        {**librdkafka_config(settings.kafka), "group.id": "pipeline-dlq-inspect", "enable.auto.commit": False}
    )
    try:
        for msg in _read(consumer, dlq_topic, from_committed=False):
            try:
                yield _entry(msg)
            except ValueError:
                continue  # not a dead letter (no dlq.stage): nothing to show
    finally:
        consumer.close()


@dataclass
class ReplayReport:
    read: int = 0
    replayed: int = 0
    filtered_out: int = 0
    still_invalid: list[str] = field(default_factory=list)
    not_dead_letters: int = 0
    group: str = ""


def replay_group(dlq_topic: str, filters: Mapping[str, str]) -> str:
    """The consumer group that remembers how far ``replay`` got for this DLQ topic and filter."""
    signature = json.dumps(sorted(filters.items()))
    return f"pipeline-dlq-replay.{dlq_topic}.{hashlib.sha1(signature.encode()).hexdigest()[:10]}"


def replay(
    settings: Settings,
    dlq_topic: str,
    registry: RegistryClient,
    *,
    filters: Mapping[str, str] | None = None,
    dry_run: bool = False,
    reset: bool = False,
    say: Callable[[str], None] = lambda _msg: None,
) -> ReplayReport:
    """Re-drive ``dlq_topic``'s entries (those matching ``filters``) to their original topics."""
    filters = dict(filters or {})
    group = replay_group(dlq_topic, filters)
    report = ReplayReport(group=group)
    consumer = Consumer(
        {
            **librdkafka_config(settings.kafka),
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    producer = ReliableProducer(producer_config(settings.kafka, replace(settings.producer, linger_ms=5)))
    resolver = SchemaResolver(registry)
    encoders: dict[str, AvroEncoder] = {}
    try:
        for msg in _read(consumer, dlq_topic, from_committed=not reset):
            report.read += 1
            try:
                entry = _entry(msg)
            except ValueError:
                report.not_dead_letters += 1
            else:
                if not matches(entry, filters):
                    report.filtered_out += 1
                elif entry.letter.stage == "serialize":
                    _replay_rejected(entry, producer, registry, resolver, encoders, report, dry_run, say)
                else:
                    say(f"re-drive {entry.position} -> {entry.source}")
                    if not dry_run:
                        _redrive(producer, entry, str(entry.letter.original_topic), entry.value)
                    report.replayed += 1
            if not dry_run:
                producer.flush()  # acknowledged before the DLQ offset is committed
                tp = TopicPartition(dlq_topic, int(msg.partition() or 0), int(msg.offset() or 0) + 1)
                consumer.commit(offsets=[tp], asynchronous=False)
    except KafkaException as exc:
        raise ClusterUnavailableError(f"replay of {dlq_topic} stopped: {exc}") from exc
    finally:
        producer.flush()
        consumer.close()
    return report


def _redrive(producer: ReliableProducer, entry: DlqEntry, topic: str, value: bytes | None) -> None:
    headers: list[tuple[str, str | bytes | None]] = [*entry.headers, (REPLAY_HEADER, entry.position.encode())]
    producer.produce(topic, value=value, key=entry.key, headers=headers)


def _replay_rejected(
    entry: DlqEntry,
    producer: ReliableProducer,
    registry: RegistryClient,
    resolver: SchemaResolver,
    encoders: dict[str, AvroEncoder],
    report: ReplayReport,
    dry_run: bool,
    say: Callable[[str], None],
) -> None:
    subject = entry.letter.subject or f"{entry.letter.original_topic}-value"
    if subject not in encoders:
        latest = registry.schema(subject, "latest")
        encoders[subject] = AvroEncoder(resolver.writer_schema(latest.schema_id), latest.schema_id, subject)
    encoder = encoders[subject]
    try:
        datum = json_to_datum(encoder.schema, json.loads(entry.value or b"null"))
        value = encoder.encode(datum)
    except (ValueError, SchemaViolationError) as exc:
        report.still_invalid.append(f"{entry.position}: {exc}")
        say(f"still invalid {entry.position}: {exc}")
        return
    say(
        f"re-encode {entry.position} with {subject} (id {encoder.schema_id}) -> {entry.letter.original_topic}"
    )
    if not dry_run:
        _redrive(producer, entry, str(entry.letter.original_topic), value)
    report.replayed += 1
