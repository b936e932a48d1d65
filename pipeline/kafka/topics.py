"""Provisioning the catalog's topics and their dead-letter topics with Kafka's AdminClient.

A topic that is absent is created with the catalog's partitions (the dead-letter topic with the same
count) and replication factor. A topic that exists with another partition count is reported, never
changed: adding partitions would move keys to other partitions and break per-key ordering, and Kafka
cannot remove them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from pipeline.errors import ClusterUnavailableError, ConfigError
from pipeline.kafka.clientlog import kafka_trouble
from pipeline.schema import Catalog

__all__ = ["TopicReport", "TopicResult", "TopicStatus", "ensure_topics"]

log = logging.getLogger(__name__)


class TopicStatus(StrEnum):
    CREATED = "created"
    ABSENT = "absent"  # a dry run found it missing: it would be created
    EXISTS = "exists"
    MISMATCH = "partition mismatch"


@dataclass(frozen=True)
class TopicResult:
    """One topic: what the catalog declares, what the cluster has (None: nothing yet), and for a
    dead-letter topic the topic it serves."""

    topic: str
    partitions: int
    actual_partitions: int | None
    status: TopicStatus
    dlq_of: str | None = None


@dataclass(frozen=True)
class TopicReport:
    results: tuple[TopicResult, ...]
    dry_run: bool

    @property
    def mismatches(self) -> tuple[TopicResult, ...]:
        return tuple(r for r in self.results if r.status is TopicStatus.MISMATCH)

    @property
    def ok(self) -> bool:
        return not self.mismatches


@dataclass(frozen=True)
class _Wanted:
    topic: str
    partitions: int
    replication_factor: int
    dlq_of: str | None


def _wanted(catalog: Catalog) -> Iterator[_Wanted]:
    for topic in catalog.topics:
        yield _Wanted(topic.name, topic.partitions, topic.replication_factor, None)
        yield _Wanted(topic.dlq, topic.partitions, topic.replication_factor, topic.name)


def ensure_topics(
    catalog: Catalog,
    admin: AdminClient,
    *,
    dry_run: bool = False,
    timeout: float = 15.0,
    broker_wait: float = 90.0,
) -> TopicReport:
    """Create the catalog's absent topics and DLQ topics; report those whose partition count differs.
    Raises ClusterUnavailableError when the cluster does not answer within ``timeout`` seconds, and
    ConfigError when it refuses a topic (e.g. a replication factor above its broker count). A refusal
    for the replication factor while a broker that holds replicas is down (a restart) is retried for
    up to ``broker_wait`` seconds."""
    existing = _partition_counts(admin, timeout)
    results: list[TopicResult] = []
    to_create: list[_Wanted] = []
    for want in _wanted(catalog):
        actual = existing.get(want.topic)
        if actual is None:
            to_create.append(want)
            continue
        status = TopicStatus.EXISTS if actual == want.partitions else TopicStatus.MISMATCH
        results.append(TopicResult(want.topic, want.partitions, actual, status, want.dlq_of))
    if dry_run or not to_create:
        results.extend(
            TopicResult(w.topic, w.partitions, None, TopicStatus.ABSENT, w.dlq_of) for w in to_create
        )
        return TopicReport(_in_catalog_order(catalog, results), dry_run)

    raced: list[_Wanted] = []
    deadline = time.monotonic() + broker_wait
    while True:
        short = _create(admin, to_create, timeout, results, raced)
        if not short:
            break
        down = _brokers_down(admin, timeout)
        if not down or time.monotonic() >= deadline:
            want, exc = short[0]
            raise ConfigError(
                f"topic {want.topic!r}: the cluster refused to create it with {want.partitions} partitions "
                f"and replication factor {want.replication_factor}: {exc}; "
                + (f"broker(s) {', '.join(map(str, down))} did not come back within {broker_wait:g} s"
                   if down else f"check the catalog's [topics.{want.dlq_of or want.topic}]")
            )  # fmt: skip
        # A broker that holds replicas is down (a restart): the refusal lasts until it is back.
        log.warning("topics: broker(s) %s down, waiting to create %s", down, [w.topic for w, _ in short])
        time.sleep(1.0)
        to_create = [want for want, _ in short]
    if raced:
        existing = _partition_counts(admin, timeout)
        for want in raced:
            actual = existing.get(want.topic)
            status = TopicStatus.EXISTS if actual == want.partitions else TopicStatus.MISMATCH
            results.append(TopicResult(want.topic, want.partitions, actual, status, want.dlq_of))
    return TopicReport(_in_catalog_order(catalog, results), dry_run)


def _create(
    admin: AdminClient,
    wanted: list[_Wanted],
    timeout: float,
    results: list[TopicResult],
    raced: list[_Wanted],
) -> list[tuple[_Wanted, KafkaException]]:
    """Create ``wanted``, appending what was created to ``results`` and what someone else created
    meanwhile to ``raced``; return those refused for their replication factor."""
    new = [
        NewTopic(w.topic, num_partitions=w.partitions, replication_factor=w.replication_factor)
        for w in wanted
    ]
    futures = admin.create_topics(new, request_timeout=timeout)
    short: list[tuple[_Wanted, KafkaException]] = []
    for want in wanted:
        try:
            futures[want.topic].result(timeout=timeout)
        except KafkaException as exc:
            error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            code = error.code() if error is not None else None
            if code == KafkaError.TOPIC_ALREADY_EXISTS:
                raced.append(want)  # created meanwhile by someone else: look at it below
                continue
            if code == KafkaError.INVALID_REPLICATION_FACTOR:
                short.append((want, exc))
                continue
            if error is not None and code in (KafkaError._TRANSPORT, KafkaError._TIMED_OUT):
                raise ClusterUnavailableError(f"creating topic {want.topic!r}: {error.str()}") from exc
            raise ConfigError(
                f"topic {want.topic!r}: the cluster refused to create it with {want.partitions} partitions "
                f"and replication factor {want.replication_factor}: {exc}; check the catalog's "
                f"[topics.{want.dlq_of or want.topic}]"
            ) from exc
        results.append(
            TopicResult(want.topic, want.partitions, want.partitions, TopicStatus.CREATED, want.dlq_of)
        )
    return short


def _brokers_down(admin: AdminClient, timeout: float) -> list[int]:
    """Brokers that hold replicas of existing topics but are not registered now, i.e. down."""
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException:
        return []
    replicas = {
        replica
        for topic in metadata.topics.values()
        for partition in topic.partitions.values()
        for replica in partition.replicas
    }
    return sorted(replicas - set(metadata.brokers))


def _partition_counts(admin: AdminClient, timeout: float) -> dict[str, int]:
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        trouble = kafka_trouble(admin)
        raise ClusterUnavailableError(
            f"the Kafka cluster did not answer within {timeout:g} s (listing topics)"
            + (f": {trouble}" if trouble else f": {exc}")
        ) from exc
    return {name: len(topic.partitions) for name, topic in metadata.topics.items()}


def _in_catalog_order(catalog: Catalog, results: list[TopicResult]) -> tuple[TopicResult, ...]:
    order = {want.topic: index for index, want in enumerate(_wanted(catalog))}
    return tuple(sorted(results, key=lambda r: order[r.topic]))
