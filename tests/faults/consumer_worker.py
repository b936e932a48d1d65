"""A consumer process for the consumer-kill scenario (``python -m tests.faults.consumer_worker SPEC``).

SPEC is JSON: topic, subject, dlq, group, instance (its static group.instance.id, so a restarted process
takes its predecessor's place at once instead of waiting out the session timeout), out (the file it
appends to), batch_size, work_ms (simulated work per batch) and idle_seconds (null: run until killed;
else exit by itself, after a clean commit, once no message came for that long). For each batch it
appends one line per record (the sequence number) and a ``#`` line, in one write, flushed half-way
through the simulated work, as a handler with side effects would have made some of them by then: a kill
after the flush and before the loop's commit re-delivers that batch, the duplicates the scenario counts.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from pipeline.config import ConsumerTuning, load_settings
from pipeline.kafka.binding import SchemaBinding, TopicBinding, open_consumer
from pipeline.kafka.typed import Received
from tests.faults.support import EVENT_SCHEMA


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    binding = TopicBinding(spec["topic"], SchemaBinding(spec["subject"], EVENT_SCHEMA), spec["dlq"])
    consumer = open_consumer(
        load_settings(),
        binding,
        spec["group"],
        batch_size=int(spec["batch_size"]),
        tuning=ConsumerTuning(group_instance_id=spec["instance"], session_timeout_ms=10000),
    )
    work = float(spec["work_ms"]) / 1000
    with open(spec["out"], "a", encoding="utf-8") as out:

        def handle(batch: list[Received[dict[str, Any]]]) -> None:
            time.sleep(work / 2)
            out.write("".join(f"{r.value['seq']}\n" for r in batch if r.value is not None) + "#\n")
            out.flush()
            time.sleep(work / 2)

        idle = spec.get("idle_seconds")
        consumer.run(handle, idle_timeout=None if idle is None else float(idle))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
