"""Measuring: the same stream of records of each catalog topic's schema through three families of
clients, side by side; then a declared pipeline's workers, one against two.

- **floor**: a bare ``Producer`` of pre-encoded bytes, and a bare ``Consumer.consume(num_messages=…)``
  committing each batch -- what the transport allows from Python, with no codec at all;
- **baseline**: confluent-kafka's ``SerializingProducer`` + ``AvroSerializer`` and
  ``DeserializingConsumer`` + ``AvroDeserializer`` (the seed's way), typed through ``to_dict`` /
  ``from_dict`` with :class:`pipeline.codec.convert.Converter`, committing each batch;
- **ours**: the generated pipeline's ``TopicProducer.send`` and ``TopicConsumer.run``.

Records come from :class:`pipeline.app.samples.SampleGenerator` and are keyed as ``pipeline run`` keys
them. Every family writes to and reads from its own fresh topic (deleted afterwards, with its subjects:
see :mod:`pipeline.app.bench.topics`), with the same producer settings (``producer_config``) and consumer
settings (``consumer_config``, a fresh group per phase). Floor and baseline let librdkafka store offsets as
messages are handed over and commit them per batch -- the cheapest correct way; ours commits exactly what
its handler processed. The codec is also timed alone (no Kafka) for ours and the baseline. The scale-out
phase is :mod:`pipeline.app.bench.scale_out`. Nothing here asserts a time.
"""

from __future__ import annotations

import gc
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, DeserializingConsumer, KafkaError, Producer, SerializingProducer
from confluent_kafka import libversion as librdkafka_version
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext

from pipeline.app.bench.report import (
    FAMILIES,
    SCALE_OUT,
    SCALE_OUT_WORKERS,
    BenchReport,
    Machine,
    Sample,
    summarise,
    workers_family,
)
from pipeline.app.bench.scale_out import ScaleOutRun
from pipeline.app.bench.topics import (
    baseline,
    create_topics,
    delete,
    rebind,
    register,
    sample_records,
    subjects,
)
from pipeline.app.run import load_generated
from pipeline.codec import backend
from pipeline.codegen import module_name
from pipeline.config import (
    Settings,
    consumer_config,
    librdkafka_config,
    producer_config,
    registry_client_config,
)
from pipeline.errors import PipelineError
from pipeline.kafka.binding import (
    TopicBinding,
    key_codec,
    open_consumer,
    open_producer,
    registry_client,
    value_decoder,
    value_encoder,
)
from pipeline.kafka.consumer import ConsumerStats
from pipeline.kafka.producer import ReliableProducer
from pipeline.kafka.transform import TransformLoop
from pipeline.kafka.typed import Received, TopicConsumer, TopicProducer
from pipeline.registry.client import RegistryClient
from pipeline.registry.serde import SchemaResolver
from pipeline.schema import Catalog, PipelineSpec

__all__ = ["SCALE_OUT_PIPELINE", "BenchConfig", "machine", "run_bench"]

_IDLE_TIMEOUT = 60.0  # seconds without a message before a consume phase gives up

SCALE_OUT_PIPELINE = "orders-to-activity"


