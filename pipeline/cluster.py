"""Which Kafka cluster and registry to talk to: the ones named in the environment, or else the embedded
stack, started (or reused) on demand."""

from __future__ import annotations

from collections.abc import Callable

from pipeline.config import Settings, load_settings, load_stack_settings
from pipeline.stack import EmbeddedStack

__all__ = ["ensure_cluster"]


def ensure_cluster(progress: Callable[[str], None] = lambda _msg: None) -> Settings:
    """Settings for the named cluster; when none is named, bring the embedded stack up and return its
    addresses. Nothing is started locally when the environment names a cluster."""
    stack = EmbeddedStack(load_stack_settings())
    settings = load_settings(embedded_defaults=(stack.bootstrap_servers, stack.registry_url))
    if settings.embedded:
        stack.up(progress)
    return settings
