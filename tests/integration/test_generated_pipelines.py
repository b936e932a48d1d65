"""Generated typed pipelines on the real stack: every Avro type round-trips as typed objects through
Kafka, our bytes decode with confluent-kafka's AvroDeserializer, and its AvroSerializer's bytes decode
into typed objects. Also the main job itself (``pipeline run``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from pipeline.bootstrap import register_schemas
from pipeline.catalog import load_catalog
from pipeline.cli import main
from pipeline.codegen import generate, write
from pipeline.config import deserializer_config, librdkafka_config, serde_config
from pipeline.provisioning import ensure_topics
from pipeline.registry import RegistryClient
from pipeline.topic import Received
from tests.conftest import StackHandle
from tests.unit.codegen.test_generate import CATALOG, EVERYTHING, _load, typed

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def generated(stack: StackHandle, tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The Everything schema on a unique topic: generated, registered and provisioned for real."""
    topic = stack.unique("everything")
    schemas = tmp_path_factory.mktemp("schemas")
    (schemas / "catalog.toml").write_text(CATALOG.replace("[topics.everything]", f'[topics."{topic}"]'))
    shutil.copy(EVERYTHING, schemas / "test.types.Everything.avsc")
    catalog = load_catalog(schemas)
    with RegistryClient(stack.settings.registry) as registry:
        assert register_schemas(catalog, registry).ok
    assert ensure_topics(catalog, AdminClient(librdkafka_config(stack.settings.kafka))).ok
    out = tmp_path_factory.mktemp("generated")
    write(generate(catalog), out)
    (module_file,) = [p for p in out.glob("*.py") if p.name != "__init__.py"]
    return _load(module_file, f"generated_{module_file.stem}")


def _untag(value: Any) -> Any:
    """Our datums carry named union members as (name, datum); confluent-kafka's carry the datum."""
    if isinstance(value, tuple):
        return _untag(value[1])
    if isinstance(value, dict):
        return {k: _untag(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untag(v) for v in value]
    return value


def test_typed_round_trip_through_kafka(stack: StackHandle, generated: ModuleType) -> None:
    m = generated
    fn = m.__all__[-1].removeprefix("open_").removesuffix("_producer")
    open_producer, open_consumer = getattr(m, f"open_{fn}_producer"), getattr(m, f"open_{fn}_consumer")
    sent = [typed(m, i) for i in range(30)]
    with open_producer(stack.settings) as producer:
        for i, record in enumerate(sent):
            assert producer.send(record, key=f"k{i}").accepted
    got: list[Received[Any]] = []
    consumer = open_consumer(stack.settings, stack.unique("typed"))
    consumer.run(got.extend, max_messages=len(sent), idle_timeout=20, handle_signals=False)
    by_key = {r.key: r.value for r in got}  # two partitions: order holds per key, not overall
    assert by_key == {f"k{i}": record for i, record in enumerate(sent)}
    assert all(isinstance(r.value, m.Everything) for r in got)


def test_our_bytes_decode_with_confluent_and_theirs_with_ours(
    stack: StackHandle, generated: ModuleType
) -> None:
    m = generated
    binding = m.BINDING
    client = stack.registry_client()
    ctx = SerializationContext(binding.topic, MessageField.VALUE)
    fn = m.__all__[-1].removeprefix("open_").removesuffix("_producer")

    # ours -> Kafka -> confluent-kafka's AvroDeserializer
    with getattr(m, f"open_{fn}_producer")(stack.settings) as producer:
        for i in range(3):
            producer.send(typed(m, i), key=f"ours-{i}")
    from tests.integration.pipelines import read_all

    raw = read_all(stack, binding.topic, expect=3)
    ours = {msg.key(): msg.value() for msg in raw if msg.key() and msg.key().startswith(b"ours-")}
    theirs = {
        key: _normalise(AvroDeserializer(client, conf=deserializer_config())(value, ctx))
        for key, value in ours.items()
    }
    assert theirs == {f"ours-{i}".encode(): _normalise(_untag(typed(m, i).to_avro())) for i in range(3)}

    # confluent-kafka's AvroSerializer -> Kafka -> our generated consumer
    serializer = AvroSerializer(client, binding.value.schema_text, conf=serde_config())
    producer = Producer(stack.kafka_config(**{"acks": "all", "enable.idempotence": True}))
    for i in range(3):
        producer.produce(
            binding.topic, key=f"theirs-{i}", value=serializer(_untag(typed(m, i).to_avro()), ctx)
        )
    assert producer.flush(30) == 0
    got: list[Received[Any]] = []
    consumer = getattr(m, f"open_{fn}_consumer")(stack.settings, stack.unique("interop"))
    consumer.run(got.extend, idle_timeout=6, handle_signals=False)
    from_theirs = {r.key: r.value for r in got if r.key.startswith("theirs-")}
    assert from_theirs == {f"theirs-{i}": typed(m, i) for i in range(3)}


def _normalise(datum: dict[str, Any]) -> dict[str, Any]:
    return {**datum, "id": str(datum["id"])}


def test_run_pipeline_balances_and_writes_its_summary(stack: StackHandle, tmp_path: Path) -> None:
    summary_file = tmp_path / "summary.json"
    code = main(["run", "-n", "3000", "--summary-json", str(summary_file), "--group", stack.unique("run")])
    summary = json.loads(summary_file.read_text())
    assert code == 0
    assert summary["produced"] == 3000
    assert summary["produced"] == summary["consumed"] + summary["dlq"]
    assert summary["dlq"] > 0, "the default poison rate exercises the dead-letter path"
    assert summary["lag"] == 0
    assert summary["produce_msgs_per_s"] > 0 and summary["consume_msgs_per_s"] > 0
    assert sum(summary["by_status"].values()) == summary["consumed"]
