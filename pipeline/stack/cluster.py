"""Which Kafka cluster and registry to talk to: the ones named in the environment, or else the embedded
stack, started (or reused) on demand."""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from pipeline.config import Settings, librdkafka_config, load_settings, load_stack_settings
from pipeline.errors import ClusterUnavailableError
from pipeline.kafka.clientlog import kafka_trouble
from pipeline.registry.client import RegistryClient
from pipeline.stack import EmbeddedStack

__all__ = ["ensure_cluster", "ensure_reachable"]


def ensure_cluster(progress: Callable[[str], None] = lambda _msg: None) -> Settings:
    """Settings for the named cluster; when none is named, bring the embedded stack up and return its
    addresses. Nothing is started locally when the environment names a cluster."""
    stack = EmbeddedStack(load_stack_settings())
    settings = load_settings(embedded_defaults=(stack.bootstrap_servers, stack.registry_url))
    if settings.embedded:
        stack.up(progress)
    return settings


def ensure_reachable(settings: Settings, timeout: float = 10.0) -> None:
    """Fail fast, before long work, when the cluster or the registry does not answer:
    ClusterUnavailableError naming the bootstrap servers (and librdkafka's reason), or
    RegistryUnavailableError naming the registry URL."""
    admin = AdminClient(librdkafka_config(settings.kafka))
    try:
        admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        reason = kafka_trouble(admin) or str(exc)
        raise ClusterUnavailableError(
            f"the Kafka cluster at {settings.kafka.bootstrap_servers} did not answer within "
            f"{timeout:g} s: {reason}"
        ) from exc
    with RegistryClient(settings.registry) as registry:
        registry.effective_level("pipeline-reachability-check")
