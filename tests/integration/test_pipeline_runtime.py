"""The shared runtime on the real stack: round trip, group split, and a SIGTERM drain."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.kafka.binding import open_consumer, open_producer
from pipeline.kafka.typed import Received
from tests.conftest import StackHandle
from tests.integration.pipelines import committed, event, make_binding

pytestmark = pytest.mark.integration


def test_producer_to_consumer_round_trip(stack: StackHandle) -> None:
    binding = make_binding(stack, "rt")
    with open_producer(stack.settings, binding) as producer:
        results = [producer.send(event(i), key=f"k{i}") for i in range(50)]
    assert all(r.accepted for r in results)
    assert producer.producer.stats.delivered == 50

    group = stack.unique("rt-group")
    seen: list[Received[dict]] = []
    consumer = open_consumer(stack.settings, binding, group)
    stats = consumer.run(seen.extend, max_messages=50, idle_timeout=20, handle_signals=False)
    assert [r.value for r in seen] == [event(i) for i in range(50)]
    assert [r.key for r in seen] == [f"k{i}" for i in range(50)]
    assert stats.processed == 50 and stats.dead_lettered == 0
    assert committed(stack, group, binding.topic) == [50]


def test_two_consumers_in_one_group_split_partitions_and_see_everything_once(stack: StackHandle) -> None:
    import threading

    binding = make_binding(stack, "split", partitions=4)
    group = stack.unique("split-group")
    seen: dict[str, list[tuple[int, int]]] = {"a": [], "b": []}
    consumers = {name: open_consumer(stack.settings, binding, group, batch_size=100) for name in seen}

    def run(name: str) -> None:
        consumers[name].run(
            lambda batch, name=name: seen[name].extend((r.partition, r.value["seq"]) for r in batch),
            handle_signals=False,
        )

    threads = [threading.Thread(target=run, args=(name,)) for name in seen]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # both members own partitions before anything is produced
        loops = [c.loop for c in consumers.values()]
        if all(loop is not None and loop.assignment() for loop in loops):
            break
        time.sleep(0.1)
    with open_producer(stack.settings, binding) as producer:
        for i in range(2000):
            producer.send(event(i), key=f"k{i}")
    deadline = time.monotonic() + 60
    while sum(len(v) for v in seen.values()) < 2000 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)  # anything delivered twice would arrive now
    for consumer in consumers.values():
        consumer.stop()
    for thread in threads:
        thread.join(60)
    all_seqs = sorted(seq for name in seen for _, seq in seen[name])
    assert all_seqs == list(range(2000)), "every message seen exactly once across the group"
    partitions = {name: {p for p, _ in seen[name]} for name in seen}
    assert partitions["a"] and partitions["b"], f"both consumers got partitions: {partitions}"
    assert not partitions["a"] & partitions["b"], "no partition was processed by both"
    assert sum(committed(stack, group, binding.topic, partitions=4)) == 2000


WORKER = ["-m", "tests.integration.sigterm_worker"]
ROOT = Path(__file__).parents[2]


def test_sigterm_mid_stream_commits_exactly_what_was_processed(stack: StackHandle, tmp_path: Path) -> None:
    binding = make_binding(stack, "drain", partitions=2)
    total = 3000
    with open_producer(stack.settings, binding) as producer:
        for i in range(total):
            producer.send(event(i), key=f"k{i}")

    group = stack.unique("drain-group")
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers,
        "SCHEMA_REGISTRY_URL": stack.registry_url,
    }
    spec = json.dumps({"topic": binding.topic, "subject": binding.value.subject, "dlq": binding.dlq_topic})
    first_out = tmp_path / "first.txt"
    worker = subprocess.Popen([sys.executable, *WORKER, spec, group, str(first_out)], env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        not first_out.exists() or len(first_out.read_text().split()) < 300
    ):
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(60) == 0, "the worker drained and exited cleanly"
    first = [int(x) for x in first_out.read_text().split()]
    assert 0 < len(first) < total, "stopped mid-stream"
    assert sum(committed(stack, group, binding.topic, partitions=2)) == len(first), "commits == processed"

    second_out = tmp_path / "second.txt"
    worker = subprocess.Popen(
        [sys.executable, *WORKER, spec, group, str(second_out), "--idle"], env=env, cwd=ROOT
    )
    assert worker.wait(120) == 0
    second = [int(x) for x in second_out.read_text().split()]
    assert sorted(first + second) == list(range(total)), "nothing lost, nothing processed twice"
