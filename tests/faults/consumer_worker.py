"""A consumer process for the consumer-kill scenario (``python -m tests.faults.consumer_worker SPEC``).

SPEC is JSON: topic, subject, dlq, group, instance (its static group.instance.id, so a restarted process
takes its predecessor's place at once instead of waiting out the session timeout), out (the file it
appends to), batch_size and work_ms (simulated work per batch). For each batch it appends one line per
record (the sequence number) and a ``#`` line, in one write, flushed before the loop commits: a kill
after the flush and before the commit is exactly the re-delivery the scenario counts.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from pipeline.binding import SchemaBinding, TopicBinding, open_consumer
from pipeline.config import load_settings
from pipeline.topic import Received
from tests.faults.support import EVENT_SCHEMA


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    binding = TopicBinding(spec["topic"], SchemaBinding(spec["subject"], EVENT_SCHEMA), spec["dlq"])
    consumer = open_consumer(
        load_settings(),
        binding,
        lambda datum: datum,
        spec["group"],
        batch_size=int(spec["batch_size"]),
        overrides={"group.instance.id": spec["instance"], "session.timeout.ms": 10000},
    )
    work = float(spec["work_ms"]) / 1000
    with open(spec["out"], "a", encoding="utf-8") as out:

        def handle(batch: list[Received[dict[str, Any]]]) -> None:
            time.sleep(work)
            out.write("".join(f"{r.value['seq']}\n" for r in batch if r.value is not None) + "#\n")
            out.flush()

        consumer.run(handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
