"""Which Kafka cluster and registry to talk to: the ones named in the environment, or else the embedded
stack, started (or reused) on demand."""

from __future__ import annotations

from collections.abc import Callable

from pipeline.config import Settings, load_settings
from pipeline.stack import EmbeddedStack, StackConfig

__all__ = ["ensure_cluster"]


def ensure_cluster(progress: Callable[[str], None] = lambda _msg: None) -> Settings:
    """Settings for the named cluster; when none is named, bring the embedded stack up and return its
    addresses. Nothing is started locally when the environment names a cluster."""
    stack_config = StackConfig.from_env()
    settings = load_settings(embedded_defaults=(stack_config.bootstrap_servers, stack_config.registry_url))
    if settings.embedded:
        EmbeddedStack(stack_config).up(progress)
    return settings