@dataclass(frozen=True)
class BenchConfig:
    count: int = 500_000
    repeat: int = 3
    batch_size: int = 500
    partitions: int = 3  # as the catalog's topics
    seed: int = 42
    schemas: tuple[str, ...] = ()  # catalog topics whose schemas run; empty: every topic
    scale_out: str | None = SCALE_OUT_PIPELINE  # the declared pipeline of the scale-out phase; None: none
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
    """One schema's records and keys, the same in every repetition; what they encode to on that
    repetition's topics; and the clients every phase shares."""

    settings: Settings
    config: BenchConfig
    client: SchemaRegistryClient  # confluent-kafka's, for the baseline's serdes
    registry: RegistryClient  # ours
    name: str  # the catalog topic whose schema this is
    binding: TopicBinding  # its generated binding, on the catalog topic
    records: list[Any]
    keys: list[Any]
    scratch: str  # a topic of this run's for warming producers up
    key_bytes: list[bytes | None] = field(default_factory=list)
    payloads: list[bytes] = field(default_factory=list)
    baseline_problem: str | None = None

    def on(self, topic: str) -> TopicBinding:
        return rebind(self.binding, topic)


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
    settings: Settings,
    catalog: Catalog,
    config: BenchConfig,
    progress: Callable[[str], None] = lambda _msg: None,
) -> BenchReport:
    """Run every phase ``config.repeat`` times for each schema, then the scale-out, and summarise.
    Raises PipelineError when a phase does not see all its messages, dead-letters any, or ours and the
    baseline disagree on a record (nothing is timed against a threshold)."""
    memory = _Memory()
    registry = registry_client(settings)
    client = SchemaRegistryClient(registry_client_config(settings.registry))
    admin = AdminClient(librdkafka_config(settings.kafka))
    run_id = uuid.uuid4().hex[:8]
    names = config.schemas or tuple(topic.name for topic in catalog.topics)
    samples: list[Sample] = []
    problems: dict[str, str] = {}
    run_growth = 0
    scratch = f"bench-{run_id}-scratch"
    create_topics(admin, [scratch], 1)
    try:
        with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as workdir:
            package = load_generated(catalog, Path(workdir), f"bench-{run_id}")
            for name in names:
                binding: TopicBinding = getattr(package, module_name(name)).BINDING
                progress(f"{name}: generating {config.count:,} records (seed {config.seed})")
                records, keys = sample_records(binding, name, config.count, config.seed, f"bench-{run_id}")
                fx = _Fixture(settings, config, client, registry, name, binding, records, keys, scratch)
                growth = _bench_schema(fx, admin, f"bench-{run_id}-{name}", memory, samples, progress)
                run_growth = max(run_growth, growth)
                if fx.baseline_problem is not None:
                    problems[name] = fx.baseline_problem
                del fx, records, keys  # before the next schema's records are made, not after
    finally:
        delete(admin, registry, [scratch], [])
    partitions = 0
    if config.scale_out is not None:
        spec = catalog.pipeline(config.scale_out)
        partitions = _scale_out(settings, catalog, spec, config, f"bench-{run_id}", samples, progress)
    return summarise(
        samples,
        count=config.count,
        repeat=config.repeat,
        batch_size=config.batch_size,
        machine=machine(settings),
        codec=backend(),
        run_rss_growth_bytes=run_growth,
        baseline_problems=problems,
        scale_out_partitions=partitions,
    )


def _bench_schema(
    fx: _Fixture,
    admin: AdminClient,
    prefix: str,
    memory: _Memory,
    samples: list[Sample],
    progress: Callable[[str], None],
) -> int:
    """Every phase of one schema, each repetition on fresh topics; returns the RSS growth past the
    fixture over the whole schema's run."""
    config = fx.config
    gc.freeze()  # the fixture is long-lived: keep full collections from walking it
    start = peak = 0
    try:
        for rep in range(1, config.repeat + 1 + (1 if config.profile_dir else 0)):
            profiling = rep > config.repeat
            topics = {family: f"{prefix}-r{rep}-{family.replace('_', '-')}" for family in FAMILIES}
            bindings = [fx.on(topic) for topic in topics.values()]
            create_topics(admin, list(topics.values()), config.partitions)
            try:
                for binding in bindings:
                    register(fx.registry, binding)
                _encode_all(fx, topics["ours"])
                if rep == 1:
                    fx.baseline_problem = _check_interop(fx, topics["ours"])
                    if fx.baseline_problem is not None:
                        progress(f"{fx.name}: no baseline: {fx.baseline_problem}")
                    start = memory.current()
                for phase, family, measure in _phases(fx, topics):
                    if profiling:
                        if family == "ours" and config.profile_dir is not None:
                            written = _profile(config.profile_dir, f"{fx.name}_{phase}_ours", measure)
                            progress(f"profiled {fx.name} {phase} ours: {written}")
                        continue
                    progress(f"{fx.name}, repetition {rep}/{config.repeat}: {phase} {family}")
                    with memory.phase() as rss:
                        messages, seconds = measure()
                    samples.append(Sample(fx.name, phase, family, messages, seconds, max(0, rss[1] - rss[0])))
                    peak = max(peak, rss[1])
                    progress(f"  {messages / seconds:,.0f} msgs/s, RSS +{(rss[1] - rss[0]) / 2**20:.1f} MB")
            finally:
                delete(
                    admin,
                    fx.registry,
                    list(topics.values()),
                    [schema.subject for binding in bindings for schema in reversed(subjects(binding))],
                )
    finally:
        gc.unfreeze()
    return max(0, peak - start)


def _scale_out(
    settings: Settings,
    catalog: Catalog,
    spec: PipelineSpec,
    config: BenchConfig,
    prefix: str,
    samples: list[Sample],
    progress: Callable[[str], None],
) -> int:
    """The scale-out phase of ``spec``, once per repetition for each number of workers; returns the
    partitions of its input topics."""
    scale_out = ScaleOutRun(
        settings,
        catalog,
        spec,
        count=config.count,
        repeat=config.repeat,
        seed=config.seed,
        prefix=prefix,
        progress=progress,
    )
    with scale_out as run:
        for rep in range(1, config.repeat + 1):
            for workers in SCALE_OUT_WORKERS:
                plural = "s" if workers > 1 else ""
                progress(f"repetition {rep}/{config.repeat}: scale-out {spec.name}, {workers} worker{plural}")
                messages, seconds = run.measure(rep, workers)
                samples.append(Sample(spec.name, SCALE_OUT, workers_family(workers), messages, seconds))
                progress(f"  {messages / seconds if seconds else 0:,.0f} msgs/s")
    return run.partitions


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


