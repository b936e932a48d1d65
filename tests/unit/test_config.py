from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.config import (
    Secret,
    consumer_config,
    librdkafka_config,
    load_settings,
    load_stack_settings,
    producer_config,
    registry_client_config,
    serde_config,
)
from pipeline.errors import ConfigError

EMBEDDED = ("127.0.0.1:9092", "http://127.0.0.1:8081/apis/ccompat/v7")


def test_nothing_named_means_embedded_stack() -> None:
    settings = load_settings({}, embedded_defaults=EMBEDDED)
    assert settings.embedded
    assert settings.kafka.bootstrap_servers == EMBEDDED[0]
    assert settings.registry.url == EMBEDDED[1]


def test_named_cluster_is_used_and_nothing_embedded() -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": "b1:9092,b2:9092", "SCHEMA_REGISTRY_URL": "https://sr.example:8081/"}
    settings = load_settings(env, embedded_defaults=EMBEDDED)
    assert not settings.embedded
    assert settings.kafka.bootstrap_servers == "b1:9092,b2:9092"
    assert settings.registry.url == "https://sr.example:8081"


_BOTH = {"KAFKA_BOOTSTRAP_SERVERS": "b", "SCHEMA_REGISTRY_URL": "http://sr"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"KAFKA_BOOTSTRAP_SERVERS": "b:9092"}, "SCHEMA_REGISTRY_URL is not set", id="registry missing"
        ),
        pytest.param(
            {"SCHEMA_REGISTRY_URL": "http://sr"}, "KAFKA_BOOTSTRAP_SERVERS is not set", id="kafka missing"
        ),
        pytest.param({**_BOTH, "SCHEMA_REGISTRY_URL": "sr:8081"}, "must start with http", id="url scheme"),
        pytest.param(
            {**_BOTH, "KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL='TLS'", id="bad protocol"
        ),
        pytest.param(
            {**_BOTH, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"},
            "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD",
            id="sasl without credentials",
        ),
        pytest.param(
            {**_BOTH, "SCHEMA_REGISTRY_BASIC_AUTH": "nocolon"}, "must be 'user:password'", id="basic auth"
        ),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(env, embedded_defaults=EMBEDDED)


def test_secrets_never_reach_repr_or_str() -> None:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": "b:9092",
        "SCHEMA_REGISTRY_URL": "https://sr",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "scram-sha-512",
        "KAFKA_SASL_USERNAME": "svc",
        "KAFKA_SASL_PASSWORD": "kafka-hunter2",
        "SCHEMA_REGISTRY_BASIC_AUTH": "reg:registry-hunter2",
    }
    settings = load_settings(env)
    text = repr(settings) + str(settings)
    assert "hunter2" not in text
    assert "Secret('********')" in text
    assert librdkafka_config(settings.kafka)["sasl.password"] == "kafka-hunter2"
    assert librdkafka_config(settings.kafka)["sasl.mechanism"] == "SCRAM-SHA-512"
    assert registry_client_config(settings.registry)["basic.auth.user.info"] == "reg:registry-hunter2"


def test_bearer_token_and_basic_auth_are_exclusive() -> None:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": "b",
        "SCHEMA_REGISTRY_URL": "http://sr",
        "SCHEMA_REGISTRY_USERNAME": "u",
        "SCHEMA_REGISTRY_PASSWORD": "p",
        "SCHEMA_REGISTRY_BEARER_TOKEN": "t",
    }
    with pytest.raises(ConfigError, match="either registry basic auth or"):
        load_settings(env)


def test_bearer_token_config() -> None:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": "b",
        "SCHEMA_REGISTRY_URL": "http://sr",
        "SCHEMA_REGISTRY_BEARER_TOKEN": "tok",
    }
    conf = registry_client_config(load_settings(env).registry)
    assert conf["bearer.auth.credentials.source"] == "STATIC_TOKEN"
    assert conf["bearer.auth.token"] == "tok"


def test_config_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_text('[kafka]\nbootstrap_servers = "file:9092"\n[registry]\nurl = "http://file:8081"\n')
    settings = load_settings({"PIPELINE_CONFIG": str(path), "KAFKA_BOOTSTRAP_SERVERS": "env:9092"})
    assert settings.kafka.bootstrap_servers == "env:9092"
    assert settings.registry.url == "http://file:8081"


def test_config_file_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_text('[kafka]\nbootstrap_server = "typo:9092"\n')
    with pytest.raises(ConfigError, match=r"pipeline.toml: unknown key kafka.bootstrap_server"):
        load_settings({"PIPELINE_CONFIG": str(path)})


