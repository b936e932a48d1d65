"""``pipeline run`` (``make run-pipeline``): the main job, end to end on the real stack, for every topic
of the catalog.

Stack up (unless a cluster is named) -> bootstrap (schemas and topics) -> the typed modules are
generated from the catalog (as ``pipeline generate`` writes them) -> per topic, a seeded schema-driven
generator (:mod:`pipeline.app.samples`) produces realistic records through the topic's generated producer,
and a consumer group reads them back through its generated consumer -> a live progress display -> a
summary per topic and in total (and ``--summary-json``).

A small share of each topic's records is deliberately invalid (``--poison-rate``) so every topic's
dead-letter path is exercised; 0 turns that off. Every record carries a ``pipeline.app.run`` header, so the
job counts its own records apart from an earlier run's backlog or another writer's messages. The job
holds when, for every topic, ``produced == consumed + dlq`` (this run's records) and the group's lag is 0.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from pipeline.app.handlers import load_handler
from pipeline.app.metrics import PipelineMetrics
from pipeline.app.samples import SampleGenerator
from pipeline.codegen import generate, module_name, write
from pipeline.config import Settings, librdkafka_config
from pipeline.errors import ConfigError
from pipeline.kafka.consumer import committed_offsets
from pipeline.kafka.topics import ensure_topics
from pipeline.kafka.transform import TransformLoop
from pipeline.kafka.typed import Received
from pipeline.registry.client import RegistryClient
from pipeline.registry.register import register_schemas
from pipeline.schema import Catalog, PipelineSpec, load_catalog
from pipeline.stack.cluster import ensure_cluster

__all__ = [
    "RUN_HEADER",
    "Progress",
    "RunSummary",
    "TopicSummary",
    "TransformSummary",
    "group_lag",
    "load_generated",
    "run_pipeline",
    "stop_when_read",
]

log = logging.getLogger(__name__)

RUN_HEADER = "pipeline.app.run"


@dataclass
class TopicSummary:
    """One topic's figures for this run; ``backlog_*`` count messages that are not this run's."""

    produced: int = 0
    consumed: int = 0
    dlq: int = 0
    dlq_producer_side: int = 0
    dlq_consumer_side: int = 0
    lag: int = 0
    backlog_processed: int = 0
    backlog_dlq: int = 0
    never_owned: list[int] = field(default_factory=list)  # partitions another group member held

    @property
    def balanced(self) -> bool:
        """Everything accounted for, and no record the producer accepted was dead-lettered on reading."""
        return self.produced == self.consumed + self.dlq and self.lag == 0 and self.dlq_consumer_side == 0


@dataclass
class TransformSummary:
    """One declared pipeline's stage in this run: what it read and wrote while the job ran, and its
    group's lag on the input at the end."""

    input: str
    output: str | None
    exactly_once: bool
    inputs: int = 0
    outputs: int = 0
    dlq: int = 0
    aborted: int = 0
    lag: int = 0

    @property
    def balanced(self) -> bool:
        return self.lag == 0


@dataclass
class RunSummary:
    run_id: str
    produced: int
    consumed: int
    dlq: int
    lag: int
    seconds: float
    produce_msgs_per_s: float
    consume_msgs_per_s: float
    topics: dict[str, TopicSummary]
    revenue: str = "0"
    by_status: dict[str, int] = field(default_factory=dict)
    top_customers: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why a topic does not balance, when known
    transforms: dict[str, TransformSummary] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return all(t.balanced for t in self.topics.values()) and all(
            t.balanced for t in self.transforms.values()
        )

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["balanced"] = self.balanced
        for name, topic in self.topics.items():
            data["topics"][name]["balanced"] = topic.balanced
        for name, transform in self.transforms.items():
            data["transforms"][name]["balanced"] = transform.balanced
        return data


@dataclass
class _OrderTotals:
    """The orders consumer's real work: running totals per customer and per status."""

    revenue: Decimal = Decimal(0)
    by_status: Counter[str] = field(default_factory=Counter)
    by_customer: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def add(self, order: Any) -> None:
        amount = Decimal(str(order.amount))
        self.revenue += amount
        self.by_status[order.status.value] += 1
        self.by_customer[order.customer_id] += amount


