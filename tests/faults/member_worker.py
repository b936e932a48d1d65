"""A group member for the rebalance scenarios (``python -m tests.faults.member_worker SPEC``).

SPEC is JSON: topic, subject, dlq, group, out, events, batch_size, work_ms (simulated work per batch),
protocol (the group protocol, null for the configured default) and session_timeout_ms (classic only).
Members are dynamic (no group.instance.id), so a SIGTERM drains, commits, leaves the group at once and
exits 0. ``out`` gets what the consumer-kill worker writes (one line per record, then ``#``, flushed
half-way through the work); ``events`` gets one JSON line per moment the scenario times, with the wall
clock: ``start`` (just before subscribing), ``batch`` (the batch's partitions and the partitions the member
owns), ``left`` (the consumer closed, its partitions released).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import replace
from typing import Any

from pipeline.config import load_settings
from pipeline.kafka.binding import SchemaBinding, TopicBinding, open_consumer
from pipeline.kafka.typed import Received
from tests.faults.support import EVENT_SCHEMA


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    # Its warnings (a commit refused during a rebalance, librdkafka's complaints) go to its log file.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = load_settings()
    tuning = settings.consumer
    if spec.get("protocol"):
        tuning = replace(tuning, group_protocol=spec["protocol"])
    if tuning.group_protocol == "classic" and spec.get("session_timeout_ms"):
        tuning = replace(tuning, session_timeout_ms=int(spec["session_timeout_ms"]))
    binding = TopicBinding(spec["topic"], SchemaBinding(spec["subject"], EVENT_SCHEMA), spec["dlq"])
    consumer = open_consumer(
        settings, binding, spec["group"], batch_size=int(spec["batch_size"]), tuning=tuning
    )
    work = float(spec["work_ms"]) / 1000
    with (
        open(spec["out"], "a", encoding="utf-8") as out,
        open(spec["events"], "a", encoding="utf-8") as events,
    ):

        def event(kind: str, **fields: Any) -> None:
            events.write(json.dumps({"t": time.time(), "e": kind, **fields}) + "\n")
            events.flush()

        def handle(batch: list[Received[dict[str, Any]]]) -> None:
            time.sleep(work / 2)
            out.write("".join(f"{r.value['seq']}\n" for r in batch if r.value is not None) + "#\n")
            out.flush()
            owned = consumer.loop.assignment() if consumer.loop is not None else []
            event("batch", p=sorted({r.partition for r in batch}), own=sorted(p for _t, p in owned))
            time.sleep(work / 2)

        event("start", protocol=tuning.group_protocol)
        consumer.run(handle)
        event("left")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
