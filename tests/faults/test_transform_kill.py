"""Transform worker killed: kill -9 a worker of a consume -> transform -> produce pipeline at seeded
random moments, half of them during a batch's commit, restart it each time in the same slot (its
transactional id and its static group member: the new process fences the old one), let the last run
drain, then count every input's output in the output topic as a ``read_committed`` reader sees it.

The same scenario runs twice with the same seed, side by side: exactly once (one transaction per batch
holds its outputs and its input offsets) must give every input exactly one output; at least once (flush
the outputs, then commit the offsets) must lose nothing, and the duplicates it allows are recorded.

Every output's payload names the process that wrote it, so the scenario also checks each transaction
was all or nothing: what a killed process left committed in the output is exactly the batches it saw
committed, plus, when the kill landed during a commit, either all or none of that batch.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from pipeline.kafka.binding import TopicBinding, open_producer
from tests.faults.support import (
    REPO_ROOT,
    FaultStack,
    committed_offsets,
    end_offsets,
    event,
    event_decoder,
    record_result,
)

pytestmark = pytest.mark.fault

BATCH = 100
PARTITIONS = 3
SECONDS_PER_KILL = 1.5  # the simulated work is paced so that the whole stream takes this long per kill
FINAL_IDLE_SECONDS = 5  # the last run drains, commits and exits after this long without input
STALL_SECONDS = 90.0  # no progress line for this long fails the scenario (with the worker's log)
COMMIT_KILL_AT = 0.5  # a kill aimed at a commit lands up to this share of the worker's shortest commit


@dataclass
class Run:
    """One worker process and the progress lines it wrote (see tests/faults/transform_worker.py)."""

    index: int
    progress: Path
    log: Path
    kill_file: Path
    proc: subprocess.Popen[bytes]
    kind: str = ""  # "commit" or "anywhere" (killed), "final" (exited by itself)
    lines: list[tuple[str, int]] = field(default_factory=list)
    commit_ms: list[float] = field(default_factory=list)
    _offset: int = 0
    _carry: bytes = b""

    def read_new(self) -> int:
        try:
            with self.progress.open("rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return 0
        self._offset += len(data)
        *complete, self._carry = (self._carry + data).split(b"\n")
        for raw in complete:
            kind, count, *rest = raw.decode().split()
            self.lines.append((kind, int(count)))
            if kind == "D":
                self.commit_ms.append(float(rest[0]))
        return len(complete)

    def count(self, kind: str) -> int:
        return sum(1 for k, _n in self.lines if k == kind)

    @property
    def committed(self) -> int:
        """Inputs of the batches this process saw committed."""
        return sum(n for k, n in self.lines if k == "D")

    @property
    def in_commit(self) -> int | None:
        """The inputs of the batch whose commit was under way when the process stopped, if any."""
        last = [(k, n) for k, n in self.lines if k in ("C", "D")]
        return last[-1][1] if last and last[-1][0] == "C" else None


@dataclass
class Worker:
    fault_stack: FaultStack
    source: TopicBinding
    sink: TopicBinding
    name: str
    group: str
    exactly_once: bool
    workdir: Path
    work_ms: float
    runs: list[Run] = field(default_factory=list)

    def start(self, idle_seconds: float | None = None) -> Run:
        index = len(self.runs)
        progress, log = self.workdir / f"run-{index:02d}.progress", self.workdir / f"run-{index:02d}.log"
        kill_file = self.workdir / f"run-{index:02d}.kill"

        def binding(b: TopicBinding) -> dict[str, Any]:
            return {"topic": b.topic, "subject": b.value.subject, "dlq": b.dlq_topic}

        spec = {
            "name": self.name,
            "input": binding(self.source),
            "output": binding(self.sink),
            "group": self.group,
            "member": f"{self.group}-member",
            "exactly_once": self.exactly_once,
            "batch": BATCH,
            "work_ms": self.work_ms,
            "run": index,
            "progress": str(progress),
            "kill_file": str(kill_file),
            "idle_seconds": idle_seconds,
        }
        with log.open("wb") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.faults.transform_worker", json.dumps(spec)],
                cwd=REPO_ROOT,
                env=self.fault_stack.subprocess_env(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        run = Run(index, progress, log, kill_file, proc)
        self.runs.append(run)
        return run

    def committed(self) -> int:
        return sum(run.committed for run in self.runs)

    def stop_all(self) -> None:
        for run in self.runs:
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()


def follow(run: Run, done: Callable[[], bool], *, may_exit: bool = False, poll: float = 0.001) -> None:
    """Read ``run``'s progress until ``done()``. Fails when it stalls, or (unless ``may_exit``) when the
    process exits by itself."""
    last_progress = time.monotonic()
    while not done():
        if run.read_new():
            last_progress = time.monotonic()
            continue
        if run.proc.poll() is not None:
            run.read_new()
            if may_exit:
                return
            log = run.log.read_text(encoding="utf-8", errors="replace")[-3000:]
            pytest.fail(f"worker run {run.index} exited by itself (code {run.proc.returncode}):\n{log}")
        if time.monotonic() - last_progress > STALL_SECONDS:
            log = run.log.read_text(encoding="utf-8", errors="replace")[-3000:]
            pytest.fail(f"worker run {run.index}: no progress for {STALL_SECONDS} s:\n{log}")
        time.sleep(poll)


def progressed(run: Run, worker: Worker, target: float) -> Callable[[], bool]:
    """Done once ``run`` has committed a batch and ``target`` inputs are committed over all runs."""
    return lambda: run.count("D") > 0 and worker.committed() >= target


def kill(run: Run, kind: str) -> None:
    os.kill(run.proc.pid, signal.SIGKILL)
    run.proc.wait()
    run.kind = kind
    run.read_new()


def kill_at_next_commit(run: Run, share: float) -> None:
    """Arm ``run``'s own SIGKILL at ``share`` of a commit's time into its next commit (see
    transform_worker.py) and wait until it is dead."""
    armed = run.kill_file.with_suffix(".tmp")
    armed.write_text(repr(share), encoding="utf-8")
    armed.rename(run.kill_file)  # whole, or not there at all, when the worker reads it
    follow(run, lambda: run.proc.poll() is not None, may_exit=True, poll=0.01)
    assert run.proc.wait() == -signal.SIGKILL, run.log.read_text(encoding="utf-8", errors="replace")[-3000:]
    run.kind = "commit"
    run.read_new()


def read_outputs(
    fault_stack: FaultStack, topic: str, isolation: str, timeout: float = 120.0
) -> list[Message]:
    """Every message of ``topic`` a reader with ``isolation.level=isolation`` gets: each partition read
    until the reader reaches its high watermark (a transactional topic ends with a commit or abort
    marker, which no reader is given, so the end is the partition-EOF event's offset, not a message's).
    """
    ends = end_offsets(fault_stack, topic)
    consumer = Consumer(
        fault_stack.kafka_config(
            **{
                "group.id": fault_stack.unique("reader"),
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "isolation.level": isolation,
            }
        )
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in ends])
    remaining = {p for p, end in ends.items() if end > 0}
    got: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while remaining and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.5):
                error = msg.error()
                if error is None:
                    got.append(msg)
                elif error.code() == KafkaError._PARTITION_EOF:
                    if int(msg.offset() or 0) >= ends[int(msg.partition() or 0)]:
                        remaining.discard(int(msg.partition() or 0))
                else:
                    raise AssertionError(f"{topic}: {error}")
    finally:
        consumer.close()
    if remaining:
        raise AssertionError(
            f"{topic} ({isolation}): partitions {sorted(remaining)} not read to their end in {timeout} s "
            "(a transaction left open?)"
        )
    return got


@pytest.mark.parametrize("exactly_once", [True, False], ids=["exactly-once", "at-least-once"])
def test_transform_worker_killed_at_random_moments(
    fault_stack: FaultStack, tmp_path: Path, exactly_once: bool
) -> None:
    sizes = fault_stack.sizes
    n, kills = sizes.transform_inputs, sizes.transform_kills
    rng = random.Random(sizes.seed)  # the same kill plan in both modes
    mode = "eos" if exactly_once else "alo"
    source = fault_stack.event_binding(f"tf-{mode}-in", partitions=PARTITIONS)
    sink = fault_stack.event_binding(f"tf-{mode}-out", partitions=PARTITIONS)
    tag = fault_stack.unique("t")
    with open_producer(fault_stack.settings, source) as producer:
        for seq in range(n):
            producer.send(event(seq, tag), key=f"{tag}-{seq}")
    assert producer.producer.stats.delivered == n

    started = time.monotonic()
    work_ms = 1000 * SECONDS_PER_KILL * (kills + 1) / (n / BATCH)
    group = fault_stack.unique(f"tf-{mode}-group")
    worker = Worker(
        fault_stack, source, sink, fault_stack.unique(f"tf-{mode}"), group, exactly_once, tmp_path, work_ms
    )
    targets = sorted(rng.uniform(0.05, 0.9) * n for _ in range(kills))
    kinds = ["commit" if i % 2 == 0 else "anywhere" for i in range(kills)]
    rng.shuffle(kinds)
    try:
        for target, kind in zip(targets, kinds, strict=True):
            run = worker.start()
            follow(run, progressed(run, worker, target))
            if kind == "commit":  # the worker's next commit kills it (see transform_worker.py)
                kill_at_next_commit(run, rng.uniform(0.0, COMMIT_KILL_AT))
            else:
                time.sleep(rng.uniform(0.0, 1.5 * work_ms / 1000))  # anywhere in the batch cycle
                kill(run, kind)
        final = worker.start(idle_seconds=FINAL_IDLE_SECONDS)
        follow(final, lambda: final.proc.poll() is not None, may_exit=True, poll=0.05)
        final_code = final.proc.wait(timeout=60)
        final.kind = "final"
    finally:
        worker.stop_all()
    elapsed = time.monotonic() - started

    decoder = event_decoder(fault_stack, sink)
    committed_out = [
        decoder.decode(m.value() or b"") for m in read_outputs(fault_stack, sink.topic, "read_committed")
    ]
    everything = read_outputs(fault_stack, sink.topic, "read_uncommitted")
    by_seq = Counter(int(v["seq"]) for v in committed_out)
    lost = sorted(set(range(n)) - set(by_seq))
    duplicated = sum(count - 1 for count in by_seq.values() if count > 1)
    unexpected = sorted(set(by_seq) - set(range(n)))
    by_run = Counter(bytes(v["payload"]).decode() for v in committed_out)

    killed = [run for run in worker.runs if run.kind != "final"]
    in_commit = [run for run in killed if run.in_commit is not None]
    # All or nothing: what each killed run left committed in the output, beyond the batches it saw
    # committed, is nothing, or (killed during a commit) the whole batch of that commit.
    beyond = {run.index: by_run[f"r{run.index}"] - run.committed for run in killed}
    partial = {
        run.index: beyond[run.index]
        for run in killed
        if exactly_once and beyond[run.index] not in {0, run.in_commit or 0}
    }
    commits_through = sum(1 for run in in_commit if beyond[run.index] > 0) if exactly_once else None
    final_stats = _final_stats(final)
    commit_ms = sorted(ms for run in worker.runs for ms in run.commit_ms)
    ends = end_offsets(fault_stack, source.topic)
    committed = committed_offsets(fault_stack, group, source.topic, PARTITIONS)
    dead_lettered = sum(end_offsets(fault_stack, source.dlq_topic).values()) + sum(
        end_offsets(fault_stack, sink.dlq_topic).values()
    )

    record_result(
        f"transform kill -9 ({'exactly once' if exactly_once else 'at least once'})",
        sizes,
        messages=n,
        lost=len(lost),
        duplicated=duplicated,
        dlq=dead_lettered,
        kills=len(killed),
        exactly_once=exactly_once,
        seconds=round(elapsed, 1),
        details={
            "exactly_once": exactly_once,
            "kills": len(killed),
            "kills_during_commit": len(in_commit),
            "commits_through_despite_kill": commits_through,
            "kills_aimed_at_commit": sum(run.kind == "commit" for run in killed),
            "aborted_outputs": len(everything) - len(committed_out),
            "final_run_aborted_transactions": final_stats.get("aborted"),
            "batch": BATCH,
            "work_ms_per_batch": round(work_ms, 1),
            "commit_ms_median": commit_ms[len(commit_ms) // 2] if commit_ms else None,
            "runs": len(worker.runs),
            "partial_transactions": partial,
        },
    )

    assert not unexpected, f"outputs for inputs that do not exist: {unexpected[:10]}"
    assert final_code == 0, final.log.read_text(encoding="utf-8", errors="replace")[-3000:]
    assert len(killed) == kills
    assert committed == ends, "the last run committed every input partition to its end"
    assert dead_lettered == 0
    assert not lost, f"{len(lost)} inputs have no output, e.g. {lost[:10]}"
    assert in_commit, "no kill landed during a commit"
    if exactly_once:
        assert not partial, (
            f"a transaction was committed in part (run: outputs beyond its commits): {partial}"
        )
        assert duplicated == 0, f"{duplicated} outputs duplicated for read_committed readers"


def _final_stats(run: Run) -> dict[str, Any]:
    for line in reversed(run.log.read_text(encoding="utf-8", errors="replace").splitlines()):
        if line.startswith("{"):
            stats: dict[str, Any] = json.loads(line)
            return stats
    return {}
