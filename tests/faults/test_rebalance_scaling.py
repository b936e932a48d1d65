"""Rebalance scaling: members of one group (separate processes running the project's consumer) join
and leave while a producer keeps the topic fed, every message with a unique sequence number.

- Clean changes (a new process joins; a member gets SIGTERM, drains, commits and leaves): every message
  is processed exactly once: 0 lost, 0 duplicated.
- kill -9 of a member costs at most the batch it had processed but not committed: every duplicate is a
  record of a killed member's last batch.

Each change is timed (reported, not asserted): from the moment it happens (a joining member subscribes,
a leaving member is sent SIGTERM, a member is killed) until every partition is owned by exactly one live
member and each has been processed again by its owner -- the group settled and consumption resumed.

The group protocol is the configured default; FAULT_GROUP_PROTOCOL=classic|consumer runs the same
scenario under the protocol named (the figures the protocol choice in the README rests on).
"""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pipeline.kafka.binding import TopicBinding, open_producer
from tests.faults.support import (
    REPO_ROOT,
    FaultStack,
    committed_offsets,
    end_offsets,
    event,
    record_result,
)
from tests.faults.test_consumer_kill import parse_run

pytestmark = pytest.mark.fault

PARTITIONS = 8
BATCH_SIZE = 100
WORK_MS = 100.0  # simulated work per batch: a member handles up to ~1 000 messages/s, above the rate
RATE = 600  # messages per second the producer sends while the group changes
MAX_MEMBERS = 4
SETTLE_SECONDS = 120.0  # a change the group does not absorb in this long fails the scenario
CLASSIC_SESSION_TIMEOUT_MS = 10000  # what a kill -9 costs in waiting with the classic protocol


def group_protocol(fault_stack: FaultStack) -> str:
    """The protocol under test: FAULT_GROUP_PROTOCOL, else the configured default."""
    return os.environ.get("FAULT_GROUP_PROTOCOL") or fault_stack.settings.consumer.group_protocol


@dataclass
class Member:
    index: int
    out: Path
    events: Path
    proc: subprocess.Popen[bytes]
    how: str = ""  # "left" (SIGTERM), "killed" (SIGKILL), "" while it runs
    _offset: int = 0
    _carry: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return not self.how

    def read_events(self) -> list[dict[str, Any]]:
        try:
            with self.events.open("r", encoding="utf-8") as fh:
                fh.seek(self._offset)
                data = fh.read()
                self._offset = fh.tell()
        except FileNotFoundError:
            return self.seen
        *complete, self._carry = (self._carry + data).split("\n")
        self.seen.extend(json.loads(line) for line in complete if line)
        return self.seen

    def first(self, kind: str) -> float | None:
        return next((e["t"] for e in self.read_events() if e["e"] == kind), None)