class _TopicJob:
    """Producing and consuming one topic, with its counts."""

    def __init__(self, name: str, module: ModuleType, run_id: str, seed: int) -> None:
        self.name = name
        self.module = module
        self.binding = module.BINDING
        self.summary = TopicSummary()
        self.run_header = (RUN_HEADER, run_id.encode())
        self.run_id = run_id.encode()
        self.generator = SampleGenerator(self.binding.value_schema(), self.binding.classes, seed, run_id)
        key = self.binding.key.parsed() if self.binding.key is not None else None
        self.keys = SampleGenerator(key, self.binding.classes, seed + 1, run_id) if key is not None else None
        self.orders = _OrderTotals() if name == "orders" else None
        self.produced_done = threading.Event()
        self.consumer: Any = None
        self.producer: Any = None
        self.produce_seconds = 0.0

    def is_ours(self, headers: list[tuple[str, bytes | None]] | None) -> bool:
        return any(name == RUN_HEADER and value == self.run_id for name, value in headers or ())

    def handle(self, batch: list[Received[Any]]) -> None:
        for received in batch:
            if self.is_ours(received.headers):  # type: ignore[arg-type]
                self.summary.consumed += 1
                if self.orders is not None and received.value is not None:
                    self.orders.add(received.value)
            else:
                self.summary.backlog_processed += 1

    def dead_lettered(self, msg: Message, _stage: str, _error: BaseException) -> None:
        if self.is_ours(msg.headers()):  # type: ignore[arg-type]
            self.summary.dlq_consumer_side += 1
        else:
            self.summary.backlog_dlq += 1

    @property
    def accounted(self) -> bool:
        s = self.summary
        return (
            self.produced_done.is_set()
            and s.consumed + s.dlq_consumer_side + s.dlq_producer_side >= s.produced
        )


def load_generated(catalog: Catalog, workdir: Path, run_id: str) -> ModuleType:
    """The catalog's typed modules, generated now (as ``pipeline generate`` writes them) and imported
    as a package of their own: the job always runs exactly the catalog it was given."""
    package = f"pipeline_run_{run_id.replace('-', '_')}"
    write(generate(catalog), workdir / package)
    sys.path.insert(0, str(workdir))
    try:
        return importlib.import_module(package)
    finally:
        sys.path.remove(str(workdir))


def group_lag(settings: Settings, group: str, topic: str) -> int:
    """Messages in ``topic`` past ``group``'s committed offsets (all of them if it has none)."""
    consumer = Consumer({**librdkafka_config(settings.kafka), "group.id": group})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        tps = [TopicPartition(topic, p) for p in partitions]
        lag = 0
        for tp in committed_offsets(consumer, tps, 10):
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            lag += high - (tp.offset if tp.offset >= 0 else low)
        return lag
    finally:
        consumer.close()


def _partitions(settings: Settings, topic: str) -> list[int]:
    consumer = Consumer({**librdkafka_config(settings.kafka), "group.id": "pipeline-run-metadata"})
    try:
        return sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    finally:
        consumer.close()


def _notes(group: str, topics: dict[str, TopicSummary]) -> list[str]:
    notes = []
    for name, s in topics.items():
        missing = s.produced - s.consumed - s.dlq
        if s.balanced or missing <= 0:
            continue
        if s.never_owned:
            notes.append(
                f"{name}: {missing:,} of this run's records were not read here: another member of group "
                f"{group!r} held partitions {s.never_owned} throughout (another `pipeline run` in the same "
                "group?) and read them; give each concurrent run a --group of its own"
            )
        else:
            notes.append(
                f"{name}: {missing:,} of this run's records were not read before the consumer gave up "
                f"waiting (lag {s.lag:,}); the cluster may be slow or a member of group {group!r} stuck"
            )
    return notes


def _bootstrap(settings: Settings, catalog: Catalog, say: Any) -> None:
    with RegistryClient(settings.registry) as registry:
        report = register_schemas(catalog, registry)
    if not report.ok:
        report.raise_for_incompatible()
    topics = ensure_topics(catalog, AdminClient(librdkafka_config(settings.kafka)))
    if not topics.ok:
        raise ConfigError("topics do not match the catalog; run `pipeline bootstrap` for details")
    say(f"bootstrap: {len(catalog.subjects)} subjects registered or unchanged, {len(catalog.topics)} topics")


@dataclass(frozen=True)
class Progress:
    """A moment of the run, for a display: each topic's figures so far and its produce rate."""

    run_id: str
    elapsed: float
    topics: dict[str, TopicSummary]
    produce_rates: dict[str, float]


def _snapshot(run_id: str, jobs: list[_TopicJob], started: float) -> Progress:
    elapsed = max(time.monotonic() - started, 1e-9)
    return Progress(
        run_id,
        elapsed,
        {job.name: dataclasses.replace(job.summary) for job in jobs},
        {job.name: job.summary.produced / max(job.produce_seconds or elapsed, 1e-9) for job in jobs},
    )


