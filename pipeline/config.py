"""Connection settings, read from the environment (or a TOML file) in one function and translated to
librdkafka and Schema Registry client settings in one function each.

Environment (each overrides the same key in the file named by ``PIPELINE_CONFIG``, default
``./pipeline.toml`` when present)::

    KAFKA_BOOTSTRAP_SERVERS        host:port[,host:port]    unset -> the embedded stack
    SCHEMA_REGISTRY_URL            http(s)://host:port[/apis/ccompat/v7]
    KAFKA_SECURITY_PROTOCOL        PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    KAFKA_SASL_MECHANISM           PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
    KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD
    KAFKA_SSL_CA_LOCATION          CA bundle for the brokers
    SCHEMA_REGISTRY_BASIC_AUTH     user:password            (or SCHEMA_REGISTRY_USERNAME / _PASSWORD)
    SCHEMA_REGISTRY_BEARER_TOKEN   static bearer token
    SCHEMA_REGISTRY_CA_LOCATION    CA bundle for the registry
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka.schema_registry import topic_subject_name_strategy

from pipeline.errors import ConfigError

__all__ = [
    "KafkaSettings",
    "RegistrySettings",
    "Secret",
    "Settings",
    "deserializer_config",
    "librdkafka_config",
    "load_settings",
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
class Settings:
    """Where the cluster and registry are. ``embedded`` is true when nothing was named, so the
    embedded stack supplies both."""

    kafka: KafkaSettings
    registry: RegistrySettings
    embedded: bool = field(default=False)


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
    )


def librdkafka_config(kafka: KafkaSettings) -> dict[str, Any]:
    """The connection part of a librdkafka configuration (the only place that knows its dotted keys)."""
    conf: dict[str, Any] = {
        "bootstrap.servers": kafka.bootstrap_servers,
        "security.protocol": kafka.security_protocol,
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
