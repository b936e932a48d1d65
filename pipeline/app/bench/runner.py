"""Measuring: the same stream of ``Order`` records through three families of clients, side by side.

- **floor**: a bare ``Producer`` of pre-encoded bytes, and a bare ``Consumer.consume(num_messages=…)``
  committing each batch -- what the transport allows from Python, with no codec at all;
- **baseline**: confluent-kafka's ``SerializingProducer`` + ``AvroSerializer`` and
  ``DeserializingConsumer`` + ``AvroDeserializer`` (the seed's way), typed through ``to_dict`` /
  ``from_dict`` with :class:`pipeline.codec.convert.Converter`, committing each batch;
- **ours**: the generated pipeline's ``TopicProducer.send`` and ``TopicConsumer.run``.

Every family writes to and reads from its own fresh topic (deleted afterwards, with its subject), with the
same producer settings (``producer_config``) and consumer settings (``consumer_config``, a fresh group
per phase). Floor and baseline let librdkafka store offsets as messages are handed over and commit them
per batch -- the cheapest correct way; ours commits exactly what its handler processed. The floor's
consumer also fetches again sooner once its prefetch queue is full (see ``_FLOOR_CONSUMER``). The codec
is also timed alone (no Kafka) for ours and the baseline. Nothing here asserts a time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import platform
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, DeserializingConsumer, KafkaError, Producer, SerializingProducer
from confluent_kafka import libversion as librdkafka_version
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import (
    MessageField,
    SerializationContext,
    StringDeserializer,
    StringSerializer,
)

from pipeline.app.bench.report import BenchReport, Machine, Sample, summarise
from pipeline.app.samples import SampleGenerator
from pipeline.codec.convert import Converter
from pipeline.config import (
    Settings,
    consumer_config,
    librdkafka_config,
    producer_config,
    registry_client_config,
    serde_config,
)
from pipeline.errors import PipelineError
from pipeline.generated.orders import BINDING, Order
from pipeline.kafka.binding import TopicBinding, open_consumer, open_producer, registry_client, value_decoder
from pipeline.kafka.consumer import ConsumerStats
from pipeline.kafka.transform import TransformLoop
from pipeline.kafka.typed import Received, StringKeyCodec, TopicConsumer, TopicProducer
from pipeline.registry.client import RegistryClient
from pipeline.registry.serde import AvroDecoder, AvroEncoder, SchemaResolver

__all__ = ["BenchConfig", "machine", "run_bench"]

_IDLE_TIMEOUT = 60.0  # seconds without a message before a consume phase gives up


@dataclass(frozen=True)
class BenchConfig:
    count: int = 500_000
    repeat: int = 3
    batch_size: int = 500
    partitions: int = 3  # as the catalog's ``orders`` topic
    seed: int = 42
    profile_dir: Path | None = None  # one more repetition of our phases under pyinstrument, not timed


class _Memory:
    """Peak RSS of this process per phase: Linux's VmHWM, reset at the start of each phase (clear_refs 5);
    elsewhere ru_maxrss, which only ever grows (so a phase shows growth only past the earlier peak)."""

    def __init__(self) -> None:
        self.resettable = self._reset()

    @staticmethod
    def _status(field: str) -> int | None:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    @staticmethod
    def _reset() -> bool:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    def current(self) -> int:
        found = self._status("VmRSS")
        return found if found is not None else self.peak()

    def peak(self) -> int:
        found = self._status("VmHWM")
        if found is not None:
            return found
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    @contextmanager
    def phase(self) -> Iterator[list[int]]:
        """Yields a list that holds (start RSS, peak RSS) once the block is done."""
        gc.collect()
        if self.resettable:
            self._reset()
        start = self.current() if self.resettable else self.peak()
        box: list[int] = []
        yield box
        box.extend([start, self.peak()])


@dataclass
class _Fixture:
    """What every repetition shares: the records, their keys and encoded values, the registry."""

    settings: Settings
    config: BenchConfig
    records: list[Order]
    keys: list[str]
    key_bytes: list[bytes]
    payloads: list[bytes]
    client: SchemaRegistryClient  # confluent-kafka's, for the baseline's serdes
    registry: RegistryClient  # ours
    run_id: str


def machine(settings: Settings) -> Machine:
    """This machine, the library versions and the cluster, for the report."""
    cpu = platform.processor() or platform.machine()
    memory = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    libraries = {
        "confluent-kafka": metadata.version("confluent-kafka"),
        "librdkafka": librdkafka_version()[0],
    }
    libraries["fastavro"] = metadata.version("fastavro")
    cluster = settings.kafka.bootstrap_servers + (" (embedded stack)" if settings.embedded else "")
    return Machine(
        cpu=cpu,
        cores=os.cpu_count() or 0,
        memory_gib=memory,
        system=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        libraries=libraries,
        date=datetime.now(UTC).strftime("%Y-%m-%d"),
        cluster=cluster,
    )


def run_bench(
    settings: Settings, config: BenchConfig, progress: Callable[[str], None] = lambda _msg: None
) -> BenchReport:
    """Run every phase ``config.repeat`` times and summarise. Raises PipelineError when a phase does not
    see all its messages (nothing is timed against a threshold)."""
    memory = _Memory()
    registry = registry_client(settings)
    client = SchemaRegistryClient(registry_client_config(settings.registry))
    run_id = uuid.uuid4().hex[:8]
    progress(f"generating {config.count:,} orders (seed {config.seed})")
    generator = SampleGenerator(BINDING.value.parsed(), BINDING.classes, config.seed, f"bench-{run_id}")
    records = [generator.record(i) for i in range(config.count)]
    keys = [r.order_id for r in records]
    admin = AdminClient(librdkafka_config(settings.kafka))
    samples: list[Sample] = []
    run_start: int | None = None
    run_peak = 0
    try:
        for rep in range(1, config.repeat + 1 + (1 if config.profile_dir else 0)):
            profiling = rep > config.repeat
            families = ("floor", "baseline", "ours", "at_least_once", "exactly_once")
            topics = {family: f"bench-{run_id}-r{rep}-{family.replace('_', '-')}" for family in families}
            _create_topics(admin, list(topics.values()), config.partitions)
            try:
                ids = {family: _register(registry, topic) for family, topic in topics.items()}
                if rep == 1:
                    encoder = AvroEncoder(
                        BINDING.value.parsed(), ids["ours"], f"{topics['ours']}-value", BINDING.classes
                    )
                    fixture = _Fixture(
                        settings,
                        config,
                        records,
                        keys,
                        [k.encode() for k in keys],
                        [encoder.encode(r) for r in records],
                        client,
                        registry,
                        run_id,
                    )
                    _check_interop(fixture, topics["ours"])
                    gc.freeze()  # the fixture is long-lived: keep full collections from walking it
                    run_start = memory.current()
                for phase, family, measure in _phases(fixture, topics, rep):
                    if profiling:
                        if family == "ours" and config.profile_dir is not None:
                            written = _profile(config.profile_dir, f"{phase}_ours", measure)
                            progress(f"profiled {phase} ours: {written}")
                        continue
                    progress(f"repetition {rep}/{config.repeat}: {phase} {family}")
                    with memory.phase() as rss:
                        messages, seconds = measure()
                    samples.append(Sample(phase, family, messages, seconds, max(0, rss[1] - rss[0])))
                    run_peak = max(run_peak, rss[1])
                    progress(f"  {messages / seconds:,.0f} msgs/s, RSS +{(rss[1] - rss[0]) / 2**20:.1f} MB")
            finally:
                _delete(admin, registry, list(topics.values()))
    finally:
        gc.unfreeze()
    return summarise(
        samples,
        count=config.count,
        repeat=config.repeat,
        batch_size=config.batch_size,
        machine=machine(settings),
        run_rss_growth_bytes=max(0, run_peak - (run_start or run_peak)),
    )


def _profile(directory: Path, name: str, measure: Callable[[], tuple[int, float]]) -> Path:
    """Run ``measure`` under pyinstrument; write its text and HTML reports as ``directory/name.*``."""
    from pyinstrument import Profiler  # the optional ``bench`` extra; the CLI checked it is there

    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        measure()
    finally:
        profiler.stop()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.html").write_text(profiler.output_html())
    text = directory / f"{name}.txt"
    text.write_text(profiler.output_text(unicode=False, color=False))
    return text


def _phases(
    fx: _Fixture, topics: dict[str, str], rep: int
) -> list[tuple[str, str, Callable[[], tuple[int, float]]]]:
    return [
        ("encode", "baseline", lambda: _encode_baseline(fx, topics["baseline"])),
        ("encode", "ours", lambda: _encode_ours(fx, topics["ours"])),
        ("decode", "baseline", lambda: _decode_baseline(fx, topics["baseline"])),
        ("decode", "ours", lambda: _decode_ours(fx, topics["ours"])),
        ("produce", "floor", lambda: _produce_floor(fx, topics["floor"])),
        ("produce", "baseline", lambda: _produce_baseline(fx, topics["baseline"])),
        ("produce", "ours", lambda: _produce_ours(fx, topics["ours"])),
        ("consume", "floor", lambda: _consume_floor(fx, topics["floor"], f"{topics['floor']}-g")),
        ("consume", "baseline", lambda: _consume_baseline(fx, topics["baseline"], f"{topics['baseline']}-g")),
        ("consume", "ours", lambda: _consume_ours(fx, topics["ours"], f"{topics['ours']}-g")),
        (
            "transform",
            "at_least_once",
            lambda: _transform(fx, topics["ours"], topics["at_least_once"], False),
        ),
        ("transform", "exactly_once", lambda: _transform(fx, topics["ours"], topics["exactly_once"], True)),
    ]


# -- setup ---------------------------------------------------------------------------------------


def _create_topics(admin: AdminClient, names: Sequence[str], partitions: int) -> None:
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions) for name in names])
    for name, future in futures.items():
        try:
            future.result(timeout=30)
        except Exception as exc:
            raise PipelineError(f"topic {name}: could not create the benchmark topic: {exc}") from exc


def _register(registry: RegistryClient, topic: str) -> int:
    """Register the Order schema under the topic's subject (TopicNameStrategy) and return its id."""
    return registry.register(f"{topic}-value", BINDING.value.schema_text, []).schema_id


