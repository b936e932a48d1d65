"""Settings: read from the environment (or a TOML file) here and nowhere else, typed and frozen, and
translated to librdkafka and client settings in one function each (the only code that knows their
dotted keys).

Environment (each overrides the same key in the file named by ``PIPELINE_CONFIG``, default
``./pipeline.toml`` when present)::

    KAFKA_BOOTSTRAP_SERVERS        host:port[,host:port]    unset -> the embedded stack
    SCHEMA_REGISTRY_URL            http(s)://host:port[/apis/ccompat/v7]
    KAFKA_SECURITY_PROTOCOL        PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    KAFKA_SASL_MECHANISM           PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
    KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD
    KAFKA_SSL_CA_LOCATION          CA bundle for the brokers (a file that must exist)
    SCHEMA_REGISTRY_BASIC_AUTH     user:password            (or SCHEMA_REGISTRY_USERNAME / _PASSWORD)
    SCHEMA_REGISTRY_BEARER_TOKEN   static bearer token
    SCHEMA_REGISTRY_CA_LOCATION    CA bundle for the registry (a file that must exist)
    PIPELINE_PRODUCER_<SETTING>    a ProducerTuning field, e.g. PIPELINE_PRODUCER_LINGER_MS=50
    PIPELINE_CONSUMER_<SETTING>    a ConsumerTuning field, e.g. PIPELINE_CONSUMER_SESSION_TIMEOUT_MS=10000,
                                   PIPELINE_CONSUMER_GROUP_PROTOCOL=classic|consumer
    PIPELINE_APP_NAME              who produces, in dead letters (default pipeline@<host>)

The embedded stack's own (``load_stack_settings``): ``PIPELINE_STACK_DIR``, ``PIPELINE_KAFKA_PORT``,
``PIPELINE_CONTROLLER_PORT``, ``PIPELINE_REGISTRY_PORT``, ``PIPELINE_CACHE_DIR`` (else
``$XDG_CACHE_HOME/avro-pipeline/stack``), ``PIPELINE_KAFKA_JAVA_HOME``, ``PIPELINE_REGISTRY_JAVA_HOME`` and
``JAVA_HOME``, and ``PIPELINE_BROKERS`` (1, 3 or 5 Kafka nodes; node N listens two ports above node
N - 1); no two ports may be the same. An unknown ``PIPELINE_PRODUCER_``/``PIPELINE_CONSUMER_``
setting, or a value that is not of its type, is a ConfigError naming the variable.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from confluent_kafka.schema_registry import topic_subject_name_strategy

from pipeline.errors import ConfigError

__all__ = [
    "KAFKA_LOG",
    "ConsumerTuning",
    "KafkaSettings",
    "ProducerTuning",
    "RegistrySettings",
    "Secret",
    "Settings",
    "StackSettings",
    "check_stack_ports",
    "consumer_config",
    "deserializer_config",
    "librdkafka_config",
    "load_settings",
    "load_stack_settings",
    "producer_config",
    "registry_client_config",
    "serde_config",
]


class Secret:
    """A value that must never reach a log line, a repr or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


_SECURITY_PROTOCOLS = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}
_SASL_MECHANISMS = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: Secret | None = None
    ssl_ca_location: str | None = None


@dataclass(frozen=True)
class RegistrySettings:
    url: str
    basic_auth_user: str | None = None
    basic_auth_password: Secret | None = None
    bearer_token: Secret | None = None
    ca_location: str | None = None


@dataclass(frozen=True)
class ProducerTuning:
    """How producers batch, compress and wait. ``acks=all`` and idempotence are not here: they are the
    delivery guarantees, always on."""

    linger_ms: int = 20
    batch_size: int = 262144
    compression: str = "lz4"
    max_in_flight: int = 5
    queue_max_messages: int = 200000
    queue_max_kbytes: int = 262144
    delivery_timeout_ms: int = 120000
    message_max_bytes: int = 1000000