@dataclass
class Group:
    fault_stack: FaultStack
    binding: TopicBinding
    name: str
    workdir: Path
    protocol: str
    members: list[Member] = field(default_factory=list)

    def start(self) -> Member:
        index = len(self.members)
        out, events, log = (self.workdir / f"member-{index:02d}.{ext}" for ext in ("out", "events", "log"))
        spec = {
            "topic": self.binding.topic,
            "subject": self.binding.value.subject,
            "dlq": self.binding.dlq_topic,
            "group": self.name,
            "out": str(out),
            "events": str(events),
            "batch_size": BATCH_SIZE,
            "work_ms": WORK_MS,
            "protocol": self.protocol,
            "session_timeout_ms": CLASSIC_SESSION_TIMEOUT_MS,
        }
        with log.open("wb") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.faults.member_worker", json.dumps(spec)],
                cwd=REPO_ROOT,
                env=self.fault_stack.subprocess_env(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        member = Member(index, out, events, proc)
        self.members.append(member)
        return member

    def live(self) -> list[Member]:
        return [m for m in self.members if m.live]

    def check_alive(self) -> None:
        for member in self.live():
            if member.proc.poll() is not None:
                log = (self.workdir / f"member-{member.index:02d}.log").read_text(errors="replace")[-3000:]
                pytest.fail(f"member {member.index} exited by itself (code {member.proc.returncode}):\n{log}")

    def settled_at(self, since: float) -> float | None:
        """When the group settled after ``since``: every partition owned by one live member, the
        assignment balanced, each member seen at work, and each partition processed by its owner; None
        while not so."""
        owner: dict[int, Member] = {}
        for member in self.live():
            batches = [e for e in member.read_events() if e["e"] == "batch" and e["t"] >= since]
            if not batches:
                return None
            for p in batches[-1]["own"]:
                if p in owner:
                    return None  # two owners: a revocation is still under way
                owner[p] = member
        if sorted(owner) != list(range(PARTITIONS)):
            return None
        loads = Counter(m.index for m in owner.values())
        if len(loads) < len(self.live()) or max(loads.values()) - min(loads.values()) > 1:
            return None  # not balanced yet: partitions are still to move (one step at a time)
        resumed = []
        for p, member in owner.items():
            times = [e["t"] for e in member.seen if e["e"] == "batch" and e["t"] >= since and p in e["p"]]
            if not times:
                return None
            resumed.append(times[0])
        return max(resumed)

    def wait_settled(self, since: float) -> float:
        deadline = time.monotonic() + SETTLE_SECONDS
        while (at := self.settled_at(since)) is None:
            self.check_alive()
            if time.monotonic() > deadline:
                pytest.fail(f"group {self.name} did not settle within {SETTLE_SECONDS} s after a change")
            time.sleep(0.05)
        return at

    def join(self) -> float:
        """Start a member; returns the rebalance time from its subscription to the settled group."""
        member = self.start()
        while (t0 := member.first("start")) is None:
            self.check_alive()
            time.sleep(0.02)
        return self.wait_settled(t0) - t0

    def leave(self, member: Member) -> float:
        """SIGTERM ``member`` (it drains, commits, leaves); the rebalance time from the signal."""
        t0 = time.time()
        member.proc.send_signal(signal.SIGTERM)
        member.how = "left"
        settled = self.wait_settled(t0)
        member.proc.wait(timeout=60)
        return settled - t0

    def kill(self, member: Member) -> float:
        t0 = time.time()
        os.kill(member.proc.pid, signal.SIGKILL)
        member.proc.wait()
        member.how = "killed"
        return self.wait_settled(t0) - t0

    def stop_all(self) -> None:
        for member in self.members:
            if member.proc.poll() is None:
                member.proc.kill()
                member.proc.wait()


class PacedProducer(threading.Thread):
    """Sends events ``tag-0``, ``tag-1``, ... at RATE per second until ``stop``; ``sent`` counts them."""

    def __init__(self, fault_stack: FaultStack, binding: TopicBinding, tag: str) -> None:
        super().__init__(daemon=True)
        self.fault_stack, self.binding, self.tag = fault_stack, binding, tag
        self.halt = threading.Event()
        self.sent = 0
        self.delivered = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with open_producer(self.fault_stack.settings, self.binding) as producer:
                started, chunk = time.monotonic(), 20
                while not self.halt.is_set():
                    for _ in range(chunk):
                        producer.send(event(self.sent, self.tag), key=f"{self.tag}-{self.sent}")
                        self.sent += 1
                    self.halt.wait(max(0.0, started + self.sent / RATE - time.monotonic()))
            self.delivered = producer.producer.stats.delivered
        except BaseException as exc:
            self.error = exc

    def stop(self) -> int:
        self.halt.set()
        self.join(timeout=120)
        assert self.error is None, f"the producer failed: {self.error!r}"
        return self.sent


def refused_commits(group: Group) -> int:
    """Commits the members' logs say were refused (a rebalance under way, or ownership lost)."""
    logs = (group.workdir / f"member-{m.index:02d}.log" for m in group.members)
    return sum(text.count(" commit of ") for text in (log.read_text(errors="replace") for log in logs))


def processed(group: Group) -> Counter[int]:
    return Counter(seq for m in group.members for seq in parse_run(m.out).seqs)


def drain(group: Group, sent: int) -> None:
    """Wait until every sent message was processed (or nothing new comes for SETTLE_SECONDS)."""
    last, progress = -1, time.monotonic()
    while (count := len(processed(group))) < sent and time.monotonic() - progress < SETTLE_SECONDS:
        group.check_alive()
        if count != last:
            last, progress = count, time.monotonic()
        time.sleep(0.2)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _max(values: list[float]) -> float | None:
    return round(max(values), 2) if values else None


def test_members_join_and_leave_cleanly_without_losing_or_duplicating(
    fault_stack: FaultStack, tmp_path: Path
) -> None:
    sizes = fault_stack.sizes
    rng = random.Random(sizes.seed)
    protocol = group_protocol(fault_stack)
    binding = fault_stack.event_binding("scale", partitions=PARTITIONS)
    group = Group(fault_stack, binding, fault_stack.unique("scale-group"), tmp_path, protocol)
    producer = PacedProducer(fault_stack, binding, fault_stack.unique("s"))
    joins: list[float] = []
    leaves: list[float] = []
    started = time.monotonic()
    producer.start()
    try:
        group.join()  # the first member: not a rebalance of a running group
        for _ in range(sizes.members_changes):
            time.sleep(rng.uniform(0.5, 1.5))  # somewhere in the members' batch cycles
            count = len(group.live())
            if count == 1 or (count < MAX_MEMBERS and rng.random() < 0.5):
                joins.append(group.join())
            else:
                leaves.append(group.leave(rng.choice(group.live())))
        sent = producer.stop()
        drain(group, sent)
        for member in group.live():
            member.proc.send_signal(signal.SIGTERM)
            member.how = "left"
        codes = [m.proc.wait(timeout=60) for m in group.members]
    finally:
        producer.halt.set()
        group.stop_all()
    elapsed = time.monotonic() - started

    counts = processed(group)
    lost = sorted(set(range(sent)) - set(counts))
    duplicated = sum(c - 1 for c in counts.values() if c > 1)
    committed = committed_offsets(fault_stack, group.name, binding.topic, PARTITIONS)
    ends = end_offsets(fault_stack, binding.topic)
    dead_lettered = sum(end_offsets(fault_stack, binding.dlq_topic).values())
    record_result(
        "rebalance scaling",
        sizes,
        messages=sent,
        lost=len(lost),
        duplicated=duplicated,
        dlq=dead_lettered,
        recovered_after_s=_max(joins + leaves),
        seconds=round(elapsed, 1),
        details={
            "protocol": protocol,
            "partitions": PARTITIONS,
            "joins": len(joins),
            "leaves": len(leaves),
            "max_members": MAX_MEMBERS,
            "join_rebalance_median_s": _median(joins),
            "join_rebalance_max_s": _max(joins),
            "leave_rebalance_median_s": _median(leaves),
            "leave_rebalance_max_s": _max(leaves),
            "rebalance_s": [round(s, 2) for s in joins + leaves],
            "refused_commits": refused_commits(group),
            "delivered": producer.delivered,
        },
    )

    assert producer.delivered == sent, "every sent message was delivered"
    assert len(joins) + len(leaves) == sizes.members_changes
    assert codes == [0] * len(group.members), "every member drained, committed and exited 0 on SIGTERM"
    assert not lost, f"{len(lost)} messages never processed, e.g. {lost[:10]}"
    assert duplicated == 0, f"{duplicated} messages processed twice across clean joins and leaves"
    assert committed == ends, "the clean leaves committed every partition to its end"
    assert dead_lettered == 0


def test_a_killed_member_costs_at_most_its_uncommitted_batch(fault_stack: FaultStack, tmp_path: Path) -> None:
    sizes = fault_stack.sizes
    rng = random.Random(sizes.seed + 1)
    protocol = group_protocol(fault_stack)
    kills_planned = max(1, sizes.members_changes // 10)
    binding = fault_stack.event_binding("scale-kill", partitions=PARTITIONS)
    group = Group(fault_stack, binding, fault_stack.unique("kill-group"), tmp_path, protocol)
    producer = PacedProducer(fault_stack, binding, fault_stack.unique("sk"))
    recoveries: list[float] = []
    started = time.monotonic()
    producer.start()
    try:
        for _ in range(3):
            group.join()
        for _ in range(kills_planned):
            time.sleep(rng.uniform(0.5, 1.5))
            recoveries.append(group.kill(rng.choice(group.live())))
            group.join()  # a replacement, as an orchestrator would start
        sent = producer.stop()
        drain(group, sent)
        for member in group.live():
            member.proc.send_signal(signal.SIGTERM)
            member.how = "left"
        codes = [m.proc.wait(timeout=60) for m in group.members if m.how == "left"]
    finally:
        producer.halt.set()
        group.stop_all()
    elapsed = time.monotonic() - started

    counts = processed(group)
    lost = sorted(set(range(sent)) - set(counts))
    duplicated = {seq: c - 1 for seq, c in counts.items() if c > 1}
    killed = [m for m in group.members if m.how == "killed"]
    last_batches = {seq for m in killed for seq in parse_run(m.out).last_batch}
    unexplained = sorted(set(duplicated) - last_batches)
    record_result(
        "rebalance kill -9",
        sizes,
        messages=sent,
        lost=len(lost),
        duplicated=sum(duplicated.values()),
        dlq=sum(end_offsets(fault_stack, binding.dlq_topic).values()),
        recovered_after_s=_max(recoveries),
        seconds=round(elapsed, 1),
        details={
            "protocol": protocol,
            "kills": len(killed),
            "batch_size": BATCH_SIZE,
            "kill_to_settled_s": [round(s, 2) for s in recoveries],
            "session_timeout_ms": CLASSIC_SESSION_TIMEOUT_MS if protocol == "classic" else "broker's",
        },
    )

    assert producer.delivered == sent, "every sent message was delivered"
    assert len(killed) == kills_planned
    assert codes == [0] * len(codes), "every surviving member drained, committed and exited 0 on SIGTERM"
    assert not lost, f"{len(lost)} messages never processed, e.g. {lost[:10]}"
    assert not unexplained, f"duplicates outside a killed member's last batch, e.g. {unexplained[:10]}"
    assert all(c == 1 for c in duplicated.values()), "a killed batch is processed again once, not more"
    assert sum(duplicated.values()) <= BATCH_SIZE * len(killed)
