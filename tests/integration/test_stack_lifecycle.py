"""The embedded stack's own lifecycle, on a second stack with its own ports and state directory (so the
shared one under test is never disturbed): reuse, restart with data kept, and its error paths."""

from __future__ import annotations

import dataclasses
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import DeserializingConsumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from pipeline.config import StackSettings, deserializer_config, serde_config
from pipeline.errors import ComponentFailedError, PortInUseError
from pipeline.stack import EmbeddedStack
from pipeline.stack.process import port_is_open

pytestmark = pytest.mark.integration

SCHEMA = '{"type":"record","name":"Kept","namespace":"test.lifecycle","fields":[{"name":"n","type":"long"}]}'


def _free_ports(count: int) -> list[int]:
    """``count`` different ports nothing listens on (all held while choosing, so none repeats)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _config(state_dir: Path, **changes: Any) -> StackSettings:
    kafka_port, controller_port, registry_port = _free_ports(3)
    settings = StackSettings(
        state_dir=state_dir,
        kafka_port=kafka_port,
        controller_port=controller_port,
        registry_port=registry_port,
        kafka_heap_mb=384,
        registry_heap_mb=384,
    )
    return dataclasses.replace(settings, **changes)


def _assert_nothing_left(stack: EmbeddedStack) -> None:
    """No process of this stack runs, and none of its ports is listened on."""
    assert [component.state for component in stack.status()] == ["stopped", "stopped"]
    config = stack.config
    ports = {
        "kafka": config.kafka_port,
        "controller": config.controller_port,
        "registry": config.registry_port,
    }
    assert not [name for name, port in ports.items() if port_is_open(port)], "a port is still listened on"


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
    assert "kafka-1" not in again, "a reused stack starts nothing"

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

    assert sorted(stack.down()) == ["kafka-1", "registry"]
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
            PortInUseError, match=rf"kafka-1: port {config.kafka_port} on 127.0.0.1 is already in use"
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
        _assert_nothing_left(stack)
    finally:
        stack.down()
    error = info.value
    assert error.component == "kafka-1"
    assert error.log_path.endswith("kafka.log")
    assert error.log_tail, "the error carries the component's last log lines"
    assert "last lines of" in str(error)
    assert any("data" in line for line in error.log_tail)


FAKE_REGISTRY_JAVA = """#!{python}
import socket, sys, time
deadline, up = time.monotonic() + 60, False
while not up and time.monotonic() < deadline:
    with socket.socket() as probe:
        up = probe.connect_ex(("127.0.0.1", {kafka_port})) == 0
    time.sleep(0.2)
print(f"fake java: no registry here (Kafka listening: {{up}})", file=sys.stderr)
sys.exit(1)
"""


def test_a_registry_that_fails_to_start_leaves_no_kafka_running(tmp_path: Path) -> None:
    # The registry's JDK 21 is a script that waits until Kafka listens, then exits: a half-started stack.
    fake = tmp_path / "fake-jdk"
    (fake / "bin").mkdir(parents=True)
    (fake / "release").write_text('JAVA_VERSION="21.0.1"\n')
    config = _config(tmp_path / "stack", registry_java_home=fake)
    java = fake / "bin" / "java"
    java.write_text(FAKE_REGISTRY_JAVA.format(python=sys.executable, kafka_port=config.kafka_port))
    java.chmod(0o755)
    stack = EmbeddedStack(config)
    said: list[str] = []
    try:
        with pytest.raises(ComponentFailedError, match=r"^registry exited during start") as info:
            stack.up(progress=said.append)
        assert "fake java: no registry here (Kafka listening: True)" in info.value.log_tail
        assert said[-1] == "the stack did not come up: stopped kafka-1 again"
        _assert_nothing_left(stack)
    finally:
        stack.down()


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
