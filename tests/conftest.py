"""One session-scoped fixture gives the integration tests a real stack.

Order of choice: a cluster named in the environment (KAFKA_BOOTSTRAP_SERVERS + SCHEMA_REGISTRY_URL);
testcontainers when PIPELINE_STACK=testcontainers and a Docker engine answers; otherwise the embedded
stack (started if needed, stopped at the end only if this session started it). Never a skip, never a mock.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from hypothesis import settings as hypothesis_settings

from pipeline.config import Settings, librdkafka_config, load_settings, registry_client_config
from pipeline.registry.client import RegistryClient

# CI runs the generative tests on a fixed seed (HYPOTHESIS_PROFILE=ci, set by .ci/run), so a red build
# reproduces; everywhere else each run explores new examples.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("dev", print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@dataclass
class StackHandle:
    """Addresses of the stack under test, plus helpers for unique topics and subjects."""

    settings: Settings
    kind: str
    _topics: list[str] = field(default_factory=list)

    @property
    def bootstrap_servers(self) -> str:
        return self.settings.kafka.bootstrap_servers

    @property
    def registry_url(self) -> str:
        return self.settings.registry.url

    def kafka_config(self, **extra: Any) -> dict[str, Any]:
        return {**librdkafka_config(self.settings.kafka), **extra}

    def registry_client(self) -> SchemaRegistryClient:
        """confluent-kafka's client, as its serdes take it."""
        return SchemaRegistryClient(registry_client_config(self.settings.registry))

    def registry(self) -> RegistryClient:
        """Ours."""
        return RegistryClient(self.settings.registry)

    def admin(self) -> AdminClient:
        return AdminClient(self.kafka_config())

    @staticmethod
    def unique(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    def create_topic(self, prefix: str, partitions: int = 1) -> str:
        """A new topic with a unique name, created and waited for."""
        name = self.unique(prefix)
        admin = self.admin()  # kept referenced until the future resolves
        futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        futures[name].result(timeout=30)
        self._topics.append(name)
        return name


def _embedded() -> Iterator[StackHandle]:
    from pipeline.config import load_stack_settings
    from pipeline.stack import EmbeddedStack

    stack = EmbeddedStack(load_stack_settings())
    was_running = all(component.ready for component in stack.status())
    stack.up()
    yield StackHandle(
        load_settings({}, embedded_defaults=(stack.bootstrap_servers, stack.registry_url)),
        "embedded",
    )
    if not was_running and os.environ.get("PIPELINE_KEEP_STACK") != "1":
        stack.down()


def _testcontainers() -> Iterator[StackHandle]:
    from tests.containers import confluent_stack

    with confluent_stack() as (bootstrap, registry_url):
        yield StackHandle(load_settings({}, embedded_defaults=(bootstrap, registry_url)), "testcontainers")


@pytest.fixture(scope="session")
def stack() -> Iterator[StackHandle]:
    named = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("SCHEMA_REGISTRY_URL")
    if named:
        yield StackHandle(load_settings(), "external")
    elif os.environ.get("PIPELINE_STACK") == "testcontainers":
        yield from _testcontainers()
    else:
        yield from _embedded()


@pytest.fixture(scope="session")
def java_avro() -> Iterator[Any]:
    """Apache Avro Java, the independent oracle of the codec tests (tests/oracle)."""
    from tests.oracle import JavaAvro

    with JavaAvro() as avro:
        yield avro


@pytest.fixture(scope="module", params=["native", "compiled Python"])
def each_codec(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs a module's tests once on each codec path (``pytestmark = pytest.mark.usefixtures(...)``): the
    same answers are expected from both, whatever the path."""
    from pipeline.codec import backend, native

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(native.CODEC_VARIABLE, "native" if request.param == "native" else "python")
        assert backend() == request.param, "the native codec is not built: pip install -e . with a C compiler"
        yield request.param