def _delete(admin: AdminClient, registry: RegistryClient, topics: Sequence[str]) -> None:
    for future in admin.delete_topics(list(topics)).values():
        with contextlib.suppress(Exception):  # best effort; the names carry the run id
            future.result(timeout=30)
    for topic in topics:
        with contextlib.suppress(Exception):
            registry.delete_subject(f"{topic}-value")
            registry.delete_subject(f"{topic}-value", permanent=True)


def _binding(topic: str) -> TopicBinding:
    """The generated orders binding, on another topic (and so under another subject)."""
    value = dataclasses.replace(BINDING.value, subject=f"{topic}-value")
    return dataclasses.replace(BINDING, topic=topic, value=value, dlq_topic=f"{topic}.dlq")


def _check_interop(fx: _Fixture, topic: str) -> None:
    """Before timing anything: ours and the baseline write the same bytes and read each other's."""
    ctx = SerializationContext(topic, MessageField.VALUE)
    serializer = _serializer(fx.client)
    deserializer = _deserializer(fx.client)
    decoder = AvroDecoder(SchemaResolver(fx.registry), BINDING.value.parsed(), model=BINDING.classes)
    for record, payload in zip(fx.records[:100], fx.payloads[:100], strict=True):
        if serializer(record, ctx) != payload:
            raise PipelineError(f"topic {topic}: our bytes differ from AvroSerializer's for {record}")
        if deserializer(payload, ctx) != record or decoder.decode(payload) != record:
            raise PipelineError(f"topic {topic}: a record does not read back as written: {record}")


