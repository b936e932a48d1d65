"""Faults on a three-node cluster (`pipeline stack up --brokers 3`: replication factor 3, min ISR 2):

- kill -9 the leader of a partition while the project's producer sends, and while its consumer reads;
- a rolling restart of all three brokers (each stopped by SIGTERM, started again, and caught up before
  the next) while the main job (`pipeline run`) runs, with a producer and a consumer of our own beside it.

Each reports what was lost (must be 0), what was duplicated (0 on the produce side, thanks to idempotence),
the longest produce stall and the longest consume stall (the longest time with work pending and no
progress), and whether the delivery reports account for every message.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from pipeline.config import StackSettings
from pipeline.kafka.binding import TopicBinding, open_consumer, open_producer
from pipeline.kafka.typed import Received
from pipeline.stack import EmbeddedStack
from pipeline.stack.embedded import KafkaNode
from tests.faults.support import (
    REPO_ROOT,
    FaultSizes,
    FaultStack,
    end_offsets,
    event,
    free_ports,
    read_topic,
    record_result,
)

pytestmark = pytest.mark.fault

PARTITIONS = 3
CATCH_UP_TIMEOUT = 120.0


def _free_run(count: int) -> int:
    """The first of ``count`` consecutive ports that are all free right now."""
    for base in range(21000, 60000, 97):
        with ExitStack() as held:
            try:
                for port in range(base, base + count):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return base
    raise RuntimeError(f"no {count} consecutive free ports")


def cluster_config(state_dir: Path) -> StackSettings:
    """A three-node stack of its own: node N on base + 2(N - 1) (Kafka) and the port after it (controller)."""
    base = _free_run(6)
    registry_port = next(port for port in free_ports(8) if not base <= port < base + 6)
    return StackSettings(
        state_dir=state_dir,
        kafka_port=base,
        controller_port=base + 1,
        registry_port=registry_port,
        kafka_heap_mb=512,
        registry_heap_mb=384,
        brokers=3,
    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, sizes: FaultSizes) -> Iterator[FaultStack]:
    stack = EmbeddedStack(cluster_config(tmp_path_factory.mktemp("cluster-stack")))
    try:
        stack.up()
        yield FaultStack(stack, sizes)
    finally:
        stack.down(purge=True)


@pytest.fixture(autouse=True)
def _healthy_stack(cluster: FaultStack) -> Iterator[None]:
    """Overrides the suite's single-node fixture: every scenario here starts and ends on a whole cluster."""
    restore_cluster(cluster)
    yield
    restore_cluster(cluster)


def restore_cluster(cluster: FaultStack) -> None:
    """Every node running and every partition fully replicated again."""
    cluster.stack.up()
    deadline = time.monotonic() + CATCH_UP_TIMEOUT
    while (behind := under_replicated(cluster)) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not behind, f"partitions still under-replicated after {CATCH_UP_TIMEOUT} s: {behind[:5]}"


def under_replicated(cluster: FaultStack) -> list[str]:
    metadata = AdminClient(cluster.kafka_config()).list_topics(timeout=10)
    return [
        f"{topic}-{number}"
        for topic, described in metadata.topics.items()
        for number, partition in described.partitions.items()
        if len(partition.isrs) < len(partition.replicas) or partition.leader < 0
    ]


def leader_of(cluster: FaultStack, topic: str, partition: int) -> KafkaNode:
    leader = AdminClient(cluster.kafka_config()).list_topics(topic, timeout=10).topics[topic]
    node_id = leader.partitions[partition].leader
    return next(node for node in cluster.stack.nodes if node.node_id == node_id)


class StallWatch:
    """The longest time during which work was pending and ``progress`` did not move, sampled every 20 ms
    by a thread of its own."""

    def __init__(self, progress: Callable[[], int], pending: Callable[[], bool]) -> None:
        self._progress, self._pending = progress, pending
        self.longest = 0.0
        self.longest_began = 0.0  # time.time() when the longest stall began
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> StallWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        last, since = self._progress(), time.monotonic()
        while not self._done.wait(0.02):
            now, seen = time.monotonic(), self._progress()
            if seen != last or not self._pending():
                last, since = seen, now
            else:
                if now - since > self.longest:
                    self.longest, self.longest_began = now - since, time.time() - (now - since)


