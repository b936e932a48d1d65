"""Working with dead-letter topics: read their entries, and re-drive them to where they came from.

Reading streams: entries are handed over as they are read, never gathered, so a caller that wants ten
stops after ten. A topic is read as a dead-letter topic only if its messages are dead letters: when the
first 100 read (or all of them, if fewer) carry no ``dlq.stage`` header, it is refused as not one.

``replay`` re-drives in batches: each entry is produced asynchronously, the batch is flushed (every
message acknowledged), and only then are the batch's DLQ offsets committed, in the replay's own consumer
group (one per DLQ topic and filter). Consumer-side entries go back with their original key, value and
headers; a ``deserialize`` entry only once its bytes now decode with their writer schema (read as the
subject's latest schema where the topic has one); producer-side (JSON) entries are re-encoded with the
subject's latest registered schema if they now fit it. An entry that stays invalid is reported and never
committed past: the commit stops at the first such entry of its partition, and its metadata
(:class:`ReplayProgress`) remembers which later entries were handled, so the next replay tries the invalid
ones again and re-drives nothing twice.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from bisect import bisect_right, insort
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from pipeline.avro import Schema
from pipeline.codec import Decoder, wire
from pipeline.config import Settings, librdkafka_config, producer_config
from pipeline.dlq.envelope import (
    OMITTED,
    PREFIX,
    DeadLetter,
    dead_letter_from,
    envelope_field,
    header_text,
    json_to_datum,
    split_headers,
)
from pipeline.errors import (
    ClusterUnavailableError,
    ConfigError,
    PipelineError,
    RegistryError,
    RegistryUnavailableError,
    SchemaViolationError,
)
from pipeline.kafka.clientlog import kafka_trouble
from pipeline.kafka.consumer import committed_offsets
from pipeline.kafka.producer import ReliableProducer
from pipeline.registry.client import RegistryClient
from pipeline.registry.serde import AvroEncoder, SchemaResolver

__all__ = [
    "REPLAY_HEADER",
    "DlqEntry",
    "ReplayProgress",
    "ReplayReport",
    "matches",
    "normalized_filters",
    "read_entries",
    "replay",
    "replay_group",
]

REPLAY_HEADER = "replayed-from"
#: Entries re-driven between two flushes and commits.
BATCH = 5000
_WAIT = 10.0  # seconds a metadata or offsets request may take
_IDLE = 30.0  # seconds without a message, while some are still to come, before reading gives up
_JUDGE = 100  # messages without a dead letter among them that show a topic is not a dead-letter topic
_EXAMPLES = 3  # example lines kept per outcome for the summary


@dataclass(frozen=True)
class DlqEntry:
    """One dead letter: where it sits in the DLQ topic, its envelope and its original message
    (``omitted`` names the parts replaced by their size and SHA-256, when any were)."""

    topic: str
    partition: int
    offset: int
    letter: DeadLetter
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    omitted: str | None = None

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
            "omitted": self.omitted,
            "original_headers": [
                [k, None if v is None else v.decode("utf-8", "replace")] for k, v in self.headers
            ],
        }


@functools.cache
def _field(name: str) -> str:
    try:
        return envelope_field(name)
    except ValueError as exc:
        raise ConfigError(f"filter {exc}") from None


def normalized_filters(filters: Mapping[str, str] | None) -> dict[str, str]:
    """``filters`` keyed by envelope field (``dlq.error.class`` -> ``error_class``); ConfigError for a
    name that is not a dead-letter header."""
    return {_field(name): value for name, value in (filters or {}).items()}


def matches(entry: DlqEntry, filters: Mapping[str, str]) -> bool:
    """True when every filter holds: each names a ``dlq.*`` header (``dlq.error.class``, or the short
    ``error_class``) and the value its text must equal."""
    return all(header_text(entry.letter, _field(name)) == wanted for name, wanted in filters.items())


def _entry(msg: Message) -> DlqEntry | None:
    """The message as a dead letter, or None when it carries no readable envelope."""
    original, ours = split_headers(msg.headers())  # type: ignore[arg-type]
    try:
        letter = dead_letter_from(ours)
    except ValueError:
        return None
    return DlqEntry(
        str(msg.topic()),
        int(msg.partition() or 0),
        int(msg.offset() or 0),
        letter,
        msg.key(),
        msg.value(),
        tuple(original),
        ours.get(OMITTED.removeprefix(PREFIX)),
    )


# -- reading -------------------------------------------------------------------------------------------
def _consumer(settings: Settings, group: str) -> Consumer:
    return Consumer(
        {
            **librdkafka_config(settings.kafka),
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,  # the end is known even where its last offsets hold no message
            "queued.max.messages.kbytes": 16384,  # what is fetched ahead stays small: reading streams
            "fetch.queue.backoff.ms": 20,  # and is fetched again soon after it is taken
        }
    )


def _unreachable(
    settings: Settings, doing: str, exc: BaseException | None, client: Any
) -> ClusterUnavailableError:
    trouble = kafka_trouble(client) or (str(exc) if exc is not None else "")
    return ClusterUnavailableError(
        f"the Kafka cluster at {settings.kafka.bootstrap_servers} did not answer ({doing})"
        + (f": {trouble}" if trouble else "")
    )


def _partitions(consumer: Consumer, settings: Settings, topic: str) -> list[int]:
    try:
        metadata = consumer.list_topics(topic, timeout=_WAIT)
    except KafkaException as exc:
        raise _unreachable(settings, f"looking up topic {topic} within {_WAIT:g} s", exc, consumer) from exc
    found = metadata.topics.get(topic)
    error = None if found is None else found.error
    if found is None or (error is not None and error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
        raise ConfigError(
            f"topic {topic} does not exist on the cluster at {settings.kafka.bootstrap_servers} (nor is it a "
            f"catalog topic whose dead-letter topic could be used)"
        )
    if error is not None:
        raise ClusterUnavailableError(f"topic {topic} cannot be read: {error.str()}")
    return sorted(found.partitions)


def _offsets(
    consumer: Consumer, settings: Settings, topic: str, partitions: list[int], *, committed: bool
) -> dict[int, tuple[int, int, TopicPartition | None]]:
    """Per partition: its low and high watermarks, and what the consumer's group committed."""
    tps = [TopicPartition(topic, p) for p in partitions]
    try:
        marks = [consumer.get_watermark_offsets(tp, timeout=_WAIT) for tp in tps]
        done = committed_offsets(consumer, tps, _WAIT) if committed else [None] * len(tps)
    except KafkaException as exc:
        raise _unreachable(settings, f"reading the offsets of {topic}", exc, consumer) from exc
    if any(mark is None for mark in marks):
        raise ClusterUnavailableError(
            f"the Kafka cluster at {settings.kafka.bootstrap_servers} did not tell the offsets of {topic} "
            f"within {_WAIT:g} s"
        )
    return {tp.partition: (mark[0], mark[1], c) for tp, mark, c in zip(tps, marks, done, strict=True)}