_CONVERTER = Converter(BINDING.value.parsed(), BINDING.classes or {})


def _serializer(client: SchemaRegistryClient) -> AvroSerializer:
    to_generic = _CONVERTER.to_generic
    return AvroSerializer(
        client, BINDING.value.schema_text, to_dict=lambda order, _ctx: to_generic(order), conf=serde_config()
    )


def _deserializer(client: SchemaRegistryClient) -> AvroDeserializer:
    conf = {k: v for k, v in serde_config().items() if k in {"use.latest.version", "subject.name.strategy"}}
    from_generic = _CONVERTER.from_generic
    return AvroDeserializer(client, from_dict=lambda datum, _ctx: from_generic(datum), conf=conf)


# -- codec alone ---------------------------------------------------------------------------------


def _encode_ours(fx: _Fixture, topic: str) -> tuple[int, float]:
    binding = _binding(topic)
    schema_id = binding.value.registered(SchemaResolver(fx.registry))[0].schema_id
    encode = AvroEncoder(binding.value.parsed(), schema_id, binding.value.subject, binding.classes).encode
    keys = StringKeyCodec().encode
    encode(fx.records[0])  # warm: nothing left to look up once the clock runs
    begin = time.perf_counter()
    for record in fx.records:
        keys(record.order_id)
        encode(record)
    return len(fx.records), time.perf_counter() - begin


def _contexts(topic: str) -> tuple[SerializationContext, SerializationContext]:
    return SerializationContext(topic, MessageField.VALUE), SerializationContext(topic, MessageField.KEY)


