from __future__ import annotations

import pytest

from pipeline.config import KafkaSettings
from pipeline.errors import ConfigError
from pipeline.producer import producer_config

KAFKA = KafkaSettings("b:9092")


def test_reliable_defaults() -> None:
    conf = producer_config(KAFKA, env={})
    assert conf["acks"] == "all"
    assert conf["enable.idempotence"] is True
    assert conf["compression.type"] == "lz4"
    assert conf["linger.ms"] > 0
    assert conf["bootstrap.servers"] == "b:9092"


def test_environment_then_explicit_overrides() -> None:
    env = {"PIPELINE_PRODUCER_LINGER_MS": "50", "PIPELINE_PRODUCER_COMPRESSION_TYPE": "zstd"}
    conf = producer_config(KAFKA, {"linger.ms": 5}, env=env)
    assert conf["linger.ms"] == 5
    assert conf["compression.type"] == "zstd"


@pytest.mark.parametrize(("key", "value"), [("acks", "1"), ("enable.idempotence", False), ("acks", 0)])
def test_overrides_that_drop_guarantees_are_refused(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"producer setting {key}="):
        producer_config(KAFKA, {key: value}, env={})


def test_acks_minus_one_is_all() -> None:
    assert producer_config(KAFKA, {"acks": -1}, env={})["acks"] == -1
