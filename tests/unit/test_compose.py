"""compose/docker-compose.yml cannot run here (no Docker engine); its structure is checked instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

COMPOSE = Path(__file__).parents[2] / "compose" / "docker-compose.yml"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _brokers(services: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in services.items() if name.startswith("kafka-") and name != "kafka-ui"}


def test_three_kraft_brokers_with_one_quorum(services: dict[str, Any]) -> None:
    brokers = _brokers(services)
    assert len(brokers) == 3
    node_ids = {svc["environment"]["KAFKA_NODE_ID"] for svc in brokers.values()}
    assert node_ids == {1, 2, 3}
    voters = {svc["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"] for svc in brokers.values()}
    assert voters == {"1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"}
    for name, svc in brokers.items():
        env = svc["environment"]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller", name
        assert f"INTERNAL://{name}:9092" in env["KAFKA_ADVERTISED_LISTENERS"], name


def test_published_ports_are_unique(services: dict[str, Any]) -> None:
    published = [port.split(":")[0] for svc in services.values() for port in svc.get("ports", [])]
    assert len(published) == len(set(published)), published


def test_external_listener_matches_published_port(services: dict[str, Any]) -> None:
    for name, svc in _brokers(services).items():
        (mapping,) = svc["ports"]
        host_port = mapping.split(":")[0]
        assert f"EXTERNAL://127.0.0.1:{host_port}" in svc["environment"]["KAFKA_ADVERTISED_LISTENERS"], name


def test_replication_settings_fit_three_brokers(services: dict[str, Any]) -> None:
    for name, svc in _brokers(services).items():
        env = svc["environment"]
        for key in (
            "KAFKA_DEFAULT_REPLICATION_FACTOR",
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        ):
            assert env[key] == 3, (name, key)
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == 2, name
        assert (
            env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"]
            <= env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"]
        )
    registry_env = services["schema-registry"]["environment"]
    assert registry_env["SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR"] == 3


def test_registry_points_at_every_broker(services: dict[str, Any]) -> None:
    registry = services["schema-registry"]
    bootstrap = registry["environment"]["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"]
    for name in _brokers(services):
        assert f"{name}:9092" in bootstrap
        assert name in registry["depends_on"]
    assert registry["environment"]["SCHEMA_REGISTRY_SCHEMA_COMPATIBILITY_LEVEL"] == "BACKWARD"