# -- setup ---------------------------------------------------------------------------------------


def _encode_all(fx: _Fixture, topic: str) -> None:
    """Encode every key and record for ``topic``'s subjects (their ids change with each repetition's)."""
    binding, resolver = fx.on(topic), SchemaResolver(fx.registry)
    encode, keys = value_encoder(binding, resolver).encode, key_codec(binding, resolver).encode
    fx.key_bytes = [keys(key) for key in fx.keys]
    fx.payloads = [encode(record) for record in fx.records]


def _check_interop(fx: _Fixture, topic: str) -> str | None:
    """Before timing anything: ours and the baseline write the same bytes and read each other's
    (PipelineError if not). Returns why the baseline cannot take this schema at all, if it cannot."""
    binding, resolver = fx.on(topic), SchemaResolver(fx.registry)
    decode, keys = value_decoder(binding, resolver).decode, key_codec(binding, resolver)
    value_ctx, key_ctx = _contexts(topic)
    first = list(zip(fx.records[:100], fx.keys[:100], fx.key_bytes[:100], fx.payloads[:100], strict=True))
    try:
        theirs = baseline(fx.client, fx.registry, binding)
        written = [(theirs.key(key, key_ctx), theirs.value(record, value_ctx)) for record, key, *_ in first]
        read = [(theirs.key_reader(k, key_ctx), theirs.value_reader(p, value_ctx)) for *_, k, p in first]
    except Exception as exc:  # whatever confluent-kafka or fastavro raise: the report says it
        return f"{type(exc).__name__}: {exc}"
    for (record, key, key_bytes, payload), their_bytes, their_reading in zip(
        first, written, read, strict=True
    ):
        if their_bytes != (key_bytes, payload):
            raise PipelineError(f"topic {topic}: our bytes differ from AvroSerializer's for {record}")
        if their_reading != (key, record) or (keys.decode(key_bytes), decode(payload)) != (key, record):
            raise PipelineError(f"topic {topic}: a record does not read back as written: {record}")
    return None