@dataclass(frozen=True)
class ConsumerTuning:
    """How consumers fetch and how long the group waits for them. Offsets are never committed
    automatically and assignment is incremental: not tunable.

    ``group_protocol`` is the group protocol: ``classic`` (JoinGroup/SyncGroup, the client-side
    cooperative-sticky assignor) or ``consumer`` (KIP-848: the broker assigns, with its ``uniform``
    assignor; the session timeout and heartbeats are then the broker's, so ``session_timeout_ms`` is
    refused with it)."""

    group_protocol: str = "classic"
    session_timeout_ms: int = 45000
    max_poll_interval_ms: int = 300000
    queued_min_messages: int = 5000  # per partition: ~15 ms of our consumer, and < 50 MB of prefetch
    fetch_queue_backoff_ms: int = 50
    fetch_wait_max_ms: int = 100
    fetch_min_bytes: int = 1
    auto_offset_reset: str = "earliest"
    group_instance_id: str | None = None  # static membership: a restart takes its place at once


_COMPRESSIONS = {"none", "gzip", "snappy", "lz4", "zstd"}
_OFFSET_RESETS = {"earliest", "latest", "error"}
_GROUP_PROTOCOLS = {"classic", "consumer"}


@dataclass(frozen=True)
class Settings:
    """Where the cluster and registry are, and how clients are tuned. ``embedded`` is true when nothing
    was named, so the embedded stack supplies both."""

    kafka: KafkaSettings
    registry: RegistrySettings
    embedded: bool = field(default=False)
    producer: ProducerTuning = field(default_factory=ProducerTuning)
    consumer: ConsumerTuning = field(default_factory=ConsumerTuning)
    app_name: str = field(default_factory=lambda: f"pipeline@{os.uname().nodename}")


@dataclass(frozen=True)
class StackSettings:
    """Where the embedded stack keeps its state, caches its artifacts and listens (all on 127.0.0.1),
    and which Java homes were named for it."""

    state_dir: Path = Path(".stack")
    cache_dir: Path = Path.home() / ".cache" / "avro-pipeline" / "stack"
    kafka_port: int = 9092
    controller_port: int = 9093
    registry_port: int = 8081
    kafka_java_home: Path | None = None
    registry_java_home: Path | None = None
    java_home: Path | None = None
    kafka_heap_mb: int = 768
    registry_heap_mb: int = 512
    start_timeout: float = 120.0
    brokers: int | None = None  # None: as many Kafka nodes as the state folder holds, else one


_FILE_KEYS = {
    "kafka": {
        "bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
        "security_protocol": "KAFKA_SECURITY_PROTOCOL",
        "sasl_mechanism": "KAFKA_SASL_MECHANISM",
        "sasl_username": "KAFKA_SASL_USERNAME",
        "sasl_password": "KAFKA_SASL_PASSWORD",
        "ssl_ca_location": "KAFKA_SSL_CA_LOCATION",
    },
    "registry": {
        "url": "SCHEMA_REGISTRY_URL",
        "basic_auth": "SCHEMA_REGISTRY_BASIC_AUTH",
        "username": "SCHEMA_REGISTRY_USERNAME",
        "password": "SCHEMA_REGISTRY_PASSWORD",
        "bearer_token": "SCHEMA_REGISTRY_BEARER_TOKEN",
        "ca_location": "SCHEMA_REGISTRY_CA_LOCATION",
    },
}