class _Reader:
    """The messages of ``topic`` from ``starts`` up to each partition's end as of now, as they come."""

    def __init__(
        self,
        consumer: Consumer,
        settings: Settings,
        topic: str,
        starts: Mapping[int, int],
        ends: Mapping[int, int],
    ) -> None:
        self._consumer = consumer
        self._settings = settings
        self._topic = topic
        self._starts = starts
        self._todo = {p: end for p, end in ends.items() if starts[p] < end}

    def stop(self, partition: int) -> None:
        """Read no further in ``partition`` (what is already fetched of it is dropped)."""
        self._todo.pop(partition, None)

    def __iter__(self) -> Iterator[Message]:
        if not self._todo:
            return
        consumer = self._consumer
        try:
            consumer.assign([TopicPartition(self._topic, p, self._starts[p]) for p in self._todo])
            heard = time.monotonic()
            while self._todo:
                messages = consumer.consume(200, 1.0)
                if messages:
                    heard = time.monotonic()
                elif time.monotonic() - heard > _IDLE:
                    doing = f"no message of {self._topic} for {_IDLE:g} s"
                    raise _unreachable(self._settings, doing, None, consumer)
                messages.reverse()
                while messages:  # each handed over and let go of in turn: only one batch is ever held
                    yield from self._take(messages.pop())
        except KafkaException as exc:
            raise _unreachable(self._settings, f"reading {self._topic}", exc, consumer) from exc

    def _take(self, msg: Message) -> Iterator[Message]:
        partition = int(msg.partition() or 0)
        end = self._todo.get(partition)
        if end is None:
            return
        error = msg.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                del self._todo[partition]
            elif error.fatal():
                raise KafkaException(error)
            return  # transient: librdkafka retries
        offset = int(msg.offset() or 0)
        if offset >= end:
            del self._todo[partition]
            return
        yield msg
        if offset + 1 >= end:
            self._todo.pop(partition, None)


