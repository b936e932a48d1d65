"""The Schema Registry client: every call this project makes to a registry, over Confluent's REST API
(and, on Apicurio Registry only, one call of its own API; see :meth:`RegistryClient.check`).

One client, one error conversion, one retry budget: a call that cannot reach the registry, or that the
registry answers with 408, 429 or a 5xx, is retried with the client's :class:`RetryPolicy` (backoff and
jitter) and then raises :class:`RegistryUnavailableError`; any other error answer raises
:class:`RegistryError` with the HTTP status and the registry's error code, in a sentence that names the
registry and what was asked. The commands use a short budget; the running pipelines' lookups one that
waits out an outage (:data:`OUTAGE_RETRY`). Credentials come from
:class:`~pipeline.config.RegistrySettings` and never appear in a message.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from pipeline.config import RegistrySettings
from pipeline.errors import ConfigError, RegistryError, RegistryUnavailableError
from pipeline.retry import RetryPolicy

if TYPE_CHECKING:  # levels are the tooling's business: a running pipeline never loads the checker
    from pipeline.compat import Level

__all__ = [
    "OUTAGE_RETRY",
    "QUICK_RETRY",
    "CompatibilityAnswer",
    "Reference",
    "RegisteredVersion",
    "RegistryClient",
    "StoredSchema",
]

log = logging.getLogger(__name__)

#: What a command waits for a registry that fails: about 4 s of backoff over 3 attempts.
QUICK_RETRY = RetryPolicy(max_attempts=3, initial_backoff=0.5, max_backoff=4.0)
#: What a running pipeline's lookup waits out (an unknown schema id mid-stream, a producer opening):
#: waits of 1, 2, 4, 8, then 10 s, about a minute in all, well under the consumer's
#: max.poll.interval.ms (300 s). A transient outage delays a message; it does not make it a poison one.
OUTAGE_RETRY = RetryPolicy(max_attempts=10, initial_backoff=1.0, multiplier=2.0, max_backoff=10.0)

# A registry that times out, throttles or fails (any 5xx) is unavailable for now: retried, then reported
# as unavailable (exit 2), never as a wrong answer.
_UNAVAILABLE = frozenset({408, 429, *range(500, 600)})
_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
_INLINE_HINT = (
    'if this registry cannot do schema references, set references = "inline" under [registry] in '
    "catalog.toml to register fully inlined schemas instead"
)
_CCOMPAT_SUFFIXES = ("/apis/ccompat/v7", "/apis/ccompat/v6")


@dataclass(frozen=True)
class Reference:
    """A Schema Registry reference: the type's name as the schema text uses it, the subject that holds
    it and the version of that subject."""

    name: str
    subject: str
    version: int


@dataclass(frozen=True)
class RegisteredVersion:
    """A schema as registered under a subject."""

    subject: str
    version: int
    schema_id: int


@dataclass(frozen=True)
class StoredSchema:
    """A schema as the registry holds it: its text and references (and, when it was asked for by
    subject, the subject and version; by id, these are empty and 0)."""

    subject: str
    version: int
    schema_id: int
    text: str
    references: tuple[Reference, ...]


@dataclass(frozen=True)
class CompatibilityAnswer:
    """The registry's verdict on a candidate, with its explanations when it gave any."""

    compatible: bool
    messages: tuple[str, ...] = ()


