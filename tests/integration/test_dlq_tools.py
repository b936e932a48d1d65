"""``pipeline dlq`` on the real stack, for what an outside review found: inspect streams and stops at
--limit, filters use the documented header names, a topic that is not a dead-letter topic is said to be
one, replay re-drives a consumer-side entry only once it decodes, summarises a dry run, batches without
committing what is not acknowledged, and a registry or cluster that cannot be used ends in one sentence
(exit 2) in well under 45 s."""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import os
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import fastavro
import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema

from pipeline.cli import main
from pipeline.codec import wire
from pipeline.dlq.envelope import DeadLetter, dead_letter_headers
from pipeline.dlq.tools import REPLAY_HEADER, replay, replay_group
from pipeline.errors import DeliveryError
from pipeline.kafka.binding import open_consumer
from pipeline.kafka.typed import Received
from tests.conftest import StackHandle
from tests.integration.pipelines import (
    EVENT_SCHEMA,
    OTHER_SCHEMA,
    committed,
    event,
    make_binding,
    read_all,
)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _own_log_and_no_catalog(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PIPELINE_LOG_FILE", str(tmp_path / "pipeline.log"))
    monkeypatch.chdir(tmp_path)  # no schemas/catalog.toml here: topic names are taken as they are


def _put(stack: StackHandle, dlq: str, letters: list[tuple[DeadLetter, bytes | None, bytes | None]]) -> None:
    """Dead letters written straight into ``dlq``, as a publisher would."""
    producer = Producer(stack.kafka_config(**{"acks": "all", "linger.ms": 20}))
    for letter, key, value in letters:
        producer.produce(dlq, key=key, value=value, headers=dead_letter_headers(letter))
        producer.poll(0)
    assert producer.flush(60) == 0


def _process(topic: str, i: int, error_class: str = "Rejected") -> DeadLetter:
    return DeadLetter(
        "process",
        error_class,
        f"handler refused {i}",
        original_topic=topic,
        original_partition=0,
        original_offset=i,
    )


def _avro(schema_text: str, datum: dict[str, object]) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(json.loads(schema_text)), datum)
    return buf.getvalue()


def _errors(err: str) -> list[str]:
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("error:")]