def _not_a_dlq(topic: str, count: int) -> PipelineError:
    return PipelineError(
        f"{topic} is not a dead-letter topic: none of the {count} messages read from it carries a "
        f"dlq.stage header"
    )


def _letters(messages: Iterable[Message], topic: str) -> Iterator[tuple[Message, DlqEntry | None]]:
    """Each message with its entry (None: not a dead letter). Messages that are not dead letters are held
    back until one that is shows this is a dead-letter topic; PipelineError when none does."""
    held: list[Message] | None = []  # None once the topic has shown a dead letter
    for msg in messages:
        entry = _entry(msg)
        if held is None:
            yield msg, entry
        elif entry is None:
            held.append(msg)
            if len(held) >= _JUDGE:
                raise _not_a_dlq(topic, len(held))
        else:
            for stray in held:
                yield stray, None
            held = None
            yield msg, entry
    if held:
        raise _not_a_dlq(topic, len(held))


def read_entries(settings: Settings, dlq_topic: str) -> Generator[DlqEntry, None, None]:
    """Every entry of ``dlq_topic`` from the beginning, as read (no group, nothing committed). Raises
    ConfigError when the topic does not exist, PipelineError when it is not a dead-letter topic and
    ClusterUnavailableError when the cluster does not answer."""
    consumer = _consumer(settings, "pipeline-dlq-inspect")
    try:
        partitions = _partitions(consumer, settings, dlq_topic)
        offsets = _offsets(consumer, settings, dlq_topic, partitions, committed=False)
        starts = {p: low for p, (low, _high, _done) in offsets.items()}
        ends = {p: high for p, (_low, high, _done) in offsets.items()}
        for _msg, entry in _letters(_Reader(consumer, settings, dlq_topic, starts, ends), dlq_topic):
            if entry is not None:
                yield entry
    finally:
        consumer.close()


# -- replay progress -----------------------------------------------------------------------------------
_PROGRESS = "dlq-replay/1"
_BUDGET = 3000  # characters of commit metadata; Kafka's offset.metadata.max.bytes is 4096 by default
_ROOM = 64  # what one more pending stretch (and a longer ``through``) may add to the metadata


