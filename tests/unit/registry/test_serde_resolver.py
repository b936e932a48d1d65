"""SchemaResolver over a registry that fails, through httpx's transport seam: an unreachable registry is
waited out with the client's backoff (bounded), a 500 is an outage like a refused connection, and an
answer such as 404 is not retried. The real outage is in tests/faults/test_registry_outage.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pipeline.config import RegistrySettings
from pipeline.errors import RegistryUnavailableError, UnknownSchemaError
from pipeline.registry.client import RegistryClient
from pipeline.registry.serde import SchemaResolver
from pipeline.retry import RetryPolicy

SCHEMA = json.dumps(
    {"type": "record", "name": "R", "namespace": "t", "fields": [{"name": "n", "type": "long"}]}
)
POLICY = RetryPolicy(max_attempts=4, initial_backoff=1.0, multiplier=2.0, max_backoff=3.0, jitter=0)
URL = "http://registry.test:8081"


def scripted(outcomes: list[Any]) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    """A transport that answers each request with the next outcome: an exception to raise, or a
    (status, JSON body) pair."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        status, body = outcome
        return httpx.Response(status, json=body)

    return handle, seen


def resolver(outcomes: list[Any]) -> tuple[SchemaResolver, list[httpx.Request], list[float]]:
    handle, seen = scripted(outcomes)
    sleeps: list[float] = []
    client = RegistryClient(
        RegistrySettings(url=URL), retry=POLICY, transport=httpx.MockTransport(handle), sleep=sleeps.append
    )
    return SchemaResolver(client), seen, sleeps


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(httpx.ConnectError("[Errno 111] Connection refused"), id="connection refused"),
        pytest.param((503, {"error_code": 50301, "message": "starting"}), id="503 while the registry starts"),
        pytest.param((500, {"error_code": 50001, "message": "store"}), id="500: an outage, not an answer"),
        pytest.param(httpx.ReadTimeout("no answer"), id="a registry that hangs"),
    ],
)
def test_unreachable_registry_is_retried_with_backoff_until_it_answers(failure: Any) -> None:
    found, seen, sleeps = resolver([failure, failure, (200, {"schema": SCHEMA})])
    assert found.writer_schema(5).name.fullname == "t.R"
    assert len(seen) == 3 and seen[-1].url.path == "/schemas/ids/5"
    assert sleeps == [1.0, 2.0], "exponential backoff between attempts"
    assert found.writer_schema(5).name.fullname == "t.R" and len(seen) == 3, "then cached"


def test_retries_are_bounded_then_the_outage_is_reported() -> None:
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    found, seen, sleeps = resolver([refused] * POLICY.max_attempts)
    with pytest.raises(
        RegistryUnavailableError, match=r"registry at http://registry.test:8081 is unreachable"
    ):
        found.writer_schema(5)
    assert len(seen) == POLICY.max_attempts
    assert sleeps == [1.0, 2.0, 3.0], "capped at max_backoff"


def test_an_unknown_schema_id_is_an_answer_not_an_outage() -> None:
    found, seen, sleeps = resolver([(404, {"error_code": 40403, "message": "Schema 5 not found."})])
    with pytest.raises(UnknownSchemaError, match="schema id 5 is not known"):
        found.writer_schema(5)
    assert len(seen) == 1 and sleeps == []


def test_references_are_read_by_version_and_cached_with_the_schema() -> None:
    money = json.dumps({"type": "fixed", "name": "M", "namespace": "t", "size": 2})
    user = json.dumps(
        {"type": "record", "name": "U", "namespace": "t", "fields": [{"name": "m", "type": "t.M"}]}
    )
    found, seen, _ = resolver(
        [
            (200, {"schema": user, "references": [{"name": "t.M", "subject": "t.M", "version": 3}]}),
            (200, {"subject": "t.M", "version": 3, "id": 1, "schema": money}),
        ]
    )
    assert [f.name for f in found.writer_schema(9).fields] == ["m"]  # type: ignore[union-attr]
    assert [r.url.path for r in seen] == ["/schemas/ids/9", "/subjects/t.M/versions/3"]


def test_id_lookups_wait_out_an_outage_too() -> None:
    found, _, sleeps = resolver(
        [
            httpx.ConnectError("refused"),
            (200, {"subject": "s-value", "id": 11, "version": 2, "schema": SCHEMA}),
        ]
    )
    assert found.registered("s-value", SCHEMA).schema_id == 11
    assert sleeps == [1.0]
