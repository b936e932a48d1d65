"""The scale-out phase: a declared pipeline run as real ``pipeline worker --workers N`` processes over the
same number of pre-produced inputs, with one worker and with more (SCALE_OUT_WORKERS).

A worker takes its pipeline from a catalog, so the benchmark writes one of its own: the catalog's file
plus, per run, the pipeline declared again under a fresh name (its own group and transactional slots)
reading a fresh input topic -- with as many partitions as the most workers, so that each of two owns one
-- and writing a fresh output topic, both declared as the pipeline's own.

Each run's inputs are produced before its workers start, inside a Kafka transaction left open: the
workers read ``read_committed``, so they see nothing until every worker has joined the group and owns
partitions, and the transaction is committed. A run is timed from that commit to its last output's
timestamp: process start-up and the group join are not counted, and the workers share the work from the
first input on. The workers are stopped (SIGTERM) once the group has committed every input. Every input
must come out exactly once (counted read_committed), none dead-lettered.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupState,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from pipeline.app.bench.report import SCALE_OUT_WORKERS
from pipeline.app.bench.topics import create_topics, delete, register, sample_records, subjects
from pipeline.app.run import load_generated
from pipeline.codegen import module_name
from pipeline.config import Settings, librdkafka_config, producer_config
from pipeline.errors import ConfigError, PipelineError
from pipeline.kafka.binding import TopicBinding, key_codec, registry_client, value_encoder
from pipeline.kafka.consumer import committed_offsets
from pipeline.registry.serde import SchemaResolver
from pipeline.schema import Catalog, PipelineSpec, TopicSpec, load_catalog

__all__ = ["ScaleOutRun", "final_reports", "scale_out_catalog"]

_JOIN_SECONDS = 120.0  # for the workers to start, join the group and own partitions
_WORKER_IDLE_SECONDS = 300  # a safety net: the benchmark stops the workers once every input is done


def scale_out_catalog(
    text: str, catalog: Catalog, spec: PipelineSpec, runs: Sequence[str], partitions: int
) -> str:
    """``text`` (``catalog``'s file) plus, per name in ``runs``, ``spec`` declared again as pipeline
    ``name`` (in group ``name``) reading a topic ``<name>-in`` of ``partitions`` partitions declared as
    ``spec``'s input, and writing a topic ``<name>-out`` declared as its output."""
    if spec.output is None:
        raise ConfigError(f"pipeline {spec.name} has no output topic: the scale-out phase times its outputs")
    source, sink = catalog.topic(spec.input), catalog.topic(spec.output)
    tables = []
    for name in runs:
        tables.append(_topic_table(f"{name}-in", source, partitions))
        tables.append(_topic_table(f"{name}-out", sink, sink.partitions))
        tables.append(
            _table(
                ("pipelines", name),
                input=f"{name}-in",
                output=f"{name}-out",
                handler=spec.handler,
                group=name,
                exactly_once=spec.exactly_once,
                batch=spec.batch,
            )
        )
    return (
        text.rstrip("\n") + "\n\n# Added by `pipeline bench` for its scale-out phase.\n" + "\n".join(tables)
    )


def _topic_table(name: str, topic: TopicSpec, partitions: int) -> str:
    values = [value.full_name for value in topic.values]
    return _table(
        ("topics", name),
        value=values if len(values) > 1 else values[0],
        key=topic.key_type,
        subject_name_strategy=topic.strategy.value,
        partitions=partitions,
    )


def _table(path: tuple[str, str], **entries: Any) -> str:
    # JSON's strings, arrays of strings, integers and (lower-case) booleans are TOML's too.
    lines = [f"[{path[0]}.{json.dumps(path[1])}]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in entries.items()]
    return "\n".join(lines) + "\n"


def final_reports(stderr: str, pipeline: str) -> dict[int, dict[str, Any]]:
    """The last JSON report line of each worker instance of ``pipeline`` in ``stderr`` (what each printed
    as it stopped), by instance."""
    found: dict[int, dict[str, Any]] = {}
    for line in stderr.splitlines():
        if not line.startswith("{"):
            continue
        try:
            report = json.loads(line)
        except ValueError:
            continue
        if isinstance(report, dict) and report.get("pipeline") == pipeline:
            found[int(report["instance"])] = report
    return found


class ScaleOutRun:
    """The phase's catalog and records (``with``: made on entering, removed on leaving), and
    ``measure(rep, workers)``: one run on topics of its own, its (messages, seconds)."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        spec: PipelineSpec,
        *,
        count: int,
        repeat: int,
        seed: int,
        prefix: str,
        progress: Callable[[str], None] = lambda _msg: None,
    ) -> None:
        self.settings, self.catalog, self.spec, self.count, self.seed = settings, catalog, spec, count, seed
        self.progress = progress
        self.partitions = max(SCALE_OUT_WORKERS)
        self.prefix = f"{prefix}-scale-out"
        self.runs = {
            (rep, n): f"{self.prefix}-r{rep}-w{n}" for rep in range(1, repeat + 1) for n in SCALE_OUT_WORKERS
        }
        self.folder = Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
        self.schemas = self.folder / "schemas"
        self.registry = registry_client(settings)
        self.admin = AdminClient(librdkafka_config(settings.kafka))
        self.bindings: dict[str, TopicBinding] = {}
        self.topic_partitions: dict[str, int] = {}
        self.records: list[Any] = []
        self.keys: list[Any] = []

    def __enter__(self) -> ScaleOutRun:
        try:
            catalog_file = self.schemas / "catalog.toml"
            shutil.copytree(self.catalog.root, self.schemas)
            text = catalog_file.read_text()
            catalog_file.write_text(
                scale_out_catalog(text, self.catalog, self.spec, list(self.runs.values()), self.partitions)
            )
            ours = load_catalog(self.schemas)
            package = load_generated(ours, self.folder / "generated", self.prefix)
            self.bindings = {t.name: getattr(package, module_name(t.name)).BINDING for t in ours.topics}
            self.topic_partitions = {t.name: t.partitions for t in ours.topics}
            self.progress(f"scale-out {self.spec.name}: generating {self.count:,} inputs")
            first = self.bindings[f"{next(iter(self.runs.values()))}-in"]
            self.records, self.keys = sample_records(
                first, self.spec.input, self.count, self.seed, self.prefix
            )
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def measure(self, rep: int, workers: int) -> tuple[int, float]:
        """Run ``pipeline worker`` with ``workers`` processes over every input; the outputs counted and the
        seconds from releasing the inputs to the last output."""
        name = self.runs[(rep, workers)]
        source, sink = self.bindings[f"{name}-in"], self.bindings[f"{name}-out"]
        for topic in (source.topic, sink.topic):
            create_topics(self.admin, [topic], self.topic_partitions[topic])
        try:
            register(self.registry, source)
            register(self.registry, sink)
            inputs, ends = self._hold_inputs(source, f"{name}-inputs")
            log = self.folder / f"{name}.stderr"
            argv = [sys.executable, "-m", "pipeline.cli", "worker", name, "--workers", str(workers)]
            argv += ["--idle-timeout", str(_WORKER_IDLE_SECONDS), "--schemas", str(self.schemas)]
            # Each worker generates the catalog's modules into a temporary folder it leaves behind: ours.
            scratch = self.folder / name
            scratch.mkdir()
            env = {**os.environ, "TMPDIR": str(scratch)}
            with log.open("w") as stderr:
                worker = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
                try:
                    self._await_group(name, source.topic, workers, worker)
                    released = time.time()
                    inputs.commit_transaction(60)
                    self._await_committed(name, source.topic, ends, worker)
                finally:
                    code = _stop(worker)
            self._check(name, workers, code, log.read_text())
            count, last = _outputs(self.settings, sink.topic, self.count)
            if count != self.count:
                raise PipelineError(f"pipeline {name}: {count:,} outputs read back for {self.count:,} inputs")
            return count, last / 1000 - released
        finally:
            mine = [
                schema.subject
                for binding in (source, sink)
                for schema in reversed(subjects(binding))
                if schema.subject.startswith(self.prefix)  # not the catalog's shared types
            ]
            delete(self.admin, self.registry, [source.topic, sink.topic], mine)

    def _hold_inputs(self, source: TopicBinding, transactional_id: str) -> tuple[Producer, dict[int, int]]:
        """Every record produced to ``source`` inside a transaction left open (flushed, not committed);
        the producer and the end offset of each partition."""
        resolver = SchemaResolver(self.registry)
        encode, keys = value_encoder(source, resolver).encode, key_codec(source, resolver).encode
        conf = producer_config(self.settings.kafka, self.settings.producer)
        producer = Producer({**conf, "transactional.id": transactional_id, "transaction.timeout.ms": 600_000})
        ends: dict[int, int] = {}
        failed: list[KafkaError] = []

        def delivered(err: KafkaError | None, msg: Any) -> None:
            if err is not None:
                failed.append(err)
            else:
                ends[msg.partition()] = max(ends.get(msg.partition(), 0), msg.offset() + 1)

        producer.init_transactions(60)
        producer.begin_transaction()
        for record, key in zip(self.records, self.keys, strict=True):
            while True:
                try:
                    producer.produce(source.topic, encode(record), keys(key), on_delivery=delivered)
                    break
                except BufferError:
                    producer.poll(0.05)
        if producer.flush(120) or failed:
            raise PipelineError(
                f"topic {source.topic}: the scale-out's inputs were not all written: {failed[:1]}"
            )
        return producer, ends

    def _await_group(self, group: str, topic: str, workers: int, worker: subprocess.Popen[bytes]) -> None:
        """Until ``group`` is stable with ``workers`` members, each owning partitions of ``topic``."""
        deadline = time.monotonic() + _JOIN_SECONDS
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                raise PipelineError(
                    f"`pipeline worker {group}` exited with {worker.returncode} before joining"
                )
            try:
                found = self.admin.describe_consumer_groups([group], request_timeout=10)[group].result()
            except KafkaException:
                found = None  # not known to the coordinator yet
            if found is not None and found.state == ConsumerGroupState.STABLE:
                owners = [
                    m for m in found.members if any(tp.topic == topic for tp in m.assignment.topic_partitions)
                ]
                if len(found.members) == len(owners) == workers:
                    return
            time.sleep(0.1)
        raise PipelineError(
            f"group {group}: {workers} workers did not all own partitions within {_JOIN_SECONDS:.0f} s"
        )

    def _await_committed(
        self, group: str, topic: str, ends: dict[int, int], worker: subprocess.Popen[bytes]
    ) -> None:
        """Until ``group`` has committed every input of ``topic`` (or its workers stopped by themselves)."""
        reader = Consumer(
            {**librdkafka_config(self.settings.kafka), "group.id": group, "enable.auto.commit": False}
        )
        partitions = [TopicPartition(topic, p) for p in ends]
        limit = 120 + self.count / 500
        deadline = time.monotonic() + limit
        try:
            while worker.poll() is None:
                committed = committed_offsets(reader, partitions, 10)
                if all(tp.offset >= ends[tp.partition] for tp in committed):
                    return
                if time.monotonic() > deadline:
                    raise PipelineError(f"group {group}: not every input was done within {limit:.0f} s")
                time.sleep(0.2)
        finally:
            reader.close()

    def _check(self, name: str, workers: int, code: int, stderr: str) -> None:
        if code not in (0, 128 + signal.SIGTERM):
            tail = stderr.strip().splitlines()[-1:] or ["(nothing on stderr)"]
            raise PipelineError(f"`pipeline worker {name} --workers {workers}` exited with {code}: {tail[0]}")
        reports = final_reports(stderr, name)
        dead = sum(int(report.get("dlq") or 0) for report in reports.values())
        if dead:
            raise PipelineError(f"pipeline {name}: {dead} inputs or outputs dead-lettered")
        inputs = ", ".join(f"{reports[i]['inputs']:,}" for i in sorted(reports))
        self.progress(f"  inputs per worker: {inputs}")


def _stop(worker: subprocess.Popen[bytes]) -> int:
    """Stop ``pipeline worker`` as a user would (SIGTERM: the supervisor passes it on to its workers,
    which finish their batch and commit); its exit code."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    try:
        return worker.wait(120)
    except subprocess.TimeoutExpired:
        worker.kill()
        raise PipelineError("`pipeline worker` did not stop within 120 s of SIGTERM") from None


def _outputs(settings: Settings, topic: str, expected: int) -> tuple[int, int]:
    """How many committed messages ``topic`` holds, and the last timestamp (ms) among them."""
    consumer = Consumer(
        {
            **librdkafka_config(settings.kafka),
            "group.id": f"{topic}-reader",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    count, last = 0, 0
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        quiet_since = time.monotonic()
        while True:
            # Past the expected count, a short wait for any extra message (a duplicate would be one).
            messages = [
                m for m in consumer.consume(1000, 0.5 if count >= expected else 1.0) if m.error() is None
            ]
            if not messages:
                if count >= expected or time.monotonic() - quiet_since > 30:
                    break
                continue
            quiet_since = time.monotonic()
            count += len(messages)
            last = max(last, *(m.timestamp()[1] for m in messages))
    finally:
        consumer.close()
    return count, last
