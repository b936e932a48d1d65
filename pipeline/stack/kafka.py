"""One Apache Kafka node in KRaft mode (broker and controller in one process) on 127.0.0.1."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

__all__ = ["broker_argv", "ensure_formatted", "server_properties"]

LOG4J2 = """\
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
"""


def server_properties(port: int, controller_port: int, data_dir: Path) -> str:
    """A single-node configuration on which idempotent producers, consumer groups and transactions
    work: every internal topic has replication factor 1 and min ISR 1."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def _cluster_id() -> str:
    # Kafka's Uuid.toString(): url-safe base64 of 16 random bytes, unpadded, never starting with '-'.
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def ensure_formatted(java: Path, lib: Path, properties: Path, state: Path, log_file: Path) -> str | None:
    """Format the storage once with Kafka's own StorageTool. Returns None on success, else its output."""
    id_file = state / "cluster.id"
    if not id_file.exists():
        id_file.write_text(_cluster_id() + "\n")
    cluster_id = id_file.read_text().strip()
    argv = [
        str(java), "-cp", f"{lib}/*", "kafka.tools.StorageTool", "format",
        "-t", cluster_id, "-c", str(properties), "--ignore-formatted",
    ]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    with log_file.open("a", encoding="utf-8") as log:
        log.write(result.stdout + result.stderr)
    return None if result.returncode == 0 else (result.stdout + result.stderr)


def broker_argv(java: Path, lib: Path, properties: Path, log4j: Path, marker: str, heap_mb: int) -> list[str]:
    return [
        str(java),
        f"-Xms{heap_mb // 2}m",
        f"-Xmx{heap_mb}m",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
        marker,
        "-cp",
        f"{lib}/*",
        "kafka.Kafka",
        str(properties),
    ]
