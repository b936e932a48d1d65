"""A transform worker for the transform-kill scenario (``python -m tests.faults.transform_worker SPEC``).

SPEC is JSON: name (the pipeline's name: its transactional id is ``<name>-0``), input and output (each
topic, subject, dlq: FaultEvent bindings), group, member (its static group.instance.id, so a restarted
process takes its predecessor's place in the group at once), exactly_once, batch, work_ms (simulated
work per batch), run (this process's number, written into every output's payload, so the scenario can
tell which process wrote an output and whether its transaction was committed), progress (the file it
appends to), kill_file (see below) and idle_seconds (null: run until killed; else exit by itself once
nothing came for that long, printing its stats as JSON).

The handler sleeps ``work_ms / batch`` per input (the simulated work), so outputs are produced all
through a batch and the producer sends them as it goes (linger.ms): a kill mid-batch leaves outputs
written but not committed. It runs the project's :class:`~pipeline.kafka.transform.TransformLoop`
unchanged, with two hooks that only append a line to ``progress`` (flushed at once):

- ``C <inputs>``: the batch's commit is under way: exactly once, ``commit_transaction`` is being
  called (the outputs, dead letters and input offsets are in the open transaction; it flushes the last
  outputs, then commits); at least once, the flush of the outputs and the offset commit are;
- ``D <inputs> <ms>``: the batch is committed (``<ms>``: from ``C`` until then).

A kill between ``C`` and ``D`` landed during the batch's commit.

A kill aimed at a commit is timed from inside the process, since a commit takes a few milliseconds (too
short to hit reliably from outside): once ``kill_file`` exists (the scenario writes it, holding a
fraction), the next ``C`` starts a timer that sends SIGKILL to this process after that fraction of the
shortest of its last five commits, while the main thread is inside the commit (librdkafka's call
releases the GIL, so the timer runs on time).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TextIO

from confluent_kafka import Message

from pipeline.config import load_settings
from pipeline.kafka.binding import SchemaBinding, TopicBinding
from pipeline.kafka.transform import TransformLoop
from tests.faults.support import EVENT_SCHEMA


def binding(spec: dict[str, str]) -> TopicBinding:
    return TopicBinding(spec["topic"], SchemaBinding(spec["subject"], EVENT_SCHEMA), spec["dlq"])


class MarkedLoop(TransformLoop):
    """The transform loop, writing a progress line at each step of a batch."""

    progress: TextIO
    kill_file: Path
    _started_commit = 0.0
    _batch_inputs = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._commit_s: list[float] = []  # how long each commit took

    def mark(self, line: str) -> None:
        self.progress.write(line + "\n")
        self.progress.flush()

    def _write(self, messages: list[Message]) -> tuple[int, int, int]:
        counts = super()._write(messages)
        if not self.exactly_once:  # next: flush the outputs, commit the offsets
            self._commit_marker(len(messages))
        return counts

    def _commit_transaction(self) -> None:
        self._commit_marker(self._batch_inputs)
        super()._commit_transaction()

    def _commit_marker(self, inputs: int) -> None:
        self.mark(f"C {inputs}")
        self._started_commit = time.monotonic()
        if self.kill_file.exists():
            delay = float(self.kill_file.read_text(encoding="utf-8")) * min(self._commit_s[-5:], default=0)
            threading.Timer(delay, os.kill, (os.getpid(), signal.SIGKILL)).start()

    def _transform_batch(self, messages: list[Message]) -> None:
        self._batch_inputs = len(messages)
        super()._transform_batch(messages)

    def _count(self, messages: list[Message], counts: tuple[int, int, int]) -> None:
        # Called once the batch is committed (either mode), never for an aborted one.
        self._commit_s.append(time.monotonic() - self._started_commit)
        self.mark(f"D {len(messages)} {1000 * self._commit_s[-1]:.1f}")
        super()._count(messages, counts)


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = load_settings()
    settings = replace(
        settings,
        consumer=replace(settings.consumer, group_instance_id=spec["member"], session_timeout_ms=10000),
    )
    payload = f"r{int(spec['run'])}".encode()
    work = float(spec["work_ms"]) / 1000 / int(spec["batch"])

    def handler(value: dict[str, Any]) -> dict[str, Any]:
        time.sleep(work)
        return {"id": value["id"], "seq": value["seq"], "payload": payload}

    loop = MarkedLoop(
        settings,
        spec["name"],
        binding(spec["input"]),
        binding(spec["output"]),
        handler,
        group=spec["group"],
        exactly_once=bool(spec["exactly_once"]),
        batch=int(spec["batch"]),
        instance=0,
    )
    idle = spec.get("idle_seconds")
    with open(spec["progress"], "a", encoding="utf-8") as progress:
        loop.progress = progress
        loop.kill_file = Path(spec["kill_file"])
        stats = loop.run(idle_timeout=None if idle is None else float(idle))
    print(json.dumps(asdict(stats)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