@dataclass
class ReplayProgress:
    """How far replay got in one partition: every offset below ``through`` was handled except the
    ``pending`` ones (stretches ``[first, last]`` of entries that stayed invalid). The committed offset is
    the first pending one, so the next replay sees it again; the commit's metadata carries the rest."""

    through: int
    pending: list[list[int]] = field(default_factory=list)

    @property
    def offset(self) -> int:
        """The offset to commit."""
        return self.pending[0][0] if self.pending else self.through

    @classmethod
    def restore(cls, committed: int, low: int, metadata: str | None) -> ReplayProgress:
        """The progress a commit of ``committed`` with ``metadata`` left (from the start when nothing was
        committed, from ``committed`` alone when the metadata is not ours), without what retention
        deleted (below ``low``)."""
        progress = cls._parse(committed, metadata) if committed >= 0 else None
        if progress is None:
            progress = cls(max(committed, low))
        progress.pending = [[max(a, low), b] for a, b in progress.pending if b >= low]
        progress.through = max(progress.through, low)
        return progress

    @classmethod
    def _parse(cls, committed: int, metadata: str | None) -> ReplayProgress | None:
        words = (metadata or "").split()
        if len(words) < 2 or words[0] != _PROGRESS or not words[1].startswith("through="):
            return None
        try:
            progress = cls(int(words[1].removeprefix("through=")))
            end = committed
            for stretch in words[2].removeprefix("pending=").split(",") if len(words) > 2 else []:
                gap, count = (int(n) for n in stretch.split("+"))
                if gap < 0 or count < 1:
                    return None
                progress.pending.append([end + gap, end + gap + count - 1])
                end += gap + count
        except ValueError:
            return None
        if progress.offset != committed or (progress.pending and progress.pending[-1][1] >= progress.through):
            return None  # committed by something else since
        return progress

    def metadata(self) -> str:
        text = f"{_PROGRESS} through={self.through}"
        if self.pending:
            end, stretches = self.pending[0][0], []
            for first, last in self.pending:
                stretches.append(f"{first - end}+{last - first + 1}")
                end = last + 1
            text += " pending=" + ",".join(stretches)
        return text

    def _find(self, offset: int) -> int:
        """The index of the pending stretch holding ``offset``, or -1."""
        i = bisect_right(self.pending, offset, key=lambda stretch: stretch[0]) - 1
        return i if i >= 0 and self.pending[i][1] >= offset else -1

    def done(self, offset: int) -> bool:
        """Handled by an earlier replay (re-driven, filtered out or not a dead letter)."""
        return offset < self.through and self._find(offset) < 0

    def fits(self, offset: int, *, invalid: bool) -> bool:
        """Whether recording ``offset`` keeps the metadata within what a commit can carry."""
        i = self._find(offset)
        if invalid:
            grows = i < 0 and not (self.pending and self.pending[-1][1] == offset - 1)
        else:
            grows = i >= 0 and self.pending[i][0] < offset < self.pending[i][1]  # a stretch splits
        return not grows or len(self.metadata()) + _ROOM <= _BUDGET

    def record(self, offset: int, *, invalid: bool) -> None:
        """``offset`` was handled: it stayed invalid (pending), or it is done with."""
        i = self._find(offset)
        if invalid and i < 0:
            if self.pending and self.pending[-1][1] == offset - 1:
                self.pending[-1][1] = offset
            else:
                insort(self.pending, [offset, offset], key=lambda stretch: stretch[0])
        elif not invalid and i >= 0:
            first, last = self.pending[i]
            stretches = [[first, offset - 1], [offset + 1, last]]
            self.pending[i : i + 1] = [[a, b] for a, b in stretches if a <= b]
        self.through = max(self.through, offset + 1)


# -- replay --------------------------------------------------------------------------------------------
@dataclass
class ReplayReport:
    """What a replay did. ``kinds`` counts (outcome, stage, error class); ``examples`` keeps the first
    lines of each outcome ("re-drive", "still invalid"); ``stopped`` says which partitions stopped early."""

    group: str = ""
    read: int = 0
    replayed: int = 0
    still_invalid: int = 0
    filtered_out: int = 0
    not_dead_letters: int = 0
    earlier: int = 0
    kinds: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)

    def note(self, outcome: str, entry: DlqEntry, line: str) -> None:
        if outcome == "re-drive":
            self.replayed += 1
        else:
            self.still_invalid += 1
        self.kinds[(outcome, entry.letter.stage, entry.letter.error_class)] += 1
        shown = self.examples.setdefault(outcome, [])
        if len(shown) < _EXAMPLES:
            shown.append(line)

    def skipped(self, outcome: str) -> None:
        if outcome == "filtered out":
            self.filtered_out += 1
        else:
            self.not_dead_letters += 1


def replay_group(dlq_topic: str, filters: Mapping[str, str]) -> str:
    """The consumer group that remembers how far ``replay`` got for this DLQ topic and filter."""
    signature = json.dumps(sorted(normalized_filters(filters).items()))
    return f"pipeline-dlq-replay.{dlq_topic}.{hashlib.sha1(signature.encode()).hexdigest()[:10]}"


class _Invalid(Exception):
    """The entry cannot be re-driven as it stands; the message says why."""


def _registry_problem(exc: RegistryError) -> str:
    """An answer about one entry (the registry lacks its schema) as a sentence; anything else means the
    registry cannot be used, raised as RegistryUnavailableError."""
    if exc.status == 404 and exc.code is not None and not isinstance(exc, RegistryUnavailableError):
        return str(exc)
    if isinstance(exc, RegistryUnavailableError):
        raise exc
    raise RegistryUnavailableError(str(exc), status=exc.status, code=exc.code) from exc