def produce(
    cluster: FaultStack,
    binding: TopicBinding,
    tag: str,
    n: int,
    rate: float,
    at: dict[int, Callable[[], None]],
) -> tuple[dict[str, int], float]:
    """Send ``n`` events at ``rate``/s through the project's producer, calling ``at[seq]`` (in a thread of
    its own) when ``seq`` is reached; returns the delivery counts and the longest produce stall."""
    producer = open_producer(cluster.settings, binding)
    stats = producer.producer.stats
    faults: list[threading.Thread] = []
    with producer, StallWatch(lambda: stats.delivered + stats.failed, lambda: stats.in_flight > 0) as watch:
        started = time.monotonic()
        for seq in range(n):
            if seq in at:
                faults.append(threading.Thread(target=at[seq], daemon=True))
                faults[-1].start()
            producer.send(event(seq, tag), key=f"{tag}-{seq}")
            ahead = started + (seq + 1) / rate - time.monotonic()
            producer.producer.poll(max(0.0, ahead))
        deadline = time.monotonic() + CATCH_UP_TIMEOUT
        while any(fault.is_alive() for fault in faults) and time.monotonic() < deadline:
            producer.producer.poll(0.05)  # delivery reports are served while the fault finishes
        producer.flush(CATCH_UP_TIMEOUT)
    counts = {"produced": stats.produced, "delivered": stats.delivered, "failed": stats.failed}
    return {**counts, "stall_began": round(watch.longest_began, 1)}, watch.longest


def read_seqs(cluster: FaultStack, topic: str, tag: str) -> Counter[int]:
    """How often each sequence number of the run ``tag`` is in the topic."""
    seqs: Counter[int] = Counter()
    for msg in read_topic(cluster, topic):
        key = (msg.key() or b"").decode()
        if key.startswith(f"{tag}-"):
            seqs[int(key.rsplit("-", 1)[1])] += 1
    return seqs


def accounting(n: int, seqs: Counter[int]) -> tuple[list[int], int]:
    """(the sequence numbers missing, how many extra copies there are)."""
    return sorted(set(range(n)) - set(seqs)), sum(count - 1 for count in seqs.values() if count > 1)


def kill_leader_for_a_while(cluster: FaultStack, topic: str, seconds: float, log: dict[str, Any]) -> None:
    victim = leader_of(cluster, topic, 0)
    log["killed"] = victim.process.name
    killed_at = time.monotonic()
    victim.process.kill()
    time.sleep(seconds)
    cluster.stack.up()
    log["node_back_after_s"] = round(time.monotonic() - killed_at, 1)