def test_secret_equality_and_reveal() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a").reveal() == "a"
    assert "a" not in repr(Secret("a"))


def test_serde_behaviour_is_pinned() -> None:
    conf = serde_config()
    assert conf["auto.register.schemas"] is False
    assert conf["use.latest.version"] is False
    assert conf["normalize.schemas"] is False
    assert conf["subject.name.strategy"].__name__ == "topic_subject_name_strategy"


def test_registry_requests_time_out() -> None:
    conf = registry_client_config(load_settings({}, embedded_defaults=EMBEDDED).registry)
    assert conf["timeout"] == 30, "a registry that never answers must not hang a pipeline"


def test_deserializer_behaviour_is_pinned() -> None:
    from pipeline.config import deserializer_config

    conf = deserializer_config()
    assert conf["subject.name.strategy"].__name__ == "topic_subject_name_strategy"
    assert conf["use.latest.version"] is False


# -- client tuning ---------------------------------------------------------------------------------

KAFKA_ONLY = {"KAFKA_BOOTSTRAP_SERVERS": "b:9092", "SCHEMA_REGISTRY_URL": "http://r:8081"}


def test_producers_keep_their_guarantees_and_take_typed_tuning() -> None:
    settings = load_settings(
        {**KAFKA_ONLY, "PIPELINE_PRODUCER_LINGER_MS": "50", "PIPELINE_PRODUCER_COMPRESSION": "zstd"}
    )
    conf = producer_config(settings.kafka, settings.producer)
    assert conf["acks"] == "all" and conf["enable.idempotence"] is True
    assert conf["linger.ms"] == 50 and conf["compression.type"] == "zstd"
    assert conf["bootstrap.servers"] == "b:9092"


def test_consumers_never_commit_on_their_own_and_take_static_membership() -> None:
    settings = load_settings({**KAFKA_ONLY, "PIPELINE_CONSUMER_GROUP_INSTANCE_ID": "worker-1"})
    conf = consumer_config(settings.kafka, "g", settings.consumer)
    assert conf["enable.auto.commit"] is False and conf["enable.auto.offset.store"] is False
    assert conf["partition.assignment.strategy"] == "cooperative-sticky"
    assert conf["group.instance.id"] == "worker-1" and conf["group.id"] == "g"


def test_the_group_protocol_picks_who_assigns_and_who_times_sessions_out() -> None:
    classic = consumer_config(load_settings(KAFKA_ONLY).kafka, "g", load_settings(KAFKA_ONLY).consumer)
    assert classic["group.protocol"] == "classic" and classic["session.timeout.ms"] == 45000
    settings = load_settings({**KAFKA_ONLY, "PIPELINE_CONSUMER_GROUP_PROTOCOL": "consumer"})
    conf = consumer_config(settings.kafka, "g", settings.consumer)
    # librdkafka refuses these with group.protocol=consumer: the broker assigns and times sessions out
    assert conf["group.protocol"] == "consumer"
    assert not {"partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms"} & set(conf)
    assert conf["enable.auto.commit"] is False and conf["enable.auto.offset.store"] is False


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "PIPELINE_CONSUMER_GROUP_PROTOCOL",
            "eager",
            "PIPELINE_CONSUMER_GROUP_PROTOCOL='eager'; expected one of",
        ),
        ("PIPELINE_PRODUCER_LINGER", "5", "PIPELINE_PRODUCER_LINGER: unknown setting; expected one of"),
        ("PIPELINE_PRODUCER_LINGER_MS", "soon", "PIPELINE_PRODUCER_LINGER_MS='soon' is not a whole number"),
        ("PIPELINE_PRODUCER_LINGER_MS", "-1", "must not be negative"),
        ("PIPELINE_PRODUCER_ACKS", "1", "acks=all is a guarantee of this project, not a setting"),
        ("PIPELINE_PRODUCER_ENABLE_IDEMPOTENCE", "false", "idempotence is a guarantee"),
        ("PIPELINE_CONSUMER_ENABLE_AUTO_COMMIT", "true", "committing only what was processed is a guarantee"),
        (
            "PIPELINE_PRODUCER_COMPRESSION",
            "brotli",
            "PIPELINE_PRODUCER_COMPRESSION='brotli'; expected one of",
        ),
        ("PIPELINE_CONSUMER_AUTO_OFFSET_RESET", "middle", "expected one of"),
        ("KAFKA_SSL_CA_LOCATION", "/no/such/ca.pem", "KAFKA_SSL_CA_LOCATION=/no/such/ca.pem: no such file"),
        (
            "SCHEMA_REGISTRY_CA_LOCATION",
            "/no/such/ca.pem",
            "SCHEMA_REGISTRY_CA_LOCATION=/no/such/ca.pem: no such",
        ),
    ],
)
def test_bad_tuning_is_one_sentence_naming_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings({**KAFKA_ONLY, variable: value})


