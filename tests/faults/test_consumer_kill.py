"""Consumer killed: kill -9 the consumer process at random moments (seeded), restart it each time, then
account for every message from the topic and the consumer's output: none lost, and every duplicate is
explained by a kill -- each kill re-delivers at most the one batch it had processed but not committed.

Most kills land once the run has made progress (at seeded points spread over the messages, plus a
jitter of up to one and a half batch cycles), so they hit the handler, the flush or the commit; some
land during start-up, before the process has processed its first batch (or right at it).
"""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipeline.kafka.binding import TopicBinding, open_producer
from tests.faults.support import (
    REPO_ROOT,
    FaultStack,
    committed_offsets,
    end_offsets,
    event,
    event_decoder,
    read_topic,
    record_result,
)

pytestmark = pytest.mark.fault

BATCH_SIZE = 50
SECONDS_PER_KILL = 1.0  # simulated work is paced so that the whole stream takes this long per kill cycle
STARTUP_KILL_SHARE = 0.15
FINAL_IDLE_SECONDS = 6  # the last run exits by itself (clean drain, commit) after this long without messages
STALL_SECONDS = 90.0  # no new output for this long ends the wait (and the scenario reports what is lost)
PARTITIONS = 3


@dataclass
class RunOutput:
    """One process's output file: complete batches, then the lines of a batch cut short by the kill."""

    batches: list[list[int]]
    partial: list[int]

    @property
    def seqs(self) -> list[int]:
        return [seq for batch in self.batches for seq in batch] + self.partial

    @property
    def last_batch(self) -> list[int]:
        """The batch the process was in when it died: the only one that may be uncommitted."""
        if self.partial or not self.batches:
            return self.partial
        return self.batches[-1]


def parse_run(path: Path) -> RunOutput:
    lines = path.read_text(encoding="utf-8").split("\n")[:-1] if path.exists() else []  # last: unfinished
    batches: list[list[int]] = []
    current: list[int] = []
    for line in lines:
        if line == "#":
            batches.append(current)
            current = []
        else:
            current.append(int(line))
    return RunOutput(batches, current)


