"""SchemaResolver against a registry that fails: an unreachable registry is waited out with backoff
(bounded), an answer such as 404 is not retried. The client is a stand-in; the real outage is in
tests/faults/test_registry_outage.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

import httpx
import pytest
from confluent_kafka.schema_registry import RegisteredSchema, Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from pipeline.errors import RegistryUnavailableError
from pipeline.retry import RetryPolicy
from pipeline.serde import SchemaResolver, UnknownSchemaError

SCHEMA = json.dumps(
    {"type": "record", "name": "R", "namespace": "t", "fields": [{"name": "n", "type": "long"}]}
)
POLICY = RetryPolicy(max_attempts=4, initial_backoff=1.0, multiplier=2.0, max_backoff=3.0, jitter=0)


def _connection_refused() -> Exception:
    try:
        import httpx2  # the transport confluent-kafka uses when it is installed

        return httpx2.ConnectError("[Errno 111] Connection refused")
    except ImportError:  # pragma: no cover - depends on what confluent-kafka pulled in
        return httpx.ConnectError("[Errno 111] Connection refused")


class FlakyRegistry:
    """Answers each call with the next scripted outcome: an exception to raise, or the result."""

    def __init__(self, outcomes: list[Any]) -> None:
        self.outcomes = outcomes
        self.calls = 0

    def _next(self) -> Any:
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def get_schema(self, schema_id: int) -> Schema:
        return cast(Schema, self._next())

    def lookup_schema(
        self, subject: str, schema: Schema, normalize_schemas: bool = False
    ) -> RegisteredSchema:
        return cast(RegisteredSchema, self._next())


def _resolver(registry: FlakyRegistry) -> tuple[SchemaResolver, list[float]]:
    sleeps: list[float] = []
    client = cast(SchemaRegistryClient, registry)
    return SchemaResolver(client, retry=POLICY, sleep=sleeps.append), sleeps


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(_connection_refused, id="connection refused (the client's transport error)"),
        pytest.param(lambda: SchemaRegistryError(503, -1, "starting"), id="503 while the registry starts"),
    ],
)
def test_unreachable_registry_is_retried_with_backoff_until_it_answers(
    failure: Callable[[], Exception],
) -> None:
    registry = FlakyRegistry([failure(), failure(), Schema(SCHEMA, "AVRO")])
    resolver, sleeps = _resolver(registry)
    assert resolver.writer_schema(5).name.fullname == "t.R"
    assert registry.calls == 3
    assert sleeps == [1.0, 2.0], "exponential backoff between attempts"
    assert resolver.writer_schema(5).name.fullname == "t.R" and registry.calls == 3, "then cached"


def test_retries_are_bounded_then_the_outage_is_reported() -> None:
    registry = FlakyRegistry([_connection_refused() for _ in range(POLICY.max_attempts)])
    resolver, sleeps = _resolver(registry)
    with pytest.raises(RegistryUnavailableError, match="schema id 5: registry unreachable"):
        resolver.writer_schema(5)
    assert registry.calls == POLICY.max_attempts
    assert sleeps == [1.0, 2.0, 3.0], "capped at max_backoff"


def test_an_unknown_schema_id_is_an_answer_not_an_outage() -> None:
    registry = FlakyRegistry([SchemaRegistryError(404, 40403, "Schema 5 not found.")])
    resolver, sleeps = _resolver(registry)
    with pytest.raises(UnknownSchemaError, match="schema id 5 is not known"):
        resolver.writer_schema(5)
    assert registry.calls == 1 and sleeps == []


def test_id_lookups_wait_out_an_outage_too() -> None:
    registered = RegisteredSchema(
        schema_id=11, guid=None, schema=Schema(SCHEMA, "AVRO"), subject="s-value", version=2
    )
    registry = FlakyRegistry([_connection_refused(), registered])
    resolver, sleeps = _resolver(registry)
    assert resolver.schema_id("s-value", Schema(SCHEMA, "AVRO")) == 11
    assert sleeps == [1.0]
