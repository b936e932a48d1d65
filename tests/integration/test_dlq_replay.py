"""DLQ tooling on the real stack: inspect, then replay after the cause is fixed, idempotently."""

from __future__ import annotations

import json
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema

from pipeline.cli import main
from pipeline.dlq.tools import REPLAY_HEADER, read_entries, replay, replay_group
from pipeline.kafka.binding import open_consumer, open_producer
from pipeline.kafka.typed import Received
from pipeline.retry import RetryPolicy
from tests.conftest import StackHandle
from tests.integration.pipelines import EVENT_SCHEMA, committed, event, make_binding, read_all

pytestmark = pytest.mark.integration


class Rejected(Exception):
    pass


def test_replay_after_the_fix_redrives_once(stack: StackHandle, capsys: pytest.CaptureFixture[str]) -> None:
    binding = make_binding(stack, "replay")
    with open_producer(stack.settings, binding) as producer:
        for i in range(10):
            producer.send(event(i), key=f"k{i}", headers=[("trace", f"t{i}".encode())])

    group = stack.unique("replay-group")
    policy = RetryPolicy(max_attempts=1, non_retryable=(Rejected,))
    processed: list[int] = []

    def picky(r: Received[dict[str, Any]]) -> None:
        if r.value is not None and r.value["seq"] in (3, 7):
            raise Rejected("seq 3 and 7 are refused until the fix")
        processed.append(r.value["seq"] if r.value else -1)

    open_consumer(stack.settings, binding, group, retry=policy).run(
        picky, batch=False, idle_timeout=4, handle_signals=False
    )
    assert processed == [0, 1, 2, 4, 5, 6, 8, 9]

    assert main(["dlq", "inspect", binding.dlq_topic, "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [e["key"] for e in shown] == ["k3", "k7"]
    assert {e["error_class"] for e in shown} == {"Rejected"} and {e["stage"] for e in shown} == {"process"}
    assert main(["dlq", "inspect", binding.dlq_topic, "--error-class", "Nope"]) == 0
    assert "0 entries" in capsys.readouterr().out

    assert main(["dlq", "replay", binding.dlq_topic, "--dry-run"]) == 0
    assert "would re-drive 2" in capsys.readouterr().out
    assert len(read_all(stack, binding.topic, expect=10)) == 10, "a dry run sends nothing"

    assert main(["dlq", "replay", binding.dlq_topic]) == 0  # the cause is fixed: re-drive
    assert "re-drove 2" in capsys.readouterr().out
    fixed: list[Received[dict[str, Any]]] = []
    open_consumer(stack.settings, binding, group, retry=policy).run(
        fixed.extend, idle_timeout=4, handle_signals=False
    )
    assert sorted(r.value["seq"] for r in fixed if r.value) == [3, 7], "only the re-driven ones are new"
    for r in fixed:
        headers = dict(r.headers or [])
        assert headers["trace"] == f"t{r.value['seq']}".encode(), "original headers travel with it"  # type: ignore[index]
        assert headers[REPLAY_HEADER].startswith(binding.dlq_topic.encode())

    assert main(["dlq", "replay", binding.dlq_topic]) == 0
    assert "re-drove 0" in capsys.readouterr().out, "a second replay re-drives nothing"


def test_rejected_json_entries_are_re_encoded_once_the_schema_fits(stack: StackHandle) -> None:
    binding = make_binding(stack, "reencode")
    with open_producer(stack.settings, binding, app="test") as producer:
        assert not producer.send({**event(1), "kind": "C"}, key="needs-C").accepted
        assert not producer.send({**event(2), "seq": "two"}, key="hopeless").accepted
        assert not producer.send({**event(3), "kind": "C"}, key="needs-C-too").accepted
    entries = list(read_entries(stack.settings, binding.dlq_topic))
    assert {e.letter.field_path for e in entries} == {"test.pipeline.Event.kind", "test.pipeline.Event.seq"}
    group = replay_group(binding.dlq_topic, {})

    before = replay(stack.settings, binding.dlq_topic, stack.registry(), dry_run=True)
    assert before.replayed == 0 and before.still_invalid == 3, "nothing fits the current schema yet"
    for _ in range(2):
        report = replay(stack.settings, binding.dlq_topic, stack.registry())
        assert report.replayed == 0 and report.still_invalid == 3, "each replay sees them again"
        assert committed(stack, group, binding.dlq_topic) == [0], "never committed past a still-invalid one"

    # The fix: a new (backward-compatible) version of the schema knows the symbol C.
    v2 = EVENT_SCHEMA.replace('"symbols":["A","B"]', '"symbols":["A","B","C"]')
    stack.registry_client().register_schema(binding.value.subject, Schema(v2, "AVRO"))
    report = replay(stack.settings, binding.dlq_topic, stack.registry())
    assert report.replayed == 2 and report.still_invalid == 1
    (problem,) = report.examples["still invalid"]
    assert problem.startswith(f"still invalid {binding.dlq_topic}[0]@1:")
    assert "Event.seq" in problem or "expected long" in problem
    assert committed(stack, group, binding.dlq_topic) == [1], "the commit waits at the hopeless one"

    from pipeline.kafka.binding import SchemaBinding, TopicBinding

    v2_binding = TopicBinding(binding.topic, SchemaBinding(binding.value.subject, v2), binding.dlq_topic)
    got: list[Received[dict[str, Any]]] = []
    open_consumer(stack.settings, v2_binding, stack.unique("v2")).run(
        got.extend, idle_timeout=4, handle_signals=False
    )
    assert [(r.key, r.value["kind"]) for r in got if r.value] == [("needs-C", "C"), ("needs-C-too", "C")]
    again = replay(stack.settings, binding.dlq_topic, stack.registry())
    assert again.replayed == 0 and again.still_invalid == 1 and again.earlier == 1, "nothing re-driven twice"
