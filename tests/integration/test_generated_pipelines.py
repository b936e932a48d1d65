"""Generated typed pipelines on the real stack, for every topic of the shipped catalog and for generated
schemas: records (every field exercised, optional fields set and unset, referenced types included) go
through the generated producer, Kafka and the generated consumer, and through confluent-kafka's
``AvroSerializer`` / ``AvroDeserializer`` in both directions. No valid record reaches a dead-letter
queue. Also the main job itself (``pipeline run``)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import fastavro
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema, SchemaReference
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.app.samples import SampleGenerator
from pipeline.avro import Fixed
from pipeline.cli import main
from pipeline.codec import Encoder
from pipeline.codec.convert import Converter
from pipeline.codegen import generate, module_name, write
from pipeline.config import deserializer_config, librdkafka_config, serde_config
from pipeline.kafka.binding import registry_client
from pipeline.kafka.topics import ensure_topics
from pipeline.kafka.typed import Received
from pipeline.registry.client import RegistryClient
from pipeline.registry.register import register_schemas
from pipeline.registry.serde import SchemaResolver
from pipeline.schema import load_catalog
from tests.conftest import StackHandle
from tests.generative.schemas import SchemaCase, schema_cases
from tests.generative.values import same, untagged, values, walk
from tests.integration.pipelines import read_all
from tests.unit.codegen.test_generate import load_package
from tests.unit.codegen.test_generate_any_schema import write_catalog

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RECORDS = 200


def provision(stack: StackHandle, schemas: Path, out: Path) -> ModuleType:
    """Register and create what ``schemas`` declares, generate its package and import it."""
    catalog = load_catalog(schemas)
    with RegistryClient(stack.settings.registry) as registry:
        report = register_schemas(catalog, registry)
        assert report.ok, report
    assert ensure_topics(catalog, AdminClient(librdkafka_config(stack.settings.kafka))).ok
    write(generate(catalog), out)
    return load_package(out)


@pytest.fixture(scope="module")
def shipped(
    stack: StackHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ModuleType, dict[str, str]]]:
    """The shipped catalog with every topic renamed to a unique one (same schemas, same subjects for
    the shared types): generated, registered and provisioned for real."""
    schemas = tmp_path_factory.mktemp("schemas")
    for path in (ROOT / "schemas").glob("*.avsc"):
        shutil.copy(path, schemas / path.name)
    text = (ROOT / "schemas" / "catalog.toml").read_text()
    names = ("orders", "payments", "customers", "shipments", "customer-activity")
    topics = {name: stack.unique(name) for name in names}
    for name, unique in topics.items():
        text = text.replace(f"[topics.{name}]", f'[topics."{unique}"]')
        text = re.sub(rf'^(input|output) = "{name}"', rf'\1 = "{unique}"', text, flags=re.MULTILINE)
    (schemas / "catalog.toml").write_text(text)
    yield provision(stack, schemas, tmp_path_factory.mktemp("generated")), topics


def _send_and_receive(
    stack: StackHandle, module: ModuleType, records: list[Any]
) -> tuple[list[Received[Any]], Any]:
    fn = module_name(module.BINDING.topic)
    with getattr(module, f"open_{fn}_producer")(stack.settings) as producer:
        for i, record in enumerate(records):
            result = producer.send(record, key=f"k{i}")
            assert result.accepted, result.error
    assert producer.rejected == 0
    got: list[Received[Any]] = []
    consumer = getattr(module, f"open_{fn}_consumer")(stack.settings, stack.unique("typed"))
    stats = consumer.run(got.extend, max_messages=len(records), idle_timeout=30, handle_signals=False)
    return got, stats


@pytest.mark.parametrize("topic", ["orders", "payments", "customers"])
def test_every_catalog_topic_round_trips_typed_with_nothing_dead_lettered(
    stack: StackHandle, shipped: tuple[ModuleType, dict[str, str]], topic: str
) -> None:
    package, topics = shipped
    module = getattr(package, module_name(topics[topic]))
    schema = module.BINDING.value.parsed()
    generator = SampleGenerator(schema, module.BINDING.classes, seed=7, run_id="it")
    records = [generator.record(i) for i in range(RECORDS)]
    got, stats = _send_and_receive(stack, module, records)
    assert stats.dead_lettered == 0, "a valid record was dead-lettered"
    assert {r.key: r.value for r in got} == {f"k{i}": record for i, record in enumerate(records)}
    if topic == "payments":  # the fields the outside test found dead-lettered: set and unset here
        addresses = [r.billing_address for r in records]
        assert any(a is None for a in addresses) and any(a is not None for a in addresses)
    if topic == "customers":
        limits = [r.credit_limit for r in records]
        assert any(c is None for c in limits) and any(c is not None for c in limits)


def test_a_keyed_topic_of_several_event_types_round_trips_typed(
    stack: StackHandle, shipped: tuple[ModuleType, dict[str, str]]
) -> None:
    package, topics = shipped
    module = getattr(package, module_name(topics["shipments"]))
    binding = module.BINDING
    values = SampleGenerator(binding.value_schema(), binding.classes, seed=3, run_id="it")
    keys = SampleGenerator(binding.key.parsed(), binding.classes, seed=4, run_id="it")
    sent = [(keys.record(i), values.record(i)) for i in range(90)]
    assert {type(v) for _, v in sent} == {
        module.ShipmentCreated,
        module.ShipmentDispatched,
        module.ShipmentDelivered,
    }
    fn = module_name(binding.topic)
    with getattr(module, f"open_{fn}_producer")(stack.settings) as producer:
        for key, value in sent:
            assert producer.send(value, key=key).accepted
        bad_key = module.ShipmentKey(shipment_id=sent[0][0].shipment_id, carrier=5)
        refused_key = producer.send(sent[0][1], key=bad_key)
        not_an_event = producer.send(sent[0][0], key=sent[0][0])  # a key is none of the event types
    assert not refused_key.accepted and "carrier" in (refused_key.error.field_path or "")
    assert not not_an_event.accepted and "none of this topic's types" in str(not_an_event.error)
    assert producer.rejected == 2

    got: list[Received[Any]] = []
    consumer = getattr(module, f"open_{fn}_consumer")(stack.settings, stack.unique("shipments"))
    stats = consumer.run(got.extend, max_messages=len(sent), idle_timeout=30, handle_signals=False)
    assert stats.dead_lettered == 0
    assert all(type(r.key) is module.ShipmentKey for r in got)
    assert sorted(repr((r.key, r.value)) for r in got) == sorted(repr(pair) for pair in sent)
    letters = read_all(stack, binding.dlq_topic, expect=2)
    paths = [dict(m.headers() or []).get("dlq.field.path") for m in letters]
    assert any(p and b"carrier" in p for p in paths)

    # each event type is its own subject, and confluent-kafka's deserializer reads every one of ours
    client = stack.registry_client()
    names = ("ShipmentCreated", "ShipmentDispatched", "ShipmentDelivered", "ShipmentKey")
    with RegistryClient(stack.settings.registry) as registry:  # (the subject list is paged on Apicurio)
        assert all(registry.versions(f"{binding.topic}-com.example.shipments.{name}") for name in names)
    deserializer = AvroDeserializer(client, conf=deserializer_config())
    ctx = SerializationContext(binding.topic, MessageField.VALUE)
    raw = read_all(stack, binding.topic, expect=len(sent))
    theirs = [deserializer(m.value(), ctx) for m in raw]
    assert sorted(map(str, theirs)) == sorted(
        str(untagged(Converter(binding.value_schema(), binding.classes).to_generic(v))) for _, v in sent
    )


@pytest.mark.parametrize("topic", ["orders", "payments", "customers"])
def test_confluent_serdes_read_ours_and_we_read_theirs(
    stack: StackHandle, shipped: tuple[ModuleType, dict[str, str]], topic: str
) -> None:
    package, topics = shipped
    module = getattr(package, module_name(topics[topic]))
    _interop(stack, module, seed=11)


def _interop(stack: StackHandle, module: ModuleType, seed: int, records: list[Any] | None = None) -> None:
    binding = module.BINDING
    schema = binding.value.parsed()
    convert = Converter(schema, binding.classes)
    client = stack.registry_client()  # confluent-kafka's, as their serdes take it
    ctx = SerializationContext(binding.topic, MessageField.VALUE)
    if records is None:
        generator = SampleGenerator(schema, binding.classes, seed=seed, run_id="interop")
        records = [generator.record(i) for i in range(50)]
    fn = module_name(binding.topic)

    # ours -> Kafka -> confluent-kafka's AvroDeserializer
    with getattr(module, f"open_{fn}_producer")(stack.settings) as producer:
        for i, record in enumerate(records):
            assert producer.send(record, key=f"ours-{i}").accepted
    raw = [m for m in read_all(stack, binding.topic, expect=len(records)) if m.key().startswith(b"ours-")]
    deserializer = AvroDeserializer(client, conf=deserializer_config())

    def generic(data: bytes) -> Any:
        return deserializer(data, ctx)

    readable = {i for i, record in enumerate(records) if len(binding_bytes(module, record)) > 5}
    theirs = {msg.key().decode(): generic(msg.value()) for msg in raw if int(msg.key()[5:]) in readable}
    # confluent-kafka reads generic values (a union member untagged): compare in that form
    assert theirs.keys() == {f"ours-{i}" for i in readable}
    assert all(same(theirs[f"ours-{i}"], untagged(convert.to_generic(records[i]))) for i in readable)

    # confluent-kafka's AvroSerializer (the schema as registered, with its references) -> Kafka -> ours
    _, refs = binding.value.registered(SchemaResolver(registry_client(stack.settings)))
    registered = Schema(
        binding.value.schema_text, "AVRO", [SchemaReference(r.name, r.subject, r.version) for r in refs]
    )
    serializer = AvroSerializer(
        client, registered, to_dict=lambda value, _ctx: convert.to_generic(value), conf=serde_config()
    )
    producer = Producer(stack.kafka_config(**{"acks": "all", "enable.idempotence": True}))
    for i, record in enumerate(records):
        data = serializer(record, ctx)
        producer.produce(binding.topic, key=f"theirs-{i}", value=data)
    assert producer.flush(30) == 0
    got: list[Received[Any]] = []
    consumer = getattr(module, f"open_{fn}_consumer")(stack.settings, stack.unique("interop"))
    stats = consumer.run(got.extend, idle_timeout=8, handle_signals=False)
    assert stats.dead_lettered == 0
    from_theirs = {r.key: r.value for r in got if r.key.startswith("theirs-")}
    assert from_theirs.keys() == {f"theirs-{i}" for i in range(len(records))}
    assert all(same(from_theirs[f"theirs-{i}"], record) for i, record in enumerate(records))


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.data(), schema_cases(strict=True, max_depth=2))
def test_generated_schemas_round_trip_through_kafka_and_confluent(
    stack: StackHandle, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject, case: SchemaCase
) -> None:
    root = tmp_path_factory.mktemp("case")
    write_catalog(case, root / "schemas")
    topic = stack.unique("generated")
    # Each example's shared types are subjects named after them on one registry: a later example may
    # give a name another shape, so these subjects take any new version (the gate is tested elsewhere).
    catalog = (
        (root / "schemas" / "catalog.toml")
        .read_text()
        .replace("[topics.anything]", f'[defaults]\ncompatibility = "NONE"\n[topics."{topic}"]')
    )
    (root / "schemas" / "catalog.toml").write_text(catalog)
    package = provision(stack, root / "schemas", root / "out")
    module = getattr(package, module_name(topic))
    schema = module.BINDING.value.parsed()
    records = [data.draw(values(schema, module.BINDING.classes)) for _ in range(5)]
    got, stats = _send_and_receive(stack, module, records)
    assert stats.dead_lettered == 0
    by_key = {r.key: r.value for r in got}
    assert all(same(by_key[f"k{i}"], record) for i, record in enumerate(records))
    if _fastavro_takes(module):  # confluent-kafka's serdes are fastavro inside
        _interop(stack, module, seed=0, records=records)


def binding_bytes(module: ModuleType, record: Any) -> bytes:
    """The framed bytes our writer makes of ``record`` (schema id 0): confluent-kafka's deserializer
    refuses a message of 5 bytes, i.e. a record whose Avro body is empty."""
    binding = module.BINDING
    return b"\0" * 5 + Encoder(binding.value.parsed(), binding.classes).encode(record)


def _fastavro_takes(module: ModuleType) -> bool:
    """Whether confluent-kafka's serdes (fastavro inside) can take the schema: fastavro refuses some that
    Avro accepts (an int default for a float field), has no uuid on fixed (Avro 1.12), and confluent-kafka
    2.16's parser of referenced schemas fails on some (a TypeError inside fastavro.load_schema)."""
    binding = module.BINDING.value
    text = binding.resolved_text or binding.schema_text
    if any(
        isinstance(n, Fixed) and n.logical is not None and n.logical.name == "uuid"
        for n in walk(binding.parsed())
    ):
        return False
    try:
        fastavro.parse_schema(json.loads(text))
        if binding.references:
            from confluent_kafka.schema_registry.common.avro import parse_schema_with_repo

            named = {name: json.loads(ref.schema_text) for name, ref in binding.references}
            parse_schema_with_repo(binding.schema_text, named_schemas=named)
    except Exception:
        return False
    return True


def test_run_pipeline_balances_per_topic_and_writes_its_summary(stack: StackHandle, tmp_path: Path) -> None:
    summary_file = tmp_path / "summary.json"
    code = main(["run", "-n", "1500", "--summary-json", str(summary_file), "--group", stack.unique("run")])
    summary = json.loads(summary_file.read_text())
    assert code == 0
    assert set(summary["topics"]) >= {"orders", "payments", "customers"}
    for name, topic in summary["topics"].items():
        assert topic["produced"] == 1500, name
        assert topic["produced"] == topic["consumed"] + topic["dlq"], name
        assert topic["lag"] == 0, name
    assert summary["produced"] == sum(t["produced"] for t in summary["topics"].values())
    assert summary["dlq"] > 0, "the default poison rate exercises the dead-letter path"
    assert summary["produce_msgs_per_s"] > 0 and summary["consume_msgs_per_s"] > 0
    assert sum(summary["by_status"].values()) == summary["topics"]["orders"]["consumed"]