def test_the_app_name_comes_from_the_environment() -> None:
    assert load_settings({**KAFKA_ONLY, "PIPELINE_APP_NAME": "billing"}).app_name == "billing"
    assert load_settings(KAFKA_ONLY).app_name.startswith("pipeline@")


def test_stack_settings_come_from_the_environment_and_flags_win() -> None:
    env = {"PIPELINE_STACK_DIR": "/tmp/s", "PIPELINE_KAFKA_PORT": "19092", "PIPELINE_CACHE_DIR": "/tmp/c"}
    settings = load_stack_settings(env, registry_port=18081, kafka_port=None)
    assert settings.state_dir == Path("/tmp/s") and settings.cache_dir == Path("/tmp/c")
    assert (settings.kafka_port, settings.controller_port, settings.registry_port) == (19092, 19093, 18081)
    with pytest.raises(ConfigError, match=r"PIPELINE_KAFKA_PORT='99999' is not a port number"):
        load_stack_settings({"PIPELINE_KAFKA_PORT": "99999"})


@pytest.mark.parametrize("raw", ["0", "2", "4", "three", "-1", "3.0", "7"])
def test_a_broker_count_is_one_three_or_five(raw: str) -> None:
    with pytest.raises(ConfigError, match=rf"PIPELINE_BROKERS='{raw}': the embedded cluster has 1, 3 or 5"):
        load_stack_settings({"PIPELINE_BROKERS": raw})
    assert load_stack_settings({}).brokers is None, "unset: what the state folder holds"
    assert load_stack_settings({"PIPELINE_BROKERS": "3"}).brokers == 3
    assert load_stack_settings({"PIPELINE_BROKERS": "3"}, brokers=1).brokers == 1, "the flag wins"


@pytest.mark.parametrize(
    ("env", "flags", "message"),
    [
        (
            {"PIPELINE_REGISTRY_PORT": "9092"},
            {},
            "PIPELINE_KAFKA_PORT (unset: 9092) and PIPELINE_REGISTRY_PORT=9092 name the same port 9092",
        ),
        (
            {"PIPELINE_KAFKA_PORT": "19092", "PIPELINE_CONTROLLER_PORT": "19092"},
            {},
            "PIPELINE_KAFKA_PORT=19092 and PIPELINE_CONTROLLER_PORT=19092 name the same port 19092",
        ),
        (
            {"PIPELINE_KAFKA_PORT": "19092"},
            {"registry_port": 19092},
            "PIPELINE_KAFKA_PORT=19092 and --registry-port 19092 name the same port 19092",
        ),
        (
            {},
            {"kafka_port": 8080},
            "PIPELINE_CONTROLLER_PORT (unset: the Kafka port + 1) and PIPELINE_REGISTRY_PORT (unset: 8081) "
            "name the same port 8081",
        ),
        (
            {"PIPELINE_KAFKA_PORT": "65535"},
            {},
            "PIPELINE_KAFKA_PORT=65535 leaves no port for the controller",
        ),
    ],
)
def test_stack_ports_that_clash_are_one_sentence_naming_both(
    env: dict[str, str], flags: dict[str, int], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load_stack_settings(env, **flags)
    assert "\n" not in str(caught.value)


def test_the_controller_port_follows_the_kafka_port_wherever_it_comes_from() -> None:
    assert load_stack_settings({}, kafka_port=19092).controller_port == 19093
    assert load_stack_settings({"PIPELINE_KAFKA_PORT": "29092"}, kafka_port=19092).controller_port == 19093
    settings = load_stack_settings({"PIPELINE_CONTROLLER_PORT": "19999"}, kafka_port=19092)
    assert (settings.kafka_port, settings.controller_port, settings.registry_port) == (19092, 19999, 8081)


def test_a_session_timeout_with_the_consumer_protocol_is_refused_naming_both_variables() -> None:
    env = {
        **KAFKA_ONLY,
        "PIPELINE_CONSUMER_GROUP_PROTOCOL": "consumer",
        "PIPELINE_CONSUMER_SESSION_TIMEOUT_MS": "10000",
    }
    with pytest.raises(
        ConfigError, match="PIPELINE_CONSUMER_SESSION_TIMEOUT_MS: with PIPELINE_CONSUMER_GROUP"
    ):
        load_settings(env)