def _read_file(path: Path) -> dict[str, str]:
    """Flatten a TOML config file to the environment's names, rejecting unknown keys."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from exc
    flat: dict[str, str] = {}
    for section, values in data.items():
        known = _FILE_KEYS.get(section)
        if known is None or not isinstance(values, dict):
            raise ConfigError(f"{path}: unknown section [{section}]; expected one of {sorted(_FILE_KEYS)}")
        for key, value in values.items():
            if key not in known:
                raise ConfigError(f"{path}: unknown key {section}.{key}; expected one of {sorted(known)}")
            flat[known[key]] = str(value)
    return flat


def load_settings(
    env: Mapping[str, str] | None = None, *, embedded_defaults: tuple[str, str] | None = None
) -> Settings:
    """Read the settings from ``env`` (default ``os.environ``) and the optional config file.

    ``embedded_defaults`` gives (bootstrap servers, registry URL) to use when neither is named; without
    it, missing addresses are a ConfigError. Raises ConfigError for malformed or contradictory values.
    """
    env = os.environ if env is None else env
    config_path = env.get("PIPELINE_CONFIG")
    values: dict[str, str] = {}
    if config_path:
        values.update(_read_file(Path(config_path)))
    elif Path("pipeline.toml").is_file():
        values.update(_read_file(Path("pipeline.toml")))
    values.update({k: v for k, v in env.items() if v != ""})

    bootstrap = values.get("KAFKA_BOOTSTRAP_SERVERS")
    registry_url = values.get("SCHEMA_REGISTRY_URL")
    embedded = bootstrap is None and registry_url is None
    if embedded:
        if embedded_defaults is None:
            raise ConfigError("KAFKA_BOOTSTRAP_SERVERS and SCHEMA_REGISTRY_URL are not set")
        bootstrap, registry_url = embedded_defaults
    elif bootstrap is None or registry_url is None:
        missing = "KAFKA_BOOTSTRAP_SERVERS" if bootstrap is None else "SCHEMA_REGISTRY_URL"
        raise ConfigError(f"{missing} is not set; name both the cluster and the registry, or neither")
    assert bootstrap is not None and registry_url is not None

    protocol = values.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
    if protocol not in _SECURITY_PROTOCOLS:
        raise ConfigError(
            f"KAFKA_SECURITY_PROTOCOL={protocol!r}; expected one of {sorted(_SECURITY_PROTOCOLS)}"
        )
    mechanism = values.get("KAFKA_SASL_MECHANISM")
    if mechanism is not None and mechanism.upper() not in _SASL_MECHANISMS:
        raise ConfigError(f"KAFKA_SASL_MECHANISM={mechanism!r}; expected one of {sorted(_SASL_MECHANISMS)}")
    sasl_password = values.get("KAFKA_SASL_PASSWORD")
    if protocol.startswith("SASL") and not (values.get("KAFKA_SASL_USERNAME") and sasl_password):
        raise ConfigError(
            f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
        )

    user, password = values.get("SCHEMA_REGISTRY_USERNAME"), values.get("SCHEMA_REGISTRY_PASSWORD")
    if "SCHEMA_REGISTRY_BASIC_AUTH" in values:
        user, sep, password = values["SCHEMA_REGISTRY_BASIC_AUTH"].partition(":")
        if not sep:
            raise ConfigError("SCHEMA_REGISTRY_BASIC_AUTH must be 'user:password'")
    token = values.get("SCHEMA_REGISTRY_BEARER_TOKEN")
    if token and user:
        raise ConfigError("set either registry basic auth or SCHEMA_REGISTRY_BEARER_TOKEN, not both")
    if not registry_url.startswith(("http://", "https://")):
        raise ConfigError(f"SCHEMA_REGISTRY_URL={registry_url!r} must start with http:// or https://")

    for name in ("KAFKA_SSL_CA_LOCATION", "SCHEMA_REGISTRY_CA_LOCATION"):
        if values.get(name) and not Path(values[name]).is_file():
            raise ConfigError(f"{name}={values[name]}: no such file; name a CA bundle (PEM) that exists")

    return Settings(
        kafka=KafkaSettings(
            bootstrap_servers=bootstrap,
            security_protocol=protocol,
            sasl_mechanism=mechanism.upper() if mechanism else None,
            sasl_username=values.get("KAFKA_SASL_USERNAME"),
            sasl_password=Secret(sasl_password) if sasl_password else None,
            ssl_ca_location=values.get("KAFKA_SSL_CA_LOCATION"),
        ),
        registry=RegistrySettings(
            url=registry_url.rstrip("/"),
            basic_auth_user=user or None,
            basic_auth_password=Secret(password) if password else None,
            bearer_token=Secret(token) if token else None,
            ca_location=values.get("SCHEMA_REGISTRY_CA_LOCATION"),
        ),
        embedded=embedded,
        producer=_tuning(ProducerTuning, "PIPELINE_PRODUCER_", env),
        consumer=_tuning(ConsumerTuning, "PIPELINE_CONSUMER_", env),
        app_name=env.get("PIPELINE_APP_NAME") or f"pipeline@{os.uname().nodename}",
    )


_T = TypeVar("_T", ProducerTuning, ConsumerTuning)
_GUARANTEES = {
    "PIPELINE_PRODUCER_ACKS": "acks=all",
    "PIPELINE_PRODUCER_ENABLE_IDEMPOTENCE": "idempotence",
    "PIPELINE_CONSUMER_ENABLE_AUTO_COMMIT": "committing only what was processed",
    "PIPELINE_CONSUMER_PARTITION_ASSIGNMENT_STRATEGY": "incremental (cooperative) assignment",
}


def _tuning(kind: type[_T], prefix: str, env: Mapping[str, str]) -> _T:
    """``kind`` from the ``prefix``ed variables: each names a field; unknown ones and ill-typed values
    are refused, naming the variable."""
    fields = {f.name: f for f in dataclasses.fields(kind)}
    values: dict[str, Any] = {}
    for name, raw in sorted(env.items()):
        if not name.startswith(prefix) or raw == "":
            continue
        if name in _GUARANTEES:
            raise ConfigError(f"{name}: {_GUARANTEES[name]} is a guarantee of this project, not a setting")
        key = name[len(prefix) :].lower()
        if key not in fields:
            known = ", ".join(prefix + f.upper() for f in fields)
            raise ConfigError(f"{name}: unknown setting; expected one of {known}")
        default = getattr(kind(), key)
        if isinstance(default, int) and not isinstance(default, bool):
            try:
                values[key] = int(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r} is not a whole number") from None
            if values[key] < 0:
                raise ConfigError(f"{name}={raw!r} must not be negative")
        else:
            values[key] = raw
    tuning = kind(**values)
    if isinstance(tuning, ProducerTuning) and tuning.compression not in _COMPRESSIONS:
        raise ConfigError(
            f"{prefix}COMPRESSION={tuning.compression!r}; expected one of {sorted(_COMPRESSIONS)}"
        )
    if isinstance(tuning, ConsumerTuning) and tuning.auto_offset_reset not in _OFFSET_RESETS:
        raise ConfigError(
            f"{prefix}AUTO_OFFSET_RESET={tuning.auto_offset_reset!r}; expected one of "
            f"{sorted(_OFFSET_RESETS)}"
        )
    if isinstance(tuning, ConsumerTuning):
        if tuning.group_protocol not in _GROUP_PROTOCOLS:
            raise ConfigError(
                f"{prefix}GROUP_PROTOCOL={tuning.group_protocol!r}; expected one of "
                f"{sorted(_GROUP_PROTOCOLS)}"
            )
        if tuning.group_protocol == "consumer" and "session_timeout_ms" in values:
            raise ConfigError(
                f"{prefix}SESSION_TIMEOUT_MS: with {prefix}GROUP_PROTOCOL=consumer the session timeout is "
                "the broker's (group.consumer.session.timeout.ms), not a client setting"
            )
    return tuning


_STACK_PORTS = {  # field: (variable, flag)
    "kafka_port": ("PIPELINE_KAFKA_PORT", "--kafka-port"),
    "controller_port": ("PIPELINE_CONTROLLER_PORT", "--controller-port"),
    "registry_port": ("PIPELINE_REGISTRY_PORT", "--registry-port"),
}


def load_stack_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> StackSettings:
    """The embedded stack's settings from ``env`` (default ``os.environ``), then ``overrides`` (None
    values ignored: the command line's unset flags). The controller's port defaults to Kafka's + 1;
    ports that clash are a ConfigError naming the variables or flags that chose them."""
    env = os.environ if env is None else env
    overrides = {key: value for key, value in overrides.items() if value is not None}
    labels: dict[str, str] = {}

    def port(field: str, default: int, default_is: str) -> int:
        variable, flag = _STACK_PORTS[field]
        raw = env.get(variable) or ""
        if field in overrides:
            value = int(overrides.pop(field))
            labels[field] = f"{flag} {value}"
        elif raw:
            if not raw.isdigit() or not 0 < int(raw) < 65536:
                raise ConfigError(f"{variable}={raw!r} is not a port number (1 to 65535)")
            value, labels[field] = int(raw), f"{variable}={raw}"
        else:
            value, labels[field] = default, f"{variable} (unset: {default_is})"
        return value

    def home(name: str) -> Path | None:
        return Path(env[name]) if env.get(name) else None

    kafka_port = port("kafka_port", 9092, "9092")
    controller_port = port("controller_port", kafka_port + 1, "the Kafka port + 1")
    if controller_port > 65535:
        raise ConfigError(
            f"{labels['kafka_port']} leaves no port for the controller (the Kafka port + 1 by default); "
            "set PIPELINE_CONTROLLER_PORT or --controller-port"
        )
    cache = env.get("PIPELINE_CACHE_DIR")
    settings = StackSettings(
        state_dir=Path(env.get("PIPELINE_STACK_DIR") or ".stack"),
        cache_dir=Path(cache)
        if cache
        else Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "avro-pipeline" / "stack",
        kafka_port=kafka_port,
        controller_port=controller_port,
        registry_port=port("registry_port", 8081, "8081"),
        brokers=_broker_count(env.get("PIPELINE_BROKERS") or ""),
        kafka_java_home=home("PIPELINE_KAFKA_JAVA_HOME"),
        registry_java_home=home("PIPELINE_REGISTRY_JAVA_HOME"),
        java_home=home("JAVA_HOME"),
    )
    settings = dataclasses.replace(settings, **overrides)
    check_stack_ports(settings, labels)
    for name, folder in (("state", settings.state_dir), ("cache", settings.cache_dir)):
        if folder.exists() and not folder.is_dir():
            source = "PIPELINE_STACK_DIR or --state-dir" if name == "state" else "PIPELINE_CACHE_DIR"
            raise ConfigError(f"the stack's {name} folder {folder} is a file, not a folder (set by {source})")
    return settings


BROKER_COUNTS = (1, 3, 5)


def _broker_count(raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or int(raw) not in BROKER_COUNTS:
        raise ConfigError(f"PIPELINE_BROKERS={raw!r}: the embedded cluster has 1, 3 or 5 Kafka nodes")
    return int(raw)


def check_stack_ports(
    settings: StackSettings, labels: Mapping[str, str] | None = None, brokers: int | None = None
) -> None:
    """Every Kafka node, its controller and the registry listen on different ports; else a ConfigError
    naming the two that clash by ``labels`` (field -> what set it), or by field name. Node N listens
    two ports above node N - 1 on both of its ports."""
    seen: dict[int, str] = {}
    for node in range(1, (brokers or settings.brokers or 1) + 1):
        for field_name in _STACK_PORTS:
            if node > 1 and field_name == "registry_port":
                continue
            step = 2 * (node - 1)
            port = getattr(settings, field_name) + step
            label = (labels or {}).get(field_name, f"{field_name}={port - step}")
            if node > 1:
                label = f"node {node}'s {field_name.split('_')[0]} port ({label} + {step})"
            if port in seen:
                raise ConfigError(
                    f"{seen[port]} and {label} name the same port {port}; every Kafka node, its "
                    "controller and the registry each need a port of their own"
                )
            if port > 65535:
                raise ConfigError(f"{label} is {port}, beyond the last port 65535")
            seen[port] = label


def producer_config(kafka: KafkaSettings, tuning: ProducerTuning) -> dict[str, Any]:
    """librdkafka producer settings: the connection, the guarantees (acks=all, idempotence) and the
    tuning."""
    return {
        **librdkafka_config(kafka),
        "acks": "all",
        "enable.idempotence": True,
        "max.in.flight.requests.per.connection": tuning.max_in_flight,
        "compression.type": tuning.compression,
        "linger.ms": tuning.linger_ms,
        "batch.size": tuning.batch_size,
        "queue.buffering.max.messages": tuning.queue_max_messages,
        "queue.buffering.max.kbytes": tuning.queue_max_kbytes,
        "delivery.timeout.ms": tuning.delivery_timeout_ms,
        "message.max.bytes": tuning.message_max_bytes,
    }


def consumer_config(kafka: KafkaSettings, group_id: str, tuning: ConsumerTuning) -> dict[str, Any]:
    """librdkafka consumer settings: the connection, the group, the guarantees (no automatic commits,
    incremental assignment: cooperative-sticky with the classic protocol, the broker's with KIP-848's)
    and the tuning. With ``group.protocol=consumer`` librdkafka refuses the assignment strategy, the
    session timeout and the heartbeat interval (the broker owns them), so they are left out."""
    group: dict[str, Any]
    if tuning.group_protocol == "consumer":
        group = {"group.protocol": "consumer"}
    else:
        group = {
            "group.protocol": "classic",
            "partition.assignment.strategy": "cooperative-sticky",
            "session.timeout.ms": tuning.session_timeout_ms,
        }
    conf: dict[str, Any] = {
        **librdkafka_config(kafka),
        "group.id": group_id,
        **group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": tuning.auto_offset_reset,
        "queued.min.messages": tuning.queued_min_messages,
        "fetch.queue.backoff.ms": tuning.fetch_queue_backoff_ms,
        "max.poll.interval.ms": tuning.max_poll_interval_ms,
        "fetch.min.bytes": tuning.fetch_min_bytes,
        "fetch.wait.max.ms": tuning.fetch_wait_max_ms,
    }
    if tuning.group_instance_id:
        conf["group.instance.id"] = tuning.group_instance_id
    return conf


#: Where librdkafka's own log lines go (never straight to the terminal).
KAFKA_LOG = logging.getLogger("pipeline.librdkafka")


def librdkafka_config(kafka: KafkaSettings) -> dict[str, Any]:
    """The connection part of a librdkafka configuration (the only place that knows its dotted keys)."""
    conf: dict[str, Any] = {
        "bootstrap.servers": kafka.bootstrap_servers,
        "security.protocol": kafka.security_protocol,
        "logger": KAFKA_LOG,
    }
    if kafka.sasl_mechanism:
        conf["sasl.mechanism"] = kafka.sasl_mechanism
    if kafka.sasl_username and kafka.sasl_password:
        conf["sasl.username"] = kafka.sasl_username
        conf["sasl.password"] = kafka.sasl_password.reveal()
    if kafka.ssl_ca_location:
        conf["ssl.ca.location"] = kafka.ssl_ca_location
    return conf


def registry_client_config(registry: RegistrySettings) -> dict[str, Any]:
    """Configuration for confluent-kafka's ``SchemaRegistryClient``."""
    # Without a timeout the client waits forever on a registry that accepted the request but never
    # answers; 30 s, then its own retries.
    conf: dict[str, Any] = {"url": registry.url, "timeout": 30}
    if registry.basic_auth_user and registry.basic_auth_password:
        conf["basic.auth.user.info"] = f"{registry.basic_auth_user}:{registry.basic_auth_password.reveal()}"
    if registry.bearer_token:
        conf["bearer.auth.credentials.source"] = "STATIC_TOKEN"
        conf["bearer.auth.token"] = registry.bearer_token.reveal()
        # confluent-kafka insists on these for STATIC_TOKEN, though only Confluent Cloud reads them.
        conf["bearer.auth.logical.cluster"] = "-"
        conf["bearer.auth.identity.pool.id"] = "-"
    if registry.ca_location:
        conf["ssl.ca.location"] = registry.ca_location
    return conf


def serde_config() -> dict[str, Any]:
    """Serializer settings pinned so behaviour is the same on Confluent Schema Registry and Apicurio.

    - ``subject.name.strategy``: confluent-kafka >= 2.14 defaults to ASSOCIATED, which asks an
      ``/associations`` endpoint Apicurio lacks; we name the topic strategy explicitly.
    - ``auto.register.schemas``: off; the bootstrap (``pipeline schemas register``) registers schemas.
    - ``use.latest.version``: off; the serializer looks up the id of exactly the schema it was given.
    - ``normalize.schemas``: off; the registry sees the schema text as the catalog registered it.
    """
    return {
        "auto.register.schemas": False,
        "use.latest.version": False,
        "normalize.schemas": False,
        "subject.name.strategy": topic_subject_name_strategy,
    }


def deserializer_config() -> dict[str, Any]:
    """confluent-kafka ``AvroDeserializer`` settings pinned like :func:`serde_config`: the topic strategy
    (no ``/associations`` lookups) and the writer's schema as read (no latest-version lookups)."""
    return {"use.latest.version": False, "subject.name.strategy": topic_subject_name_strategy}