def _encode_baseline(fx: _Fixture, topic: str) -> tuple[int, float]:
    serializer, keys = _serializer(fx.client), StringSerializer("utf_8")
    value_ctx, key_ctx = _contexts(topic)
    serializer(fx.records[0], value_ctx)
    begin = time.perf_counter()
    for record in fx.records:
        keys(record.order_id, key_ctx)
        serializer(record, value_ctx)
    return len(fx.records), time.perf_counter() - begin


def _decode_ours(fx: _Fixture, topic: str) -> tuple[int, float]:
    # What the generated consumer does: bytes to a typed Order (value_decoder), and the key.
    decode = value_decoder(_binding(topic), SchemaResolver(fx.registry)).decode
    keys = StringKeyCodec().decode
    decode(fx.payloads[0])
    begin = time.perf_counter()
    for key, payload in zip(fx.key_bytes, fx.payloads, strict=True):
        keys(key)
        decode(payload)
    return len(fx.payloads), time.perf_counter() - begin


def _decode_baseline(fx: _Fixture, topic: str) -> tuple[int, float]:
    deserializer, keys = _deserializer(fx.client), StringDeserializer("utf_8")
    value_ctx, key_ctx = _contexts(topic)
    deserializer(fx.payloads[0], value_ctx)
    begin = time.perf_counter()
    for key, payload in zip(fx.key_bytes, fx.payloads, strict=True):
        keys(key, key_ctx)
        deserializer(payload, value_ctx)
    return len(fx.payloads), time.perf_counter() - begin


# -- produce -------------------------------------------------------------------------------------
# Each producer connects and fetches the topic's metadata before its clock starts (otherwise the first
# message waits about half a second for both).


def _produce_floor(fx: _Fixture, topic: str) -> tuple[int, float]:
    producer = Producer(producer_config(fx.settings.kafka, fx.settings.producer))
    producer.list_topics(topic, timeout=10)  # connected before the clock runs, as for the others
    produce = producer.produce
    begin = time.perf_counter()
    for key, payload in zip(fx.key_bytes, fx.payloads, strict=True):
        while True:
            try:
                produce(topic, payload, key)
                break
            except BufferError:
                producer.poll(0.05)
    remaining = producer.flush(120)
    seconds = time.perf_counter() - begin
    if remaining:
        raise PipelineError(f"topic {topic}: {remaining} messages undelivered after 120 s")
    return len(fx.payloads), seconds