# -- inspect -------------------------------------------------------------------------------------------
def test_inspect_streams_and_stops_after_the_limit(
    stack: StackHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = stack.create_topic("inspect-big")
    dlq = stack.create_topic(f"{topic}.dlq")
    _put(stack, dlq, [(_process(topic, i), f"k{i}".encode(), b"v" * 20_000) for i in range(1000)])  # 20 MB

    started = time.monotonic()
    assert main(["dlq", "inspect", dlq, "--limit", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[2] for line in out[2:5]] == [f"{topic}[0]@{i}" for i in range(3)]
    assert out[5:] == [f"{dlq}: 3 entries (--limit 3: reading stopped there)"]
    assert time.monotonic() - started < 10

    tracemalloc.start()
    try:
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            assert main(["dlq", "inspect", dlq]) == 0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000, f"the 20 MB topic was gathered in memory (peak {peak} bytes)"

    assert main(["dlq", "inspect", dlq, "--limit", "2", "--format", "json"]) == 0
    assert [e["key"] for e in json.loads(capsys.readouterr().out)] == ["k0", "k1"]


def test_inspect_and_replay_filter_by_the_documented_header_names(
    stack: StackHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = stack.create_topic("filters")
    dlq = stack.create_topic(f"{topic}.dlq")
    amount = replace(_process(topic, 0), field_path="o.Order.amount")
    rejected = replace(
        _process(topic, 1), stage="serialize", error_class="InvalidRecordError", field_path="o.Order.kind"
    )
    _put(stack, dlq, [(amount, b"a", b"1"), (rejected, b"b", b"{}"), (_process(topic, 2), b"c", b"3")])

    for filters, keys in [
        (["--filter", "dlq.field.path=o.Order.amount"], ["a"]),
        (["--filter", "dlq.stage=serialize"], ["b"]),
        (["--filter", "dlq.error.class=Rejected", "--filter", "dlq.original.offset=2"], ["c"]),
        (["--filter", "field_path=o.Order.kind"], ["b"]),
        (["--error-class", "Rejected"], ["a", "c"]),
    ]:
        assert main(["dlq", "inspect", dlq, "--format", "json", *filters]) == 0
        assert [e["key"] for e in json.loads(capsys.readouterr().out)] == keys, filters

    assert main(["dlq", "inspect", dlq, "--filter", "dlq.error.class=Nope"]) == 0
    assert capsys.readouterr().out.strip() == f"{dlq}: 0 entries matching dlq.error.class=Nope"
    with pytest.raises(SystemExit) as caught:
        main(["dlq", "inspect", dlq, "--filter", "dlq.eror.class=Rejected"])
    assert caught.value.code == 2
    assert "use one of dlq.stage, dlq.error.class" in capsys.readouterr().err

    assert main(["dlq", "replay", dlq, "--dry-run", "--filter", "dlq.field.path=o.Order.amount"]) == 0
    out = capsys.readouterr().out
    assert "would re-drive 1," in out and "filtered out 2" in out
    assert main(["dlq", "replay", dlq, "--dry-run", "--stage", "process"]) == 0
    out = capsys.readouterr().out
    assert "would re-drive 2," in out
    assert f"(replay group {replay_group(dlq, {'dlq.stage': 'process'})})" in out, (
        "the same group by any name"
    )


def test_a_topic_that_is_not_a_dead_letter_topic_is_said_to_be_one(
    stack: StackHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = stack.create_topic("plain")
    producer = Producer(stack.kafka_config(**{"acks": "all"}))
    for i in range(5):
        producer.produce(plain, key=f"k{i}", value=b"data", headers=[("trace", b"t")])
    assert producer.flush(30) == 0

    for command in (["inspect"], ["replay", "--dry-run"], ["replay"]):
        assert main(["dlq", *command, plain]) == 1
        (error,) = _errors(capsys.readouterr().err)
        assert error == (
            f"error: {plain} is not a dead-letter topic: none of the 5 messages read from it carries a "
            f"dlq.stage header"
        )
    assert committed(stack, replay_group(plain, {}), plain) == [0], "nothing committed for it"

    missing = stack.unique("no-such-topic")
    for command in (["inspect"], ["replay"]):
        assert main(["dlq", *command, missing]) == 2
        (error,) = _errors(capsys.readouterr().err)
        assert error.startswith(f"error: topic {missing} does not exist on the cluster at ")

    empty = stack.create_topic("empty.dlq")
    assert main(["dlq", "inspect", empty]) == 0
    assert capsys.readouterr().out.strip() == f"{empty}: 0 entries", "an empty topic is an empty DLQ"


# -- replay --------------------------------------------------------------------------------------------
def test_deserialize_entries_are_re_driven_only_once_they_decode(
    stack: StackHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    binding = make_binding(stack, "redecode")
    client = stack.registry_client()
    good_id = client.lookup_schema(binding.value.subject, Schema(EVENT_SCHEMA, "AVRO")).schema_id
    other_id = client.register_schema(stack.unique("other") + "-value", Schema(OTHER_SCHEMA, "AVRO"))
    good = wire.frame(good_id, _avro(EVENT_SCHEMA, event(1)))
    poison = {
        b"k-magic": b"\x01" + good[1:],
        b"k-unknown": wire.frame(987654, good[5:]),
        b"k-truncated": good[:-3],
        b"k-other": wire.frame(other_id, _avro(OTHER_SCHEMA, {"x": 7})),
        b"\xff\xfe-not-utf8": good,
    }
    raw = Producer(stack.kafka_config(**{"acks": "all"}))
    for key, value in poison.items():
        raw.produce(binding.topic, key=key, value=value)
    assert raw.flush(30) == 0
    consumer = open_consumer(stack.settings, binding, stack.unique("redecode"))
    assert consumer.run(lambda batch: None, idle_timeout=4, handle_signals=False).dead_lettered == 5
    # An entry dead-lettered while the registry lacked its schema, which it has now.
    now_known = DeadLetter(
        "deserialize",
        "UnknownSchemaError",
        f"schema id {good_id} is not known to the registry",
        original_topic=binding.topic,
        original_partition=0,
        original_offset=99,
    )
    _put(stack, binding.dlq_topic, [(now_known, b"k-now-known", good)])

    assert main(["dlq", "replay", binding.dlq_topic, "-v"]) == 0
    out = capsys.readouterr().out
    assert "re-drove 1, still invalid 5," in out
    for reason in ("magic byte is 1", "schema id 987654", "ends inside a value", "still not valid UTF-8"):
        assert reason in out, reason
    assert out.count("still invalid " + binding.dlq_topic) == 5

    after = read_all(stack, binding.topic, expect=6)
    redriven = [m for m in after if dict(m.headers() or []).get(REPLAY_HEADER)]
    assert [m.key() for m in redriven] == [b"k-now-known"]
    again = open_consumer(stack.settings, binding, stack.unique("redecode-after"))
    got: list[Received[dict[str, object]]] = []
    stats = again.run(got.extend, idle_timeout=4, handle_signals=False)
    assert stats.dead_lettered == 5, "the five poison messages again, but not the re-driven one"
    assert [r.key for r in got] == ["k-now-known"]


def test_a_dry_run_summarises(stack: StackHandle, capsys: pytest.CaptureFixture[str]) -> None:
    topic = stack.create_topic("summary")
    dlq = stack.create_topic(f"{topic}.dlq")
    _put(
        stack,
        dlq,
        [(_process(topic, i, "Rejected" if i % 3 else "Timeout"), b"k", b"v") for i in range(300)],
    )
    assert main(["dlq", "replay", dlq, "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{dlq}: read 300, would re-drive 300, still invalid 0")
    assert "  would re-drive 200: stage process, Rejected" in lines
    assert "  would re-drive 100: stage process, Timeout" in lines
    assert len(lines) <= 8, lines

    assert main(["dlq", "replay", dlq, "--dry-run", "-v"]) == 0
    assert sum(line.startswith("  re-drive ") for line in capsys.readouterr().out.splitlines()) == 300
    assert len(read_all(stack, topic, expect=0, timeout=1)) == 0, "a dry run sends nothing"


def test_replay_commits_a_batch_only_once_every_message_of_it_is_acknowledged(stack: StackHandle) -> None:
    topic = stack.create_topic("batches")
    dlq = stack.create_topic(f"{topic}.dlq")
    nowhere = stack.unique("no-such-topic")  # auto-creation is off: a message for it is never acknowledged
    targets = [topic, topic, topic, nowhere, topic, topic]
    _put(stack, dlq, [(_process(t, i), f"k{i}".encode(), b"v") for i, t in enumerate(targets)])
    settings = replace(
        stack.settings, producer=replace(stack.settings.producer, delivery_timeout_ms=3000, linger_ms=5)
    )
    with pytest.raises(DeliveryError):
        replay(settings, dlq, stack.registry(), batch=2)
    assert committed(stack, replay_group(dlq, {}), dlq) == [2], "the first batch only"


def test_replay_is_batched(stack: StackHandle) -> None:
    topic = stack.create_topic("throughput")
    dlq = stack.create_topic(f"{topic}.dlq")
    count = 20_000
    _put(stack, dlq, [(_process(topic, i), f"k{i}".encode(), b"v" * 200) for i in range(count)])
    started = time.monotonic()
    report = replay(stack.settings, dlq, stack.registry())
    elapsed = time.monotonic() - started
    assert report.replayed == count
    assert count / elapsed > 3000, f"{count / elapsed:.0f} entries/s (one flush per entry did about 1,300)"
    assert committed(stack, replay_group(dlq, {}), dlq) == [count]


# -- a registry or a cluster that cannot be used -------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _registry(kind: str) -> Iterator[str]:
    """The URL of a registry that is down, answers 404 or 401 to everything, or never answers."""
    if kind == "down":
        yield f"http://127.0.0.1:{_free_port()}"
        return
    if kind == "hung":
        with socket.socket() as hung:
            hung.bind(("127.0.0.1", 0))
            hung.listen(16)  # connections are accepted by the kernel, never answered
            yield f"http://127.0.0.1:{hung.getsockname()[1]}/apis/ccompat/v7"
        return
    status, body, kind_ = (
        (404, b"<html>Not Found</html>", "text/html")
        if kind == "404"
        else (401, b'{"error_code": 40101, "message": "Unauthorized"}', "application/json")
    )

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind_)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/apis/ccompat/v7"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("kind", ["down", "404", "401", "hung"])
def test_replay_with_a_registry_that_cannot_be_used_ends_in_one_sentence(
    kind: str, stack: StackHandle, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    binding = make_binding(stack, f"noregistry-{kind}")
    client = stack.registry_client()
    good_id = client.lookup_schema(binding.value.subject, Schema(EVENT_SCHEMA, "AVRO")).schema_id
    letter = DeadLetter("deserialize", "UnknownSchemaError", "unknown", original_topic=binding.topic)
    _put(stack, binding.dlq_topic, [(letter, b"k", wire.frame(good_id, _avro(EVENT_SCHEMA, event(1))))])

    with _registry(kind) as url:
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", stack.bootstrap_servers)
        monkeypatch.setenv("SCHEMA_REGISTRY_URL", url)
        monkeypatch.setenv("SCHEMA_REGISTRY_BASIC_AUTH", "svc:s3cret-pw")
        started = time.monotonic()
        code = main(["dlq", "replay", binding.dlq_topic])
        elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    assert code == 2
    (error,) = _errors(captured.err)
    assert url.split("/apis")[0] in error and "s3cret-pw" not in captured.err + captured.out
    assert f"the replay of {binding.dlq_topic} stopped there, after re-driving 0 entries" in error
    assert elapsed < 45, f"{elapsed:.0f} s"
    assert committed(stack, replay_group(binding.dlq_topic, {}), binding.dlq_topic) == [0]


@pytest.mark.parametrize("command", [["inspect"], ["replay"]])
def test_an_unreachable_cluster_ends_in_one_sentence(
    command: list[str],
    stack: StackHandle,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bootstrap = f"127.0.0.1:{_free_port()}"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", stack.registry_url)
    started = time.monotonic()
    assert main(["dlq", *command, "orders.dlq"]) == 2
    elapsed = time.monotonic() - started
    (error,) = _errors(capsys.readouterr().err)
    assert error.startswith(
        f"error: the Kafka cluster at {bootstrap} did not answer (looking up topic orders.dlq"
    )
    assert elapsed < 45, f"{elapsed:.0f} s"
