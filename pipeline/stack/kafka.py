"""Apache Kafka nodes in KRaft mode (broker and controller in one process each) on 127.0.0.1."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

__all__ = ["broker_argv", "cluster_id", "ensure_formatted", "server_properties"]

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


def server_properties(node_id: int, port: int, voters: list[tuple[int, int]], data_dir: Path) -> str:
    """One node of a KRaft quorum of ``voters`` (node id, controller port), broker and controller in
    one process, on which idempotent producers, consumer groups and transactions work.

    One node: every topic and internal topic has replication factor 1 and min ISR 1. Three (or more):
    replication factor 3 and min ISR 2 for every topic and internal topic, so one node may be down
    without any acks=all write stopping; a dead node is fenced after 6 s (Kafka's default is 9 s),
    which moves its partitions' leadership sooner.
    """
    controller_port = dict(voters)[node_id]
    replicas, min_isr = (1, 1) if len(voters) == 1 else (min(3, len(voters)), 2)
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": ",".join(f"{n}@127.0.0.1:{cport}" for n, cport in voters),
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "default.replication.factor": str(replicas),
        "min.insync.replicas": str(min_isr),
        "offsets.topic.replication.factor": str(replicas),
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": str(replicas),
        "transaction.state.log.min.isr": str(min_isr),
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": str(replicas),
        "share.coordinator.state.topic.min.isr": str(min_isr),
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
    }
    if len(voters) > 1:
        settings["broker.session.timeout.ms"] = "6000"
        settings["broker.heartbeat.interval.ms"] = "1000"
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def cluster_id(id_file: Path) -> str:
    """The cluster's id, made once and kept in ``id_file``; every node is formatted with it."""
    if not id_file.exists():
        id_file.parent.mkdir(parents=True, exist_ok=True)
        id_file.write_text(_new_cluster_id() + "\n")
    return id_file.read_text().strip()


def _new_cluster_id() -> str:
    # Kafka's Uuid.toString(): url-safe base64 of 16 random bytes, unpadded, never starting with '-'.
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def ensure_formatted(java: Path, lib: Path, properties: Path, cluster: str, log_file: Path) -> str | None:
    """Format the storage once with Kafka's own StorageTool. Returns None on success, else its output."""
    argv = [
        str(java), "-cp", f"{lib}/*", "kafka.tools.StorageTool", "format",
        "-t", cluster, "-c", str(properties), "--ignore-formatted",
    ]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    log_file.parent.mkdir(parents=True, exist_ok=True)
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