def test_partition_leader_killed_mid_produce(cluster: FaultStack) -> None:
    sizes = cluster.sizes
    n = sizes.messages
    rate = n / max(16.0, n / 3000)  # production spans the kill, the fencing and the node's return
    binding = cluster.event_binding("leader-produce", PARTITIONS)
    tag = cluster.unique("lp")
    log: dict[str, Any] = {}
    kill = lambda: kill_leader_for_a_while(cluster, binding.topic, sizes.broker_down_seconds, log)  # noqa: E731
    started = time.monotonic()
    counts, stall = produce(cluster, binding, tag, n, rate, {n // 4: kill})
    lost, duplicated = accounting(n, read_seqs(cluster, binding.topic, tag))

    record_result(
        "3 nodes: leader kill mid-produce",
        sizes,
        messages=n,
        lost=len(lost),
        duplicated=duplicated,
        produce_stall_s=round(stall, 2),
        seconds=round(time.monotonic() - started, 1),
        details={**counts, **log},
    )
    assert log.get("killed"), "the leader was killed"
    assert {k: counts[k] for k in ("produced", "delivered", "failed")} == {
        "produced": n,
        "delivered": n,
        "failed": 0,
    }
    assert not lost, f"{len(lost)} events missing, e.g. {lost[:10]}"
    assert duplicated == 0, f"{duplicated} events written twice"


def test_partition_leader_killed_mid_consume(cluster: FaultStack) -> None:
    sizes = cluster.sizes
    n = sizes.messages
    binding = cluster.event_binding("leader-consume", PARTITIONS)
    tag = cluster.unique("lc")
    counts, _ = produce(cluster, binding, tag, n, rate=50_000, at={})
    assert counts["delivered"] == n

    batch_size, work = 100, 12.0 / (n / 100)  # consumption paced to span about 12 s
    consumer = open_consumer(cluster.settings, binding, cluster.unique("lc-group"), batch_size=batch_size)
    seen: Counter[int] = Counter()
    log: dict[str, Any] = {}
    fault = threading.Thread(
        target=kill_leader_for_a_while,
        args=(cluster, binding.topic, sizes.broker_down_seconds, log),
        daemon=True,
    )

    def handle(batch: list[Received[dict[str, Any]]]) -> None:
        for received in batch:
            if received.value is not None:
                seen[int(received.value["seq"])] += 1
        if fault.ident is None and sum(seen.values()) >= n // 4:
            fault.start()
        time.sleep(work)

    started = time.monotonic()
    with StallWatch(lambda: sum(seen.values()), lambda: len(seen) < n) as watch:
        stats = consumer.run(handle, max_messages=n, idle_timeout=60, handle_signals=False)
    fault.join(CATCH_UP_TIMEOUT)
    lost, duplicated = accounting(n, seen)

    record_result(
        "3 nodes: leader kill mid-consume",
        sizes,
        messages=n,
        lost=len(lost),
        duplicated=duplicated,
        consume_stall_s=round(watch.longest, 2),
        dlq=sum(end_offsets(cluster, binding.dlq_topic).values()),
        seconds=round(time.monotonic() - started, 1),
        details={**log, "consumed": stats.consumed, "dead_lettered": stats.dead_lettered},
    )
    assert log.get("killed"), "the leader was killed"
    assert not lost, f"{len(lost)} events never consumed, e.g. {lost[:10]}"


def test_rolling_restart_while_the_main_job_runs(cluster: FaultStack, tmp_path: Path) -> None:
    sizes = cluster.sizes
    n = sizes.messages
    per_topic = max(1000, n // 2)
    summary = tmp_path / "summary.json"
    argv = [
        sys.executable, "-m", "pipeline.cli", "run", "--count", str(per_topic), "--rate", str(per_topic / 30),
        "--summary-json", str(summary), "--group", cluster.unique("rolling-main"),
    ]  # fmt: skip
    main_job = subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        env=cluster.subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    binding = cluster.event_binding("rolling", PARTITIONS)
    tag = cluster.unique("rr")
    seen: Counter[int] = Counter()
    restarts: list[dict[str, Any]] = []
    consumer = open_consumer(cluster.settings, binding, cluster.unique("rr-group"), batch_size=200)

    def rolling_restart() -> None:
        for node in cluster.stack.nodes:
            stopped_at, wall = time.monotonic(), time.time()
            node.process.stop()  # SIGTERM: a controlled shutdown moves leadership first
            stop_s = time.monotonic() - stopped_at
            cluster.stack.up()
            back_at = time.monotonic()
            restore_cluster(cluster)
            caught_up_s = time.monotonic() - back_at
            restarts.append(
                {"node": node.process.name, "stopped": round(wall, 1), "stop_s": round(stop_s, 1),
                 "restart_s": round(back_at - stopped_at, 1), "caught_up_s": round(caught_up_s, 1)}
            )  # fmt: skip

    def handle(batch: list[Received[dict[str, Any]]]) -> None:
        for received in batch:
            if received.value is not None:
                seen[int(received.value["seq"])] += 1

    reader = threading.Thread(
        target=lambda: consumer.run(
            handle, max_messages=n, idle_timeout=CATCH_UP_TIMEOUT, handle_signals=False
        ),
        daemon=True,
    )
    reader.start()
    started = time.monotonic()
    with StallWatch(lambda: sum(seen.values()), lambda: len(seen) < n) as consume_watch:
        counts, produce_stall = produce(cluster, binding, tag, n, n / 40, {n // 10: rolling_restart})
        reader.join(CATCH_UP_TIMEOUT + 60)
    output, _ = main_job.communicate(timeout=CATCH_UP_TIMEOUT + 300)
    lost, duplicated = accounting(n, read_seqs(cluster, binding.topic, tag))
    consumed_lost = sorted(set(range(n)) - set(seen))
    job = json.loads(summary.read_text()) if summary.exists() else {}

    record_result(
        "3 nodes: rolling restart",
        sizes,
        messages=n,
        lost=len(lost) + len(consumed_lost),
        duplicated=duplicated,
        produce_stall_s=round(produce_stall, 2),
        consume_stall_s=round(consume_watch.longest, 2),
        seconds=round(time.monotonic() - started, 1),
        details={
            **counts,
            "restarts": restarts,
            "consumed_twice": sum(c - 1 for c in seen.values() if c > 1),
            "main_job_exit": main_job.returncode,
            "main_job_balanced": job.get("balanced"),
        },
    )
    assert len(restarts) == 3, "every node was restarted"
    assert {k: counts[k] for k in ("produced", "delivered", "failed")} == {
        "produced": n,
        "delivered": n,
        "failed": 0,
    }
    assert not lost, f"{len(lost)} events missing from the topic, e.g. {lost[:10]}"
    assert duplicated == 0, f"{duplicated} events written twice"
    assert not consumed_lost, f"{len(consumed_lost)} events never consumed, e.g. {consumed_lost[:10]}"
    assert main_job.returncode == 0 and job.get("balanced") is True, f"the main job:\n{output[-3000:]}"