class _Redriver:
    """What an entry goes back as, with the registry's schemas looked up once each."""

    def __init__(self, registry: RegistryClient) -> None:
        self._registry = registry
        self._resolver = SchemaResolver(registry)
        self._latest: dict[str, tuple[int, Schema] | str | None] = {}
        self._decoders: dict[tuple[int, str], Decoder | str] = {}

    def value(self, entry: DlqEntry) -> tuple[bytes | None, str]:
        """The value to re-drive and how it was made (for the entry's line); raises _Invalid."""
        letter = entry.letter
        if entry.omitted:
            raise _Invalid(f"its {entry.omitted} was too large for the dead-letter topic and is gone")
        if not letter.original_topic:
            raise _Invalid("it names no original topic (no dlq.original.topic header)")
        if letter.stage == "serialize":
            return self._reencoded(entry)
        if letter.stage == "deserialize":
            self._check(entry.value, f"{letter.original_topic}-value", "value")
            if letter.error_class == "KeyDecodeError":
                self._check_key(entry.key, f"{letter.original_topic}-key")
        return entry.value, ""

    def _subject(self, subject: str) -> tuple[int, Schema] | str | None:
        """The subject's latest schema id and schema, None when it has none, or why it cannot be read."""
        if subject not in self._latest:
            try:
                stored = self._registry.schema(subject, "latest", absent=True)
                self._latest[subject] = (
                    None
                    if stored is None
                    else (stored.schema_id, self._resolver.writer_schema(stored.schema_id))
                )
            except SchemaViolationError as exc:
                self._latest[subject] = str(exc)
            except RegistryError as exc:
                self._latest[subject] = _registry_problem(exc)
        return self._latest[subject]

    def _reencoded(self, entry: DlqEntry) -> tuple[bytes | None, str]:
        subject = entry.letter.subject or f"{entry.letter.original_topic}-value"
        latest = self._subject(subject)
        if not isinstance(latest, tuple):
            raise _Invalid(latest or f"subject {subject} has no registered version")
        schema_id, schema = latest
        try:
            datum = json_to_datum(schema, json.loads(entry.value or b"null"))
            value = AvroEncoder(schema, schema_id, subject).encode(datum)
        except (ValueError, RecursionError, SchemaViolationError) as exc:
            raise _Invalid(str(exc)) from None
        return value, f" (re-encoded with {subject}, id {schema_id})"

    def _decoder(self, schema_id: int, subject: str) -> Decoder | str:
        """A decoder from the writer's schema to the subject's latest (the writer's own when the subject
        has none), or why there is none."""
        key = (schema_id, subject)
        if key not in self._decoders:
            latest = self._subject(subject)
            try:
                writer = self._resolver.writer_schema(schema_id)
                reader = latest[1] if isinstance(latest, tuple) else writer
                self._decoders[key] = Decoder(writer, reader, label=f"schema id {schema_id}")
            except SchemaViolationError as exc:
                self._decoders[key] = str(exc)
            except RegistryError as exc:
                self._decoders[key] = _registry_problem(exc)
        return self._decoders[key]

    def _check(self, data: bytes | None, subject: str, part: str) -> None:
        if data is None:
            return
        try:
            schema_id, _ = wire.unframe(data)
            decoder = self._decoder(schema_id, subject)
            if isinstance(decoder, str):
                raise _Invalid(f"its {part} still does not decode: {decoder}")
            decoder.decode(data, wire.HEADER_SIZE)
        except SchemaViolationError as exc:
            raise _Invalid(f"its {part} still does not decode: {exc}") from None

    def _check_key(self, key: bytes | None, subject: str) -> None:
        # The envelope does not say how the consumer reads keys: framed ones as Avro, others as UTF-8.
        if key is not None and len(key) >= wire.HEADER_SIZE and key[0] == wire.MAGIC_BYTE:
            self._check(key, subject, "key")
        elif key is not None:
            try:
                key.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _Invalid(f"its key is still not valid UTF-8: {exc.reason}") from None


