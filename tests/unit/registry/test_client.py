"""The registry client's own HTTP calls, through httpx's transport seam: the compatibility check,
retries with backoff, Apicurio's workaround, error conversion, and credentials kept out of messages.
(Calls made by confluent-kafka's client are exercised on the real stack.)"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from pipeline.compat import Level
from pipeline.config import RegistrySettings, Secret
from pipeline.errors import RegistryError, RegistryUnavailableError
from pipeline.registry.client import Reference, RegistryClient
from pipeline.retry import RetryPolicy

CCOMPAT = "http://registry.test:8081/apis/ccompat/v7"
REFS = [Reference("t.Money", "t.Money", 3)]
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, url: str = CCOMPAT, **settings: object) -> tuple[RegistryClient, list[float]]:
    slept: list[float] = []
    registry = RegistryClient(
        RegistrySettings(url=url, **settings),  # type: ignore[arg-type]
        retry=RetryPolicy(max_attempts=3, initial_backoff=0.1, jitter=0.0),
        transport=httpx.MockTransport(handler),
        sleep=slept.append,
    )
    return registry, slept


def ccompat_only(answer: httpx.Response) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/system/info"):
            return httpx.Response(404)
        return answer

    return handle


def test_check_asks_latest_with_verbose_and_sends_references() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"is_compatible": True})

    registry, _ = client(handle)
    answer = registry.check("pay-value", '"x"', REFS, Level.BACKWARD)
    assert answer.compatible
    request = seen[0]
    assert request.url.path == "/apis/ccompat/v7/compatibility/subjects/pay-value/versions/latest"
    assert request.url.params["verbose"] == "true"
    assert json.loads(request.content)["references"] == [
        {"name": "t.Money", "subject": "t.Money", "version": 3}
    ]


def test_transitive_levels_check_against_every_version() -> None:
    paths: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode().partition("?")[0])
        return httpx.Response(200, json={"is_compatible": True})

    registry, _ = client(handle)
    registry.check("a/b", '"x"', [], Level.FULL_TRANSITIVE)
    assert paths == ["/apis/ccompat/v7/compatibility/subjects/a%2Fb/versions"]


def test_confluent_explanations_are_kept() -> None:
    body = {"is_compatible": False, "messages": ["READER_FIELD_MISSING_DEFAULT_VALUE at /fields/2"]}
    registry, _ = client(ccompat_only(httpx.Response(200, json=body)))
    answer = registry.check("s", '"x"', [], Level.BACKWARD)
    assert (answer.compatible, answer.messages) == (
        False,
        ("READER_FIELD_MISSING_DEFAULT_VALUE at /fields/2",),
    )


def test_a_subject_without_versions_is_compatible() -> None:
    registry, _ = client(
        ccompat_only(httpx.Response(404, json={"error_code": 40401, "message": "not found"}))
    )
    assert registry.check("s", '"x"', [], Level.BACKWARD).compatible


def test_transient_statuses_are_retried_with_growing_backoff() -> None:
    answers = iter(
        [httpx.Response(503), httpx.Response(502), httpx.Response(200, json={"is_compatible": True})]
    )
    registry, slept = client(lambda request: next(answers))
    assert registry.check("s", '"x"', [], Level.BACKWARD).compatible
    assert slept == [pytest.approx(0.1), pytest.approx(0.2)]


def test_an_unreachable_registry_is_unavailable_after_every_attempt() -> None:
    attempts: list[int] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        raise httpx.ConnectError("connection refused", request=request)

    registry, slept = client(refuse, basic_auth_user="svc", basic_auth_password=Secret("s3cret"))
    with pytest.raises(RegistryUnavailableError, match="is unreachable") as caught:
        registry.check("s", '"x"', [], Level.BACKWARD)
    assert len(attempts) == 3 and len(slept) == 2
    assert "s3cret" not in str(caught.value)


def test_persistent_overload_is_unavailable_not_a_schema_problem() -> None:
    registry, _ = client(lambda request: httpx.Response(503, text="overloaded"))
    with pytest.raises(RegistryUnavailableError) as caught:
        registry.check("s", '"x"', [], Level.BACKWARD)
    assert caught.value.status == 503


def test_rejected_credentials_are_named_but_never_shown() -> None:
    registry, _ = client(
        lambda request: httpx.Response(401, json={"error_code": 40101, "message": "Unauthorized"}),
        bearer_token=Secret("tok-123"),
    )
    with pytest.raises(RegistryError) as caught:
        registry.check("s", '"x"', [], Level.BACKWARD)
    assert not isinstance(caught.value, RegistryUnavailableError)
    assert "SCHEMA_REGISTRY_BEARER_TOKEN" in str(caught.value) and "tok-123" not in str(caught.value)


def test_credentials_go_in_headers_and_out_of_the_shown_url() -> None:
    headers: list[httpx.Headers] = []

    def handle(request: httpx.Request) -> httpx.Response:
        headers.append(request.headers)
        return httpx.Response(200, json={"is_compatible": True})

    registry, _ = client(handle, basic_auth_user="svc", basic_auth_password=Secret("s3cret"))
    registry.check("s", '"x"', [], Level.BACKWARD)
    assert headers[0]["authorization"].startswith("Basic ")
    bearer, _ = client(handle, bearer_token=Secret("tok-123"))
    bearer.check("s", '"x"', [], Level.BACKWARD)
    assert headers[1]["authorization"] == "Bearer tok-123"
    hidden, _ = client(handle, url="http://svc:s3cret@registry.test:8081")
    assert hidden.url == "http://registry.test:8081"


def test_a_registry_without_references_is_told_to_use_inline() -> None:
    registry, _ = client(
        ccompat_only(httpx.Response(422, json={"error_code": 42201, "message": "Invalid schema"}))
    )
    assert registry.server == "Confluent-compatible registry"
    with pytest.raises(RegistryError, match='references = "inline"'):
        registry.check("pay-value", '"x"', REFS, Level.BACKWARD)


def apicurio(ccompat: httpx.Response, dry_run: httpx.Response, seen: list[httpx.Request]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/apis/registry/v3/system/info":
            return httpx.Response(200, json={"name": "Apicurio Registry (SQL)", "version": "3.3.3"})
        if request.url.path.startswith("/apis/registry/v3/groups/default/artifacts/"):
            return dry_run
        return ccompat

    return handle


VIOLATION = {
    "name": "RuleViolationException",
    "title": "Incompatible artifact",
    "causes": [{"description": "merchant_id", "context": "/fields/7"}],
}


def test_apicurio_422_on_references_falls_back_to_its_dry_run() -> None:
    seen: list[httpx.Request] = []
    ccompat = httpx.Response(422, json={"error_code": 42201, "message": "Invalid schema: Syntax violation"})
    registry, _ = client(apicurio(ccompat, httpx.Response(400, json=VIOLATION), seen))
    answer = registry.check("pay-value", '"x"', REFS, Level.BACKWARD)
    assert (answer.compatible, answer.messages) == (False, ("merchant_id at /fields/7",))
    assert registry.server == "Apicurio Registry 3.3.3"
    dry_run = seen[-1]
    assert dry_run.url.path == "/apis/registry/v3/groups/default/artifacts/pay-value/versions"
    assert dry_run.url.params["dryRun"] == "true"
    content = json.loads(dry_run.content)["content"]
    assert content["references"] == [{"artifactId": "t.Money", "version": "3", "name": "t.Money"}]


def test_apicurio_dry_run_passing_means_compatible() -> None:
    ccompat = httpx.Response(422, json={"error_code": 42201, "message": "Invalid schema"})
    registry, _ = client(apicurio(ccompat, httpx.Response(200, json={"version": "2"}), []))
    assert registry.check("pay-value", '"x"', REFS, Level.BACKWARD).compatible


def test_apicurio_gives_no_reasons_so_its_dry_run_explains() -> None:
    ccompat = httpx.Response(200, json={"is_compatible": False})
    registry, _ = client(apicurio(ccompat, httpx.Response(409, json=VIOLATION), []))
    answer = registry.check("s", '"x"', [], Level.BACKWARD)
    assert (answer.compatible, answer.messages) == (False, ("merchant_id at /fields/7",))


@pytest.mark.parametrize(
    ("endpoint", "level", "path"),
    [
        (None, Level.BACKWARD, "versions/latest"),  # by level: what registration compares
        ("versions", Level.BACKWARD, "versions"),  # the gate asks registration's own endpoint
        ("latest", Level.FULL_TRANSITIVE, "versions/latest"),  # explicit beats the level
    ],
)
def test_check_endpoint_can_be_chosen(endpoint: str | None, level: Level, path: str) -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"is_compatible": True})

    registry, _ = client(handle)
    registry.check("s", '"x"', [], level, endpoint=endpoint)  # type: ignore[arg-type]
    assert seen == [f"/apis/ccompat/v7/compatibility/subjects/s/{path}"]


def test_a_404_without_an_error_code_names_the_url_without_its_password() -> None:
    registry, _ = client(
        lambda request: httpx.Response(404, text="Not Found"), url="http://svc:s3cret@registry.test/x"
    )
    with pytest.raises(RegistryError, match="not the root of a Confluent-compatible API") as caught:
        registry.schema_by_id(7)
    assert "s3cret" not in str(caught.value) and "http://registry.test/x/schemas/ids/7" in str(caught.value)