def _phases(fx: _Fixture, topics: dict[str, str]) -> list[tuple[str, str, Callable[[], tuple[int, float]]]]:
    phases = [
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
    if fx.baseline_problem is not None:
        return [phase for phase in phases if phase[1] != "baseline"]
    return phases


def _contexts(topic: str) -> tuple[SerializationContext, SerializationContext]:
    return SerializationContext(topic, MessageField.VALUE), SerializationContext(topic, MessageField.KEY)


# -- codec alone ---------------------------------------------------------------------------------


def _encode_ours(fx: _Fixture, topic: str) -> tuple[int, float]:
    binding, resolver = fx.on(topic), SchemaResolver(fx.registry)
    encode, keys = value_encoder(binding, resolver).encode, key_codec(binding, resolver).encode
    encode(fx.records[0])  # warm: nothing left to look up once the clock runs
    begin = time.perf_counter()
    for record, key in zip(fx.records, fx.keys, strict=True):
        keys(key)
        encode(record)
    return len(fx.records), time.perf_counter() - begin


def _encode_baseline(fx: _Fixture, topic: str) -> tuple[int, float]:
    theirs = baseline(fx.client, fx.registry, fx.on(topic))
    serialize, keys = theirs.value, theirs.key
    value_ctx, key_ctx = _contexts(topic)
    serialize(fx.records[0], value_ctx)
    keys(fx.keys[0], key_ctx)
    begin = time.perf_counter()
    for record, key in zip(fx.records, fx.keys, strict=True):
        keys(key, key_ctx)
        serialize(record, value_ctx)
    return len(fx.records), time.perf_counter() - begin


def _decode_ours(fx: _Fixture, topic: str) -> tuple[int, float]:
    # What the generated consumer does: bytes to a typed record (value_decoder), and the key.
    binding, resolver = fx.on(topic), SchemaResolver(fx.registry)
    decode, keys = value_decoder(binding, resolver).decode, key_codec(binding, resolver).decode
    decode(fx.payloads[0])
    keys(fx.key_bytes[0])
    begin = time.perf_counter()
    for key, payload in zip(fx.key_bytes, fx.payloads, strict=True):
        keys(key)
        decode(payload)
    return len(fx.payloads), time.perf_counter() - begin


def _decode_baseline(fx: _Fixture, topic: str) -> tuple[int, float]:
    theirs = baseline(fx.client, fx.registry, fx.on(topic))
    deserialize, keys = theirs.value_reader, theirs.key_reader
    value_ctx, key_ctx = _contexts(topic)
    deserialize(fx.payloads[0], value_ctx)
    begin = time.perf_counter()
    for key, payload in zip(fx.key_bytes, fx.payloads, strict=True):
        keys(key, key_ctx)
        deserialize(payload, value_ctx)
    return len(fx.payloads), time.perf_counter() - begin


# -- produce -------------------------------------------------------------------------------------
# Each producer connects and fetches the topic's metadata before its clock starts (otherwise the first
# message waits about half a second for both), and holds its idempotent producer id.


def _await_producer_id(producer: Producer | ReliableProducer, scratch: str) -> None:
    """One message to the scratch topic, delivered: the producer holds its idempotent producer id. Until
    it does it holds every message back, and when its first request for one finds the cluster not ready,
    librdkafka asks again after 500 ms: a stall that hit some phases and not others."""
    if isinstance(producer, ReliableProducer):
        producer.produce(scratch, b"")
        producer.flush(30)
        return
    Producer.produce(producer, scratch, b"")  # Producer's own: a SerializingProducer would serialize
    if producer.flush(30):
        raise PipelineError(f"topic {scratch}: the warm-up message was not delivered within 30 s")


def _produce_floor(fx: _Fixture, topic: str) -> tuple[int, float]:
    producer = Producer(producer_config(fx.settings.kafka, fx.settings.producer))
    producer.list_topics(topic, timeout=10)  # connected before the clock runs, as for the others
    _await_producer_id(producer, fx.scratch)
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
    theirs = baseline(fx.client, fx.registry, fx.on(topic))
    value_ctx, key_ctx = _contexts(topic)
    theirs.value(fx.records[0], value_ctx)  # the id lookups, unclocked
    theirs.key(fx.keys[0], key_ctx)
    producer = SerializingProducer(
        {
            **producer_config(fx.settings.kafka, fx.settings.producer),
            "key.serializer": theirs.key,
            "value.serializer": theirs.value,
        }
    )
    failed: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Any) -> None:
        if err is not None:
            failed.append(err)

    producer.list_topics(topic, timeout=10)
    _await_producer_id(producer, fx.scratch)
    produce = producer.produce
    begin = time.perf_counter()
    for record, key in zip(fx.records, fx.keys, strict=True):
        while True:
            try:
                produce(topic, key=key, value=record, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
    remaining = producer.flush(120)
    seconds = time.perf_counter() - begin
    if remaining or failed:
        raise PipelineError(f"topic {topic}: {remaining} undelivered, {len(failed)} failed: {failed[:1]}")
    return len(fx.records), seconds


def _produce_ours(fx: _Fixture, topic: str) -> tuple[int, float]:
    producer: TopicProducer[Any] = open_producer(
        fx.settings, fx.on(topic), app="pipeline bench", client=fx.registry
    )
    producer.producer.connect(topic)
    _await_producer_id(producer.producer, fx.scratch)
    send = producer.send
    begin = time.perf_counter()
    for record, key in zip(fx.records, fx.keys, strict=True):
        send(record, key=key)
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


# Offsets stored by librdkafka as messages are handed over, then committed per batch. Every family shares
# the consumer settings otherwise, the prefetch (queued.min.messages, fetch.queue.backoff.ms) included.
_FLOOR_CONSUMER = {"enable.auto.offset.store": True}


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
    theirs = baseline(fx.client, fx.registry, fx.on(topic))
    consumer = DeserializingConsumer(
        {
            **consumer_config(fx.settings.kafka, group, fx.settings.consumer),
            "enable.auto.offset.store": True,
            "key.deserializer": theirs.key_reader,
            "value.deserializer": theirs.value_reader,
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
    consumer: TopicConsumer[Any] = open_consumer(
        fx.settings,
        fx.on(topic),
        group,
        batch_size=fx.config.batch_size,
        client=fx.registry,
    )
    clock, expected = _Clock(), len(fx.payloads)
    handled = 0

    def handle(batch: list[Received[Any]]) -> None:
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
    """Every record of ``source`` through the transform loop with an identity handler into ``sink``."""
    loop = TransformLoop(
        fx.settings,
        f"{sink}-t",
        fx.on(source),
        fx.on(sink),
        lambda record: record,
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
            f"of {expected:,} records ({stats.dead_lettered_inputs + stats.dead_lettered_outputs} "
            "dead-lettered)"
        )
    return stats.consumed, seconds