def run_pipeline(
    count: int,
    *,
    rate: float = 0.0,
    seed: int = 42,
    poison_rate: float = 0.001,
    group: str = "pipeline-run",
    schemas: Path = Path("schemas"),
    metrics_port: int | None = None,
    say: Callable[[str], None] = lambda _msg: None,
    on_progress: Callable[[Progress], None] = lambda _progress: None,
    stop: threading.Event | None = None,
) -> RunSummary:
    """Run the whole job: ``count`` records per topic at ``rate`` records/s per topic (0: as fast as
    possible). ``say`` hears what the job does, ``on_progress`` is called about four times a second;
    ``stop`` ends it early (producers stop, consumers drain what was sent)."""
    stop = stop or threading.Event()
    catalog = load_catalog(schemas)
    settings = ensure_cluster(progress=lambda msg: say(f"  {msg}"))
    _bootstrap(settings, catalog, say)
    metrics = PipelineMetrics.create()
    if metrics_port:
        metrics.serve(metrics_port)
        say(f"  metrics on http://127.0.0.1:{metrics_port}/metrics")

    run_id = f"run-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="pipeline-run-") as workdir:
        package = load_generated(catalog, Path(workdir), run_id)
        transformed = {p.output for p in catalog.pipelines if p.output}  # written by the transform stage
        jobs = [
            _TopicJob(topic.name, getattr(package, module_name(topic.name)), run_id, seed + index * 1000)
            for index, topic in enumerate(catalog.topics)
            if topic.name not in transformed
        ]
        stages = [_TransformStage(settings, catalog, spec, package, run_id) for spec in catalog.pipelines]
        started = time.monotonic()
        errors: list[BaseException] = []
        threads = []
        for job in jobs:
            job.producer = getattr(job.module, f"open_{module_name(job.name)}_producer")(
                settings, app="pipeline run"
            )
            job.consumer = getattr(job.module, f"open_{module_name(job.name)}_consumer")(settings, group)
            threads.append(
                threading.Thread(
                    target=_produce, args=(job, count, rate, poison_rate, stop, metrics, errors), daemon=True
                )
            )
            threads.append(threading.Thread(target=_consume, args=(job, stop, metrics, errors), daemon=True))
        for stage in stages:
            say(f"  transform {stage.spec.name}: {stage.spec.input} -> {stage.spec.output or '(none)'}")
            threads.append(
                threading.Thread(
                    target=stage.run, args=([job.produced_done for job in jobs], errors), daemon=True
                )
            )
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            time.sleep(0.25)
            on_progress(_snapshot(run_id, jobs, started))
            if errors or stop.is_set():
                stop.set()
                for stage in stages:
                    stage.loop.stop()
        for job in jobs:
            job.summary.lag = group_lag(settings, group, job.name)
            if job.consumer.loop is not None:
                owned = {p for topic, p in job.consumer.loop.ever_owned if topic == job.name}
                job.summary.never_owned = sorted(set(_partitions(settings, job.name)) - owned)
        on_progress(_snapshot(run_id, jobs, started))
    if errors:
        raise errors[0]
    summary = _summary(run_id, jobs, started, group)
    summary.transforms = {stage.spec.name: stage.summary(settings) for stage in stages}
    return summary


class _Stoppable(Protocol):
    @property
    def stopping(self) -> bool: ...
    def stop(self) -> None: ...


def stop_when_read(
    loop: _Stoppable, lag: Callable[[], int], producers_done: list[threading.Event], pause: float = 0.5
) -> None:
    """Stop ``loop`` once every producer is done and ``lag()`` is 0. A lag that cannot be asked (the
    broker busy, the group rebalancing after a member died) is asked again: were this watcher to die,
    the loop would never stop and the run would hang."""
    for done in producers_done:
        done.wait()
    while not loop.stopping:
        try:
            caught_up = lag() == 0
        except KafkaException as exc:
            log.info("the transform's lag could not be read (%s); asking again", exc)
            caught_up = False
        if caught_up:
            loop.stop()
            return
        time.sleep(pause)


class _TransformStage:
    """A declared pipeline, run beside the producers until they are done and its group has read its
    input to the end."""

    def __init__(
        self, settings: Settings, catalog: Catalog, spec: PipelineSpec, package: ModuleType, run_id: str
    ) -> None:
        self.spec = spec
        source = getattr(package, module_name(spec.input)).BINDING
        sink = getattr(package, module_name(spec.output)).BINDING if spec.output else None
        outputs = tuple(v.full_name for v in catalog.topic(spec.output).values) if spec.output else ()
        handler = load_handler(spec, outputs)
        self.loop = TransformLoop(
            settings, spec.name, source, sink, handler, group=spec.group, exactly_once=spec.exactly_once,
            batch=spec.batch, instance=run_id,  # a slot of its own: two runs at once do not fence each other
        )  # fmt: skip
        self.settings = settings

    def run(self, producers_done: list[threading.Event], errors: list[BaseException]) -> None:
        def lag() -> int:
            return group_lag(self.settings, self.spec.group, self.spec.input)

        threading.Thread(target=stop_when_read, args=(self.loop, lag, producers_done), daemon=True).start()
        try:
            self.loop.run()
        except BaseException as exc:
            errors.append(exc)

    def summary(self, settings: Settings) -> TransformSummary:
        stats = self.loop.stats
        return TransformSummary(
            input=self.spec.input,
            output=self.spec.output,
            exactly_once=self.spec.exactly_once,
            inputs=stats.consumed,
            outputs=stats.outputs,
            dlq=stats.dead_lettered_inputs + stats.dead_lettered_outputs,
            aborted=stats.aborted,
            lag=group_lag(settings, self.spec.group, self.spec.input),
        )