def _produce_baseline(fx: _Fixture, topic: str) -> tuple[int, float]:
    serializer = _serializer(fx.client)
    serializer(fx.records[0], SerializationContext(topic, MessageField.VALUE))  # the id lookup, unclocked
    producer = SerializingProducer(
        {
            **producer_config(fx.settings.kafka, fx.settings.producer),
            "key.serializer": StringSerializer("utf_8"),
            "value.serializer": serializer,
        }
    )
    failed: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Any) -> None:
        if err is not None:
            failed.append(err)

    producer.list_topics(topic, timeout=10)
    produce = producer.produce
    begin = time.perf_counter()
    for record in fx.records:
        while True:
            try:
                produce(topic, key=record.order_id, value=record, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
    remaining = producer.flush(120)
    seconds = time.perf_counter() - begin
    if remaining or failed:
        raise PipelineError(f"topic {topic}: {remaining} undelivered, {len(failed)} failed: {failed[:1]}")
    return len(fx.records), seconds


def _produce_ours(fx: _Fixture, topic: str) -> tuple[int, float]:
    producer: TopicProducer[Order] = open_producer(
        fx.settings, _binding(topic), app="pipeline bench", client=fx.registry
    )
    producer.producer.connect(topic)
    send = producer.send
    begin = time.perf_counter()
    for record in fx.records:
        send(record, key=record.order_id)
    producer.flush(120)
    seconds = time.perf_counter() - begin
    if producer.sent != len(fx.records):
        raise PipelineError(f"topic {topic}: {producer.rejected} records rejected")
    return producer.sent, seconds


# -- consume -------------------------------------------------------------------------------------
# Each consume phase starts its clock once the first batch is handled (and committed), so joining the
# group and the first fetch are not counted; the first batch's messages are not counted either.


class _Clock:
    def __init__(self) -> None:
        self.begin: float | None = None
        self.end = 0.0
        self.skipped = 0

    def batch_done(self, handled_so_far: int) -> None:
        now = time.perf_counter()
        if self.begin is None:
            self.begin, self.skipped = now, handled_so_far
        self.end = now

    def result(self, handled: int, topic: str, expected: int) -> tuple[int, float]:
        if handled < expected or self.begin is None:
            raise PipelineError(f"topic {topic}: consumed {handled:,} of {expected:,} messages")
        return handled - self.skipped, self.end - self.begin


# librdkafka waits fetch.queue.backoff.ms (default 1000) before fetching again once its prefetch queue is
# full (queued.min.messages, 100 000 per partition). A consumer that drains the queue faster than that
# then idles: it held the bare consumer to ~225 000 msgs/s here, and ~1 000 000 with 100 ms. The floor is
# the transport's limit, so it gets 100 ms; our consumer and the baseline (both under 150 000 msgs/s) do
# not drain the queue within a second and gained nothing from it, only a larger prefetch (RSS).
_FLOOR_CONSUMER = {"enable.auto.offset.store": True, "fetch.queue.backoff.ms": 100}


def _consume_floor(fx: _Fixture, topic: str, group: str) -> tuple[int, float]:
    consumer = Consumer(
        {**consumer_config(fx.settings.kafka, group, fx.settings.consumer), **_FLOOR_CONSUMER}
    )
    consumer.subscribe([topic])
    clock, handled, expected = _Clock(), 0, len(fx.payloads)
    last = time.monotonic()
    try:
        while handled < expected:
            messages = consumer.consume(num_messages=fx.config.batch_size, timeout=1.0)
            got = sum(1 for m in messages if m.error() is None)
            if not got:
                if time.monotonic() - last > _IDLE_TIMEOUT:
                    break
                continue
            last = time.monotonic()
            consumer.commit(asynchronous=False)
            handled += got
            clock.batch_done(handled)
    finally:
        consumer.close()
    return clock.result(handled, topic, expected)


def _consume_baseline(fx: _Fixture, topic: str, group: str) -> tuple[int, float]:
    consumer = DeserializingConsumer(
        {
            **consumer_config(fx.settings.kafka, group, fx.settings.consumer),
            "enable.auto.offset.store": True,
            "key.deserializer": StringDeserializer("utf_8"),
            "value.deserializer": _deserializer(fx.client),
        }
    )
    consumer.subscribe([topic])
    clock, handled, in_batch, expected = _Clock(), 0, 0, len(fx.payloads)
    batch = fx.config.batch_size
    last = time.monotonic()
    try:
        while handled < expected:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                if in_batch:  # the batch is over: what arrived is processed, commit it
                    consumer.commit(asynchronous=False)
                    handled, in_batch = handled + in_batch, 0
                    clock.batch_done(handled)
                if time.monotonic() - last > _IDLE_TIMEOUT:
                    break
                continue
            last = time.monotonic()
            in_batch += 1
            if in_batch == batch or handled + in_batch == expected:
                consumer.commit(asynchronous=False)
                handled, in_batch = handled + in_batch, 0
                clock.batch_done(handled)
    finally:
        consumer.close()
    return clock.result(handled, topic, expected)


def _consume_ours(fx: _Fixture, topic: str, group: str) -> tuple[int, float]:
    consumer: TopicConsumer[Order] = open_consumer(
        fx.settings,
        _binding(topic),
        group,
        batch_size=fx.config.batch_size,
        client=fx.registry,
    )
    clock, expected = _Clock(), len(fx.payloads)
    handled = 0

    def handle(batch: list[Received[Order]]) -> None:
        nonlocal handled
        handled += len(batch)

    def on_batch(stats: ConsumerStats) -> None:
        clock.batch_done(stats.processed)

    stats = consumer.run(
        handle, max_messages=expected, idle_timeout=_IDLE_TIMEOUT, handle_signals=False, on_batch=on_batch
    )
    if stats.dead_lettered:
        raise PipelineError(f"topic {topic}: {stats.dead_lettered} messages dead-lettered")
    return clock.result(handled, topic, expected)


def _transform(fx: _Fixture, source: str, sink: str, exactly_once: bool) -> tuple[int, float]:
    """Every Order of ``source`` through the transform loop with an identity handler into ``sink``."""
    loop = TransformLoop(
        fx.settings,
        f"{sink}-t",
        _binding(source),
        _binding(sink),
        lambda order: order,
        group=f"{sink}-g",
        exactly_once=exactly_once,
        batch=fx.config.batch_size,
    )
    expected = len(fx.payloads)
    started = time.perf_counter()
    stats = loop.run(max_inputs=expected, idle_timeout=_IDLE_TIMEOUT)
    seconds = time.perf_counter() - started
    if stats.consumed != expected or stats.outputs != expected:
        raise PipelineError(
            f"topic {source}: the transform read {stats.consumed:,} and wrote {stats.outputs:,} "
            f"of {expected:,} records"
        )
    return stats.consumed, seconds
