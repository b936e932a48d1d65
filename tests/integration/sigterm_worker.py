"""A consumer process for the SIGTERM test: slow handler, records each processed seq to a file."""

from __future__ import annotations

import json
import sys
import time

from pipeline.config import load_settings
from pipeline.kafka.binding import SchemaBinding, TopicBinding, open_consumer
from tests.integration.pipelines import EVENT_SCHEMA


def main() -> int:
    spec, group, out_path = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    idle = "--idle" in sys.argv
    binding = TopicBinding(spec["topic"], SchemaBinding(spec["subject"], EVENT_SCHEMA), spec["dlq"])
    consumer = open_consumer(load_settings(), binding, group, batch_size=50)
    with open(out_path, "a") as out:

        def handle(batch: list) -> None:
            if not idle:
                time.sleep(0.02)
            out.write("".join(f"{r.value['seq']}\n" for r in batch))
            out.flush()

        consumer.run(handle, idle_timeout=5 if idle else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
