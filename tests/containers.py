"""The same stack as the embedded one, from containers (PIPELINE_STACK=testcontainers): Apache Kafka in
KRaft mode and Confluent Schema Registry on one Docker network. Needs a Docker engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.errors import StackError


@contextmanager
def confluent_stack() -> Iterator[tuple[str, str]]:
    try:
        import docker
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.network import Network
        from testcontainers.core.waiting_utils import wait_for_logs
        from testcontainers.kafka import KafkaContainer
    except ImportError as exc:
        raise StackError("PIPELINE_STACK=testcontainers needs `pip install -e .[containers]`") from exc
    try:
        docker.from_env().ping()
    except Exception as exc:
        raise StackError("PIPELINE_STACK=testcontainers, but no Docker engine answers") from exc

    with Network() as network:
        kafka = KafkaContainer("apache/kafka:4.1.1").with_kraft().with_network(network)
        kafka.with_network_aliases("kafka")
        with kafka:
            registry = (
                DockerContainer("confluentinc/cp-schema-registry:8.1.0")
                .with_network(network)
                .with_env("SCHEMA_REGISTRY_HOST_NAME", "schema-registry")
                .with_env("SCHEMA_REGISTRY_LISTENERS", "http://0.0.0.0:8081")
                .with_env("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS", "PLAINTEXT://kafka:9092")
                .with_exposed_ports(8081)
            )
            with registry:
                wait_for_logs(registry, "Server started", timeout=120)
                url = f"http://{registry.get_container_host_ip()}:{registry.get_exposed_port(8081)}"
                yield kafka.get_bootstrap_server(), url