@dataclass
class Run:
    index: int
    out: Path
    log: Path
    proc: subprocess.Popen[bytes]
    started: float
    first_output: float | None = None
    ended: float | None = None
    how: str = ""  # "startup" or "progress" (killed), "final" (exited by itself)
    _offset: int = 0
    _carry: bytes = b""
    lines: int = 0

    def read_new(self, seen: set[int]) -> int:
        """Add the sequence numbers written since the last call to ``seen``; returns how many lines."""
        try:
            with self.out.open("rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return 0
        self._offset += len(data)
        *complete, self._carry = (self._carry + data).split(b"\n")
        new = [int(line) for line in complete if line and line != b"#"]
        seen.update(new)
        if new and self.first_output is None:
            self.first_output = time.monotonic()
        self.lines += len(new)
        return len(new)


@dataclass
class Worker:
    fault_stack: FaultStack
    binding: TopicBinding
    group: str
    workdir: Path
    work_ms: float
    runs: list[Run] = field(default_factory=list)

    def start(self, idle_seconds: float | None = None) -> Run:
        index = len(self.runs)
        out, log = self.workdir / f"run-{index:02d}.out", self.workdir / f"run-{index:02d}.log"
        spec = {
            "topic": self.binding.topic,
            "subject": self.binding.value.subject,
            "dlq": self.binding.dlq_topic,
            "group": self.group,
            "instance": f"{self.group}-member",
            "out": str(out),
            "batch_size": BATCH_SIZE,
            "work_ms": self.work_ms,
            "idle_seconds": idle_seconds,
        }
        with log.open("wb") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.faults.consumer_worker", json.dumps(spec)],
                cwd=REPO_ROOT,
                env=self.fault_stack.subprocess_env(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        run = Run(index, out, log, proc, time.monotonic())
        self.runs.append(run)
        return run

    def stop_all(self) -> None:
        for run in self.runs:
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()


def wait_for(run: Run, seen: set[int], done: Callable[[], bool], *, may_exit: bool = False) -> bool:
    """Follow ``run``'s output until ``done()``; False when it stalls. Unless ``may_exit``, fails if the
    process exits by itself (a crash)."""
    last_progress = time.monotonic()
    while not done():
        if run.read_new(seen):
            last_progress = time.monotonic()
            continue
        if run.proc.poll() is not None:
            run.read_new(seen)
            if may_exit:
                return done()
            log = run.log.read_text(encoding="utf-8", errors="replace")[-3000:]
            pytest.fail(f"consumer run {run.index} exited by itself (code {run.proc.returncode}):\n{log}")
        if time.monotonic() - last_progress > STALL_SECONDS:
            return False
        time.sleep(0.01)
    return True


def starting(run: Run, seconds: float) -> Callable[[], bool]:
    """Done after ``seconds``, or at the run's first output if that comes sooner."""
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() >= deadline or run.lines > 0


def progressed(run: Run, seen: set[int], target: float) -> Callable[[], bool]:
    """Done once this run has written output and ``target`` distinct messages are processed overall."""
    return lambda: run.lines > 0 and len(seen) >= target


def kill(run: Run, seen: set[int], how: str) -> None:
    os.kill(run.proc.pid, signal.SIGKILL)
    run.proc.wait()
    run.ended, run.how = time.monotonic(), how
    run.read_new(seen)  # what it flushed after we last looked


def test_consumer_killed_at_random_moments(fault_stack: FaultStack, tmp_path: Path) -> None:
    sizes = fault_stack.sizes
    n, rng = sizes.messages, random.Random(sizes.seed)
    binding = fault_stack.event_binding("kill", partitions=PARTITIONS)
    tag = fault_stack.unique("k")
    with open_producer(fault_stack.settings, binding) as producer:
        for seq in range(n):
            producer.send(event(seq, tag), key=f"{tag}-{seq}")
    assert producer.producer.stats.delivered == n

    started = time.monotonic()
    batches = n / BATCH_SIZE
    work_ms = 1000 * SECONDS_PER_KILL * (sizes.kills + 1) / batches
    worker = Worker(fault_stack, binding, fault_stack.unique("kill-group"), tmp_path, work_ms)
    targets = sorted(rng.uniform(0.05, 0.9) * n for _ in range(sizes.kills))
    seen: set[int] = set()
    try:
        for target in targets:
            if len(seen) >= n:
                break  # nothing left to kill a consumer over (reported below)
            run = worker.start()
            if rng.random() < STARTUP_KILL_SHARE:
                wait_for(run, seen, starting(run, rng.uniform(0.2, 1.5)))
                kill(run, seen, "startup")
            else:
                wait_for(run, seen, progressed(run, seen, target))
                time.sleep(rng.uniform(0.0, 1.5 * work_ms / 1000))  # anywhere in the batch cycle
                kill(run, seen, "progress")
        final = worker.start(idle_seconds=FINAL_IDLE_SECONDS)  # drains, commits and exits by itself
        wait_for(final, seen, lambda: final.proc.poll() is not None, may_exit=True)
        final_code = final.proc.wait(timeout=60)
        final.ended, final.how = time.monotonic(), "final"
    finally:
        worker.stop_all()
    completed = len(seen) >= n
    elapsed = time.monotonic() - started

    decoder = event_decoder(fault_stack, binding)
    in_topic = Counter(
        decoder.decode(m.value() or b"")["seq"] for m in read_topic(fault_stack, binding.topic)
    )
    outputs = [parse_run(run.out) for run in worker.runs]
    processed = Counter(seq for output in outputs for seq in output.seqs)
    lost = sorted(set(range(n)) - set(processed))
    duplicated = sum(count - 1 for count in processed.values() if count > 1)
    within_run = [
        run.index
        for run, out in zip(worker.runs, outputs, strict=True)
        if len(set(out.seqs)) != len(out.seqs)
    ]

    # Each killed run's re-delivered messages: those a later run processed again.
    redelivered: list[int] = []
    beyond_last_batch: dict[int, int] = {}
    later: set[int] = set()
    for run, output in reversed(list(zip(worker.runs, outputs, strict=True))):
        again = [seq for seq in output.seqs if seq in later]
        if run.how != "final":
            redelivered.append(len(again))
            outside = set(again) - set(output.last_batch)
            if outside:
                beyond_last_batch[run.index] = len(outside)
        later.update(output.seqs)
    redelivered.reverse()
    restarts = [r.first_output - r.started for r in worker.runs[1:] if r.first_output is not None]
    committed = committed_offsets(fault_stack, worker.group, binding.topic, PARTITIONS)
    ends = end_offsets(fault_stack, binding.topic)
    dead_lettered = sum(end_offsets(fault_stack, binding.dlq_topic).values())

    record_result(
        "consumer killed",
        sizes,
        messages=n,
        lost=len(lost),
        duplicated=duplicated,
        dlq=dead_lettered,
        recovered_after_s=round(max(restarts), 2) if restarts else None,
        seconds=round(elapsed, 1),
        details={
            "kills": len(worker.runs) - 1,
            "startup_kills": sum(r.how == "startup" for r in worker.runs),
            "kills_that_redelivered": sum(1 for count in redelivered if count),
            "max_redelivered_per_kill": max(redelivered, default=0),
            "batch_size": BATCH_SIZE,
            "work_ms_per_batch": round(work_ms, 1),
            "restart_to_first_batch_median_s": round(statistics.median(restarts), 2) if restarts else None,
            "runs": len(worker.runs),
        },
    )

    assert sorted(in_topic) == list(range(n)) and set(in_topic.values()) == {1}, (
        "the topic holds each seq once"
    )
    assert len(worker.runs) - 1 == sizes.kills, "every kill landed before the stream was consumed"
    assert completed, "the last run processed everything before it went idle"
    assert final_code == 0, "the last run drains, commits and exits cleanly"
    assert not lost, f"{len(lost)} messages never processed, e.g. {lost[:10]}"
    assert not within_run, f"runs {within_run} processed a message twice without being killed in between"
    assert not beyond_last_batch, f"kills re-delivered more than their uncommitted batch: {beyond_last_batch}"
    assert max(redelivered, default=0) <= BATCH_SIZE
    assert duplicated == sum(redelivered), "every duplicate is a re-delivery after a kill"
    assert committed == ends, "the clean drain committed every partition to its end"
    assert dead_lettered == 0