def _redact(url: str) -> str:
    """``url`` without any user:password part."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


class RegistryClient:
    """A registry session. Nothing is sent until a method is called; :meth:`close` when done (or use
    it as a context manager). ``transport`` and ``sleep`` are seams for tests."""

    def __init__(
        self,
        settings: RegistrySettings,
        *,
        retry: RetryPolicy = QUICK_RETRY,
        timeout: float = 8.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = _redact(settings.url)
        self._retry = retry
        self._sleep = sleep
        headers = {"Accept": _CONTENT_TYPE + ", application/json"}
        auth: httpx.Auth | None = None
        if settings.bearer_token is not None:
            headers["Authorization"] = f"Bearer {settings.bearer_token.reveal()}"
        elif settings.basic_auth_user and settings.basic_auth_password:
            auth = httpx.BasicAuth(settings.basic_auth_user, settings.basic_auth_password.reveal())
        verify: ssl.SSLContext | bool = True
        if settings.ca_location:
            try:
                verify = ssl.create_default_context(cafile=settings.ca_location)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    f"SCHEMA_REGISTRY_CA_LOCATION={settings.ca_location}: not a readable CA bundle: {exc}"
                ) from exc
        self._http = httpx.Client(
            base_url=settings.url.rstrip("/") + "/",
            headers=headers,
            auth=auth,
            verify=verify,
            timeout=timeout,
            transport=transport,
        )
        self._server: str | None = None

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- reading and registering ---------------------------------------------------------------
    def lookup(self, subject: str, text: str, references: Sequence[Reference]) -> RegisteredVersion | None:
        """The version of ``subject`` holding exactly this text and references, or None."""
        what = f"looking up the schema of subject {subject!r}"
        found = self._json(
            "POST", f"subjects/{_q(subject)}", what, absent=(40401, 40403), json=_body(text, references),
            params={"normalize": "false"},
        )  # fmt: skip
        return None if found is None else RegisteredVersion(subject, int(found["version"]), int(found["id"]))

    def register(self, subject: str, text: str, references: Sequence[Reference]) -> RegisteredVersion:
        """Register the schema (the registry enforces the subject's level) and return its version."""
        what = f"registering subject {subject!r}"
        try:
            registered = self._json(
                "POST", f"subjects/{_q(subject)}/versions", what, json=_body(text, references)
            )
        except RegistryError as exc:
            if exc.status == 422 and references:
                raise RegistryError(f"{exc}; {_INLINE_HINT}", status=exc.status, code=exc.code) from exc
            raise
        assert registered is not None
        if "version" not in registered:
            # Confluent answers a registration with the id alone; ask for the version.
            found = self.lookup(subject, text, references)
            if found is None:
                raise RegistryError(f"subject {subject!r}: registered, but the registry cannot find it again")
            return found
        return RegisteredVersion(subject, int(registered["version"]), int(registered["id"]))

    def latest(self, subject: str) -> RegisteredVersion | None:
        """The subject's latest version, or None when it has none."""
        found = self.schema(subject, "latest", absent=True)
        return None if found is None else RegisteredVersion(subject, found.version, found.schema_id)

    def versions(self, subject: str) -> list[int]:
        """The subject's version numbers (empty when it does not exist)."""
        what = f"listing the versions of subject {subject!r}"
        found = self._json("GET", f"subjects/{_q(subject)}/versions", what, absent=(40401,))
        return [] if found is None else [int(v) for v in found]

    def schema(self, subject: str, version: int | str, *, absent: bool = False) -> Any:
        """Version ``version`` (or ``"latest"``) of ``subject``, as a :class:`StoredSchema`; None when
        the registry has none and ``absent``, else RegistryError 404."""
        what = f"reading version {version} of subject {subject!r}"
        found = self._json(
            "GET", f"subjects/{_q(subject)}/versions/{version}", what, absent=(40401, 40402) if absent else ()
        )
        if found is None:
            return None
        return StoredSchema(
            subject, int(found["version"]), int(found["id"]), str(found["schema"]), _references(found)
        )

    def schema_by_id(self, schema_id: int) -> StoredSchema | None:
        """The schema registered under ``schema_id``, or None when the registry knows no such id."""
        found = self._json(
            "GET", f"schemas/ids/{schema_id}", f"reading schema id {schema_id}", absent=(40403,)
        )
        if found is None:
            return None
        return StoredSchema("", 0, schema_id, str(found["schema"]), _references(found))

    def delete_subject(self, subject: str, *, permanent: bool = False) -> None:
        """Delete ``subject`` (softly, or ``permanent``ly after a soft delete); absent is fine."""
        params = {"permanent": "true"} if permanent else None
        self._json(
            "DELETE",
            f"subjects/{_q(subject)}",
            f"deleting subject {subject!r}",
            absent=(40401, 40404),
            params=params,
        )

    # -- compatibility levels -------------------------------------------------------------------
    def effective_level(self, subject: str) -> Level:
        """The level the registry applies to ``subject``: its own, else the registry's global one."""
        own = self.level(subject)
        if own is not None:
            return own
        found = self._json("GET", "config", "reading the global compatibility level")
        return _level(found)

    def level(self, subject: str) -> Level | None:
        """The level set on the subject itself, or None when it has none of its own. (Apicurio
        reports the global level for an existing subject without one; see the README's table.)"""
        what = f"reading the compatibility level of subject {subject!r}"
        found = self._json("GET", f"config/{_q(subject)}", what, absent=(40401, 40408))
        return None if found is None else _level(found)

    def set_level(self, subject: str, level: Level) -> None:
        """Set the subject's own compatibility level."""
        what = f"setting the compatibility level of subject {subject!r} to {level}"
        self._json("PUT", f"config/{_q(subject)}", what, json={"compatibility": level.value})

    def clear_level(self, subject: str) -> None:
        """Remove the subject's own level, so that it follows the global one again."""
        what = f"clearing the compatibility level of subject {subject!r}"
        self._json("DELETE", f"config/{_q(subject)}", what, absent=(40401, 40408))

    # -- calls made with httpx ---------------------------------------------------------------------
    def check(
        self,
        subject: str,
        text: str,
        references: Sequence[Reference],
        level: Level,
        *,
        endpoint: Literal["latest", "versions"] | None = None,
    ) -> CompatibilityAnswer:
        """Ask the registry whether the candidate may be registered under ``subject`` at its current
        level: ``POST /compatibility/subjects/{subject}/versions/latest`` (``/versions``, i.e. all
        of them, for transitive levels) with ``verbose=true``. ``endpoint`` asks one of the two
        explicitly: ``"versions"`` is the endpoint Confluent documents as running registration's own
        check at the subject's level (Apicurio checks every version there, even at non-transitive
        levels; see tests/integration/test_compat_registry.py).

        Apicurio Registry 3.3's Confluent-compatible endpoint cannot check a candidate that has
        references against a subject that has versions: it answers HTTP 422 (error code 42201,
        "Invalid schema: Syntax violation for Avro artifact") whatever the schema. On Apicurio the same
        question is then asked of its own API as a dry-run registration
        (``POST /apis/registry/v3/groups/default/artifacts/{subject}/versions?dryRun=true``), which
        applies the same compatibility rule and also explains a failure. Apicurio's endpoint never
        explains a failure either (``verbose`` is ignored), so its dry run supplies the reasons."""
        path = f"compatibility/subjects/{_q(subject)}/versions"
        if endpoint == "latest" or (endpoint is None and not level.transitive):
            path += "/latest"
        body = _body(text, references)
        what = f"checking the compatibility of subject {subject!r}"
        response = self._send("POST", path, what, json=body, params={"verbose": "true"})
        if response.status_code == 200:
            answer = response.json()
            messages = tuple(str(m) for m in answer.get("messages") or ())
            if not answer.get("is_compatible", False) and not messages and self.server.startswith("Apicurio"):
                messages = self._apicurio_dry_run(subject, text, references).messages
            return CompatibilityAnswer(bool(answer.get("is_compatible", False)), messages)
        code = _error_code(response)
        if response.status_code == 404 and code in (40401, 40402):
            return CompatibilityAnswer(True, ("the subject has no versions yet",))
        if response.status_code == 422 and references and self.server.startswith("Apicurio"):
            return self._apicurio_dry_run(subject, text, references)
        if response.status_code == 422 and references:
            raise RegistryError(
                f"subject {subject!r}: the registry at {self.url} rejects a schema with references "
                f"({_error_text(response)}); {_INLINE_HINT}",
                status=422,
                code=code,
            )
        raise self._error(what, response)

    @property
    def server(self) -> str:
        """What answers at the URL: ``"Apicurio Registry <version>"`` when Apicurio's own API says so
        beside the Confluent-compatible one, else ``"Confluent-compatible registry"``. Asked once."""
        if self._server is not None:
            return self._server
        server, root = "Confluent-compatible registry", self._apicurio_root()
        if root is not None:
            try:
                response = self._http.get(f"{root}/apis/registry/v3/system/info")
            except httpx.TransportError:
                return server  # not known yet: ask again next time
            info = _json(response) if response.status_code == 200 else {}
            if "Apicurio" in str(info.get("name", "")):
                server = f"Apicurio Registry {info.get('version', '')}".strip()
        self._server = server
        return server

    def _apicurio_root(self) -> str | None:
        base = str(self._http.base_url).rstrip("/")
        for suffix in _CCOMPAT_SUFFIXES:
            if base.endswith(suffix):
                return base.removesuffix(suffix)
        return None

    def _apicurio_dry_run(
        self, subject: str, text: str, references: Sequence[Reference]
    ) -> CompatibilityAnswer:
        root = self._apicurio_root()
        assert root is not None
        refs = [{"artifactId": r.subject, "version": str(r.version), "name": r.name} for r in references]
        body = {"content": {"content": text, "contentType": "application/json", "references": refs}}
        url = f"{root}/apis/registry/v3/groups/default/artifacts/{quote(subject, safe='')}/versions"
        what = f"checking the compatibility of subject {subject!r} (Apicurio dry run)"
        response = self._send("POST", url, what, json=body, params={"dryRun": "true"})
        if response.status_code == 200:
            return CompatibilityAnswer(True)
        problem = _json(response)
        if problem.get("name") == "RuleViolationException":
            causes = tuple(
                f"{cause.get('description', '')} at {cause.get('context', '')}".removesuffix(" at ")
                for cause in problem.get("causes") or ()
                if isinstance(cause, dict)
            )
            return CompatibilityAnswer(False, causes or (str(problem.get("title", "incompatible")),))
        raise self._error(what, response)

    def _json(self, method: str, url: str, what: str, *, absent: tuple[int, ...] = (), **kwargs: Any) -> Any:
        """One call's JSON answer; None when the registry answers 404 with an error code in ``absent``
        (that thing is not there)."""
        response = self._send(method, url, what, **kwargs)
        if response.status_code < 300:
            return response.json() if response.content else {}
        if response.status_code == 404 and _error_code(response) in absent:
            return None
        raise self._error(what, response)

    def _send(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        """One request, retried with backoff on connection failures and transient statuses."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if not self._retry.should_retry(exc, attempt):
                    raise RegistryUnavailableError(
                        f"the schema registry at {self.url} is unreachable ({what}): {_transport_text(exc)}"
                    ) from exc
                reason = _transport_text(exc)
            else:
                if response.status_code not in _UNAVAILABLE or attempt >= self._retry.max_attempts:
                    return response
                reason = f"HTTP {response.status_code}"
            delay = self._retry.backoff(attempt)
            log.warning(
                "%s: %s; retry %d of %d in %.1f s", what, reason, attempt, self._retry.max_attempts - 1, delay
            )
            self._sleep(delay)

    def _error(self, what: str, response: httpx.Response) -> RegistryError:
        """THE conversion of an error answer: a sentence naming the registry, what was asked, the
        status and the registry's error code, with a hint where one helps."""
        status, code = response.status_code, _error_code(response)
        message = f"{what}: the registry at {self.url} answered {_error_text(response)}"
        if status in _UNAVAILABLE:
            return RegistryUnavailableError(message, status=status, code=code)
        if status in (401, 403):
            message += "; check SCHEMA_REGISTRY_BASIC_AUTH / SCHEMA_REGISTRY_BEARER_TOKEN"
        elif status == 404 and code is None:
            asked = _redact(str(response.request.url.copy_with(query=None)))
            message = (
                f"{what}: {asked} answered HTTP 404 without a Schema "
                f"Registry error code, so {self.url} is not the root of a Confluent-compatible API; for "
                f"Apicurio Registry the URL ends in /apis/ccompat/v7 (SCHEMA_REGISTRY_URL)"
            )
        return RegistryError(message, status=status, code=code)


def _q(name: str) -> str:
    return quote(name, safe="")


def _body(text: str, references: Sequence[Reference]) -> dict[str, Any]:
    return {"schema": text, "schemaType": "AVRO", "references": [_ref_json(r) for r in references]}


def _references(found: dict[str, Any]) -> tuple[Reference, ...]:
    return tuple(
        Reference(str(r["name"]), str(r["subject"]), int(r["version"])) for r in found.get("references") or ()
    )


def _level(found: Any) -> Level:
    from pipeline.compat import Level

    value = found.get("compatibilityLevel") or found.get("compatibility") if isinstance(found, dict) else None
    try:
        return Level(str(value))
    except ValueError as exc:
        raise RegistryError(f"the registry reported an unknown compatibility level {value!r}") from exc


def _transport_text(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within the timeout ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def _ref_json(reference: Reference) -> dict[str, Any]:
    return {"name": reference.name, "subject": reference.subject, "version": reference.version}


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_code(response: httpx.Response) -> int | None:
    code = _json(response).get("error_code")
    return code if isinstance(code, int) else None


def _error_text(response: httpx.Response) -> str:
    body = _json(response)
    message = body.get("message") or body.get("detail") or body.get("title") or response.text[:200]
    code = body.get("error_code")
    return f"HTTP {response.status_code}" + (f", code {code}" if code is not None else "") + f": {message}"