def replay(
    settings: Settings,
    dlq_topic: str,
    registry: RegistryClient,
    *,
    filters: Mapping[str, str] | None = None,
    dry_run: bool = False,
    reset: bool = False,
    say: Callable[[str], None] = lambda _msg: None,
    batch: int = BATCH,
) -> ReplayReport:
    """Re-drive ``dlq_topic``'s entries (those matching ``filters``) to their original topics; ``say``
    hears one line per entry. Raises ConfigError (no such topic), PipelineError (not a dead-letter
    topic), ClusterUnavailableError, RegistryUnavailableError (the registry cannot be used: the entries
    re-driven before are committed) and DeliveryError (the batch is not committed)."""
    filters = normalized_filters(filters)
    report = ReplayReport(group=replay_group(dlq_topic, filters))
    consumer = _consumer(settings, report.group)
    producer = ReliableProducer(producer_config(settings.kafka, settings.producer))
    redriver = _Redriver(registry)
    progress: dict[int, ReplayProgress] = {}
    touched: set[int] = set()

    def commit() -> None:
        if dry_run or not touched:
            return
        producer.flush()  # every re-driven message acknowledged before its offset is committed
        offsets = [TopicPartition(dlq_topic, p, progress[p].offset, progress[p].metadata()) for p in touched]
        consumer.commit(offsets=offsets, asynchronous=False)
        touched.clear()

    try:
        partitions = _partitions(consumer, settings, dlq_topic)
        offsets = _offsets(consumer, settings, dlq_topic, partitions, committed=not reset)
        for p, (low, _high, done) in offsets.items():
            committed, metadata = (-1, None) if done is None else (done.offset, done.metadata)
            progress[p] = ReplayProgress.restore(committed, low, metadata)
        starts = {p: track.offset for p, track in progress.items()}
        reader = _Reader(consumer, settings, dlq_topic, starts, {p: o[1] for p, o in offsets.items()})
        for count, (msg, entry) in enumerate(_letters(reader, dlq_topic), 1):
            partition, offset = int(msg.partition() or 0), int(msg.offset() or 0)
            track = progress[partition]
            if track.done(offset):
                report.earlier += 1
                continue
            outcome, value, line = _outcome(entry, filters, redriver)
            invalid = outcome == "still invalid"
            if not track.fits(offset, invalid=invalid):
                reader.stop(partition)
                report.stopped.append(
                    f"partition {partition} stopped at offset {offset}: more stretches of still-invalid "
                    f"entries than a commit can remember (the next replay goes on from its first one)"
                )
                continue
            report.read += 1
            if entry is None or outcome in ("filtered out", "not a dead letter"):
                report.skipped(outcome)
            else:
                if outcome == "re-drive" and not dry_run:
                    _redrive(producer, entry, str(entry.letter.original_topic), value)
                report.note(outcome, entry, line)
                say(line)
            track.record(offset, invalid=invalid)
            touched.add(partition)
            if count % batch == 0:
                commit()
        commit()
    except RegistryUnavailableError as exc:
        commit()
        after = "" if dry_run else f", after re-driving {report.replayed} entries (committed)"
        raise RegistryUnavailableError(
            f"{exc}; the replay of {dlq_topic} stopped there{after}", status=exc.status, code=exc.code
        ) from exc
    except KafkaException as exc:
        raise _unreachable(settings, f"replaying {dlq_topic}", exc, consumer) from exc
    finally:
        consumer.close()
    return report


def _outcome(
    entry: DlqEntry | None, filters: Mapping[str, str], redriver: _Redriver
) -> tuple[str, bytes | None, str]:
    """What to do with one message: (outcome, the value to re-drive, the entry's line)."""
    if entry is None:
        return "not a dead letter", None, ""
    if not matches(entry, filters):
        return "filtered out", None, ""
    try:
        value, how = redriver.value(entry)
    except _Invalid as problem:
        return "still invalid", None, f"still invalid {entry.position}: {problem}"
    return "re-drive", value, f"re-drive {entry.position} -> {entry.source}{how}"


def _redrive(producer: ReliableProducer, entry: DlqEntry, topic: str, value: bytes | None) -> None:
    headers: list[tuple[str, str | bytes | None]] = [*entry.headers, (REPLAY_HEADER, entry.position.encode())]
    producer.produce(topic, value=value, key=entry.key, headers=headers)
