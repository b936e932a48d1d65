"""The embedded stack's own lifecycle, on a second stack with its own ports and state directory (so the
shared one under test is never disturbed): reuse, restart with data kept, and its error paths."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import DeserializingConsumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from pipeline.config import StackSettings, deserializer_config, serde_config
from pipeline.errors import ComponentFailedError, PortInUseError
from pipeline.stack import EmbeddedStack

pytestmark = pytest.mark.integration

SCHEMA = '{"type":"record","name":"Kept","namespace":"test.lifecycle","fields":[{"name":"n","type":"long"}]}'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(state_dir: Path) -> StackSettings:
    return StackSettings(
        state_dir=state_dir,
        kafka_port=_free_port(),
        controller_port=_free_port(),
        registry_port=_free_port(),
        kafka_heap_mb=384,
        registry_heap_mb=384,
    )


@pytest.fixture
def second_stack(tmp_path: Path) -> Iterator[EmbeddedStack]:
    stack = EmbeddedStack(_config(tmp_path / "stack"))
    yield stack
    stack.down(purge=True)


def test_up_reuses_restart_keeps_schemas_and_messages(second_stack: EmbeddedStack) -> None:
    stack = second_stack
    first = stack.up()
    pids = [component.pid for component in stack.status()]
    assert all(component.ready for component in stack.status())

    again = stack.up()
    assert [component.pid for component in stack.status()] == pids, "second `up` must reuse the stack"
    assert again["total"] < first["total"]
    assert "kafka" not in again, "a reused stack starts nothing"

    kafka_conf = {"bootstrap.servers": stack.bootstrap_servers}
    admin = AdminClient(kafka_conf)
    admin.create_topics([NewTopic("kept", num_partitions=1, replication_factor=1)])["kept"].result(30)
    registry = SchemaRegistryClient({"url": stack.registry_url})
    schema_id = registry.register_schema("kept-value", Schema(SCHEMA, "AVRO"))
    value = AvroSerializer(registry, SCHEMA, conf=serde_config())(
        {"n": 42}, SerializationContext("kept", MessageField.VALUE)
    )
    producer = Producer({**kafka_conf, "acks": "all", "enable.idempotence": True})
    producer.produce("kept", value=value)
    assert producer.flush(30) == 0

    assert sorted(stack.down()) == ["kafka", "registry"]
    assert [component.state for component in stack.status()] == ["stopped", "stopped"]
    assert stack.down() == [], "a second `down` has nothing of ours to stop"

    stack.up()
    fresh = SchemaRegistryClient({"url": stack.registry_url})  # no cached schemas
    assert fresh.get_schema(schema_id).schema_str is not None
    consumer = DeserializingConsumer(
        {
            **kafka_conf,
            "group.id": "after-restart",
            "auto.offset.reset": "earliest",
            "value.deserializer": AvroDeserializer(fresh, conf=deserializer_config()),
        }
    )
    consumer.subscribe(["kept"])
    deadline, msg = time.monotonic() + 30, None
    try:
        while msg is None and time.monotonic() < deadline:
            candidate = consumer.poll(0.5)
            if candidate is not None and not candidate.error():
                msg = candidate
    finally:
        consumer.close()
    assert msg is not None, "the message written before the restart is still there"
    assert msg.value() == {"n": 42}


def test_port_taken_by_another_process_is_reported(tmp_path: Path) -> None:
    config = _config(tmp_path / "stack")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", config.kafka_port))
        squatter.listen()
        with pytest.raises(
            PortInUseError, match=rf"kafka: port {config.kafka_port} on 127.0.0.1 is already in use"
        ):
            EmbeddedStack(config).up()
    assert EmbeddedStack(config).status()[0].state == "stopped"


def test_component_that_fails_to_start_reports_its_log_tail(tmp_path: Path) -> None:
    config = _config(tmp_path / "stack")
    data = config.state_dir / "kafka" / "data"
    data.parent.mkdir(parents=True)
    data.write_text("not a directory\n")  # Kafka cannot use a file as its log dir
    stack = EmbeddedStack(config)
    try:
        with pytest.raises(ComponentFailedError) as info:
            stack.up()
    finally:
        stack.down()
    error = info.value
    assert error.component == "kafka"
    assert error.log_path.endswith("kafka.log")
    assert error.log_tail, "the error carries the component's last log lines"
    assert "last lines of" in str(error)
    assert any("data" in line for line in error.log_tail)


def test_maven_failing_to_resolve_is_reported(tmp_path: Path) -> None:
    from pipeline.errors import ArtifactError
    from pipeline.stack import artifacts

    pom = tmp_path / "pom.xml"
    pom.write_text(artifacts.POM.read_text().replace("<kafka.version>", "<kafka.version>0.0.0-no-such-"))
    with pytest.raises(
        ArtifactError, match=r"Maven could not resolve the stack's artifacts .*0\.0\.0-no-such-"
    ):
        artifacts.resolve(tmp_path / "cache", pom=pom)
    assert not (tmp_path / "cache" / "kafka-0.0.0-no-such-4.3.1" / ".complete").exists()