def _produce(
    job: _TopicJob,
    count: int,
    rate: float,
    poison_rate: float,
    stop: threading.Event,
    metrics: PipelineMetrics,
    errors: list[BaseException],
) -> None:
    producer, summary = job.producer, job.summary
    try:
        begin = time.monotonic()
        for i in range(count):
            if stop.is_set():
                break
            record = job.generator.record(i)
            if poison_rate and job.generator.rng.random() < poison_rate:
                record = job.generator.poison(record)
            key = job.keys.record(i) if job.keys is not None else f"{job.name}-{i:07d}"
            result = producer.send(record, key=key, headers=[job.run_header])
            summary.produced += 1
            if not result.accepted:
                summary.dlq_producer_side += 1
            if rate > 0 and (ahead := (i + 1) / rate - (time.monotonic() - begin)) > 0:
                stop.wait(ahead)
        producer.flush()
        job.produce_seconds = time.monotonic() - begin
        metrics.produced.labels(job.name).inc(producer.sent)
        metrics.errors.labels(job.name, "serialize").inc(producer.rejected)
        metrics.dead_lettered.labels(job.name).inc(producer.rejected)
    except BaseException as exc:  # surfaced by the main thread
        errors.append(exc)
    finally:
        job.produced_done.set()


def _consume(
    job: _TopicJob, stop: threading.Event, metrics: PipelineMetrics, errors: list[BaseException]
) -> None:
    last = {"processed": 0, "dead": 0, "lag_at": 0.0}

    def on_batch(stats: Any) -> None:
        metrics.consumed.labels(job.name).inc(stats.processed - last["processed"])
        metrics.dead_lettered.labels(job.name).inc(stats.dead_lettered - last["dead"])
        metrics.batch_latency.labels(job.name).observe(stats.last_batch_seconds)
        last.update(processed=stats.processed, dead=stats.dead_lettered)
        now = time.monotonic()
        if now - last["lag_at"] >= 1.0:  # lag asks the broker: once a second, not per batch
            job.summary.lag = job.consumer.loop.lag()
            metrics.lag.labels(job.name).set(job.summary.lag)
            last["lag_at"] = now

    def watch() -> None:  # stop an idle consumer once everything is accounted for, or on request
        while job.consumer.loop is None or not job.consumer.loop.stopping:
            if job.accounted:
                job.consumer.stop()
                return
            time.sleep(0.1)

    try:
        threading.Thread(target=watch, daemon=True).start()
        job.consumer.run(
            job.handle,
            idle_timeout=30,
            on_batch=on_batch,
            on_dead_letter=job.dead_lettered,
            handle_signals=False,
        )
    except BaseException as exc:
        errors.append(exc)


def _summary(run_id: str, jobs: list[_TopicJob], started: float, group: str) -> RunSummary:
    elapsed = time.monotonic() - started
    for job in jobs:
        s = job.summary
        s.dlq = s.dlq_producer_side + s.dlq_consumer_side
    topics = {job.name: job.summary for job in jobs}
    produced = sum(s.produced for s in topics.values())
    consumed = sum(s.consumed for s in topics.values())
    produce_seconds = max((job.produce_seconds for job in jobs), default=elapsed) or elapsed
    orders = next((job.orders for job in jobs if job.orders is not None), _OrderTotals())
    top = sorted(orders.by_customer.items(), key=lambda kv: kv[1], reverse=True)[:5]
    return RunSummary(
        run_id=run_id,
        produced=produced,
        consumed=consumed,
        dlq=sum(s.dlq for s in topics.values()),
        lag=sum(s.lag for s in topics.values()),
        seconds=round(elapsed, 3),
        produce_msgs_per_s=round(produced / max(produce_seconds, 1e-9), 1),
        consume_msgs_per_s=round(consumed / max(elapsed, 1e-9), 1),
        topics=topics,
        revenue=str(orders.revenue),
        by_status=dict(sorted(orders.by_status.items())),
        top_customers=[(customer, str(amount)) for customer, amount in top],
        notes=_notes(group, topics),
    )
