"""The Schema Registry as the bootstrap needs it: look a schema up, register it, read and set a
subject's compatibility level, and ask whether a candidate is compatible.

confluent-kafka's ``SchemaRegistryClient`` makes the calls it covers (lookup, register, latest
version, versions, compatibility level); httpx makes the rest: the compatibility check (the client
drops the registry's explanations) and, on Apicurio Registry, one workaround described at
:meth:`RegistryClient.check`. Both retry transient failures (connection errors, 408/429/5xx) with
exponential backoff. Every third-party error leaves this module as a RegistryError, or
RegistryUnavailableError when the registry cannot be reached. Credentials come from
:class:`~pipeline.config.RegistrySettings` and never appear in a message.

Only Confluent's REST API is used against Confluent Schema Registry; Apicurio's own API is touched
only after Apicurio has been recognised (see :attr:`RegistryClient.server`).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from pipeline.catalog import Compatibility
from pipeline.config import RegistrySettings, registry_client_config
from pipeline.errors import RegistryError, RegistryUnavailableError
from pipeline.retry import RetryPolicy

__all__ = ["CompatibilityAnswer", "Reference", "RegisteredVersion", "RegistryClient", "StoredSchema"]

# confluent-kafka's client runs on httpx2 (httpx's successor) when it is installed, else on httpx; a
# connection failure surfaces as that library's TransportError.
_CLIENT_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (httpx.TransportError,)
try:
    import httpx2

    _CLIENT_TRANSPORT_ERRORS += (httpx2.TransportError,)
except ImportError:  # pragma: no cover - depends on what confluent-kafka pulled in
    pass

_RETRIABLE = frozenset({408, 429, 500, 502, 503, 504})
_UNAVAILABLE = frozenset({408, 429, 502, 503, 504})
_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
_INLINE_HINT = (
    'if this registry cannot do schema references, set references = "inline" under [registry] in '
    "catalog.toml to register fully inlined schemas instead"
)
_CCOMPAT_SUFFIXES = ("/apis/ccompat/v7", "/apis/ccompat/v6")


@dataclass(frozen=True)
class Reference:
    """A Schema Registry reference with its version resolved."""

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
    """One version of a subject as the registry holds it: its text and references."""

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
        retry: RetryPolicy | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = _redact(settings.url)
        self._retry = retry or RetryPolicy(max_attempts=4, initial_backoff=0.5, max_backoff=8.0)
        self._sleep = sleep
        conf = registry_client_config(settings)
        conf.update(
            {
                "timeout": timeout,
                "max.retries": self._retry.max_attempts - 1,
                "retries.wait.ms": int(self._retry.initial_backoff * 1000),
                "retries.max.wait.ms": int(self._retry.max_backoff * 1000),
            }
        )
        self._client = SchemaRegistryClient(conf)
        headers = {"Accept": _CONTENT_TYPE + ", application/json"}
        auth: httpx.Auth | None = None
        if settings.bearer_token is not None:
            headers["Authorization"] = f"Bearer {settings.bearer_token.reveal()}"
        elif settings.basic_auth_user and settings.basic_auth_password:
            auth = httpx.BasicAuth(settings.basic_auth_user, settings.basic_auth_password.reveal())
        verify: ssl.SSLContext | bool = True
        if settings.ca_location:
            verify = ssl.create_default_context(cafile=settings.ca_location)
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
        self._client.close()

    # -- calls SchemaRegistryClient covers ---------------------------------------------------------
    def lookup(self, subject: str, text: str, references: Sequence[Reference]) -> RegisteredVersion | None:
        """The version of ``subject`` holding exactly this text and references, or None."""
        with self._errors(f"looking up the schema of subject {subject!r}", absent=(40401, 40403)):
            found = self._client.lookup_schema(subject, _schema(text, references))
            assert found.version is not None and found.schema_id is not None
            return RegisteredVersion(subject, found.version, found.schema_id)
        return None

    def register(self, subject: str, text: str, references: Sequence[Reference]) -> RegisteredVersion:
        """Register the schema (the registry enforces the subject's level) and return its version."""
        try:
            with self._errors(f"registering subject {subject!r}"):
                registered = self._client.register_schema_full_response(subject, _schema(text, references))
        except RegistryError as exc:
            if exc.status == 422 and references:
                raise RegistryError(f"{exc}; {_INLINE_HINT}", status=exc.status, code=exc.code) from exc
            raise
        if registered.version is None:
            # Confluent answers a registration with the id alone; ask for the version.
            found = self.lookup(subject, text, references)
            if found is None:
                raise RegistryError(f"subject {subject!r}: registered, but the registry cannot find it again")
            return found
        assert registered.schema_id is not None
        return RegisteredVersion(subject, registered.version, registered.schema_id)

    def latest(self, subject: str) -> RegisteredVersion | None:
        """The subject's latest version, or None when it has none."""
        with self._errors(f"reading the latest version of subject {subject!r}", absent=(40401, 40402)):
            found = self._client.get_latest_version(subject)
            assert found.version is not None and found.schema_id is not None
            return RegisteredVersion(subject, found.version, found.schema_id)
        return None

    def versions(self, subject: str) -> list[int]:
        """The subject's version numbers (empty when it does not exist)."""
        with self._errors(f"listing the versions of subject {subject!r}", absent=(40401,)):
            return list(self._client.get_versions(subject))
        return []

    def schema(self, subject: str, version: int) -> StoredSchema:
        """Version ``version`` of ``subject``: its text and references (RegistryError 404 when the
        registry has no such version)."""
        with self._errors(f"reading version {version} of subject {subject!r}"):
            found = self._client.get_version(subject, version)
            assert found.version is not None and found.schema_id is not None
            refs = tuple(
                Reference(str(r.name), str(r.subject), int(r.version or 0))
                for r in found.schema.references or ()
            )
            text = found.schema.schema_str or ""
            return StoredSchema(subject, found.version, found.schema_id, text, refs)
        raise AssertionError("unreachable: every error is raised")  # pragma: no cover

    def effective_level(self, subject: str) -> Compatibility:
        """The level the registry applies to ``subject``: its own, else the registry's global one."""
        own = self.level(subject)
        if own is not None:
            return own
        with self._errors("reading the global compatibility level"):
            return Compatibility(self._client.get_compatibility())
        raise AssertionError("unreachable: every error is raised")  # pragma: no cover

    def level(self, subject: str) -> Compatibility | None:
        """The level set on the subject itself, or None when it has none of its own. (Apicurio
        reports the global level for an existing subject without one; see the project notes.)"""
        what = f"reading the compatibility level of subject {subject!r}"
        with self._errors(what, absent=(40401, 40408)):
            return Compatibility(self._client.get_compatibility(subject))
        return None

    def set_level(self, subject: str, level: Compatibility) -> None:
        """Set the subject's own compatibility level."""
        with self._errors(f"setting the compatibility level of subject {subject!r} to {level}"):
            self._client.set_compatibility(subject, level.value)

    def clear_level(self, subject: str) -> None:
        """Remove the subject's own level, so that it follows the global one again."""
        with self._errors(f"clearing the compatibility level of subject {subject!r}", absent=(40401, 40408)):
            self._client.delete_config(subject)

    # -- calls made with httpx ---------------------------------------------------------------------
    def check(
        self,
        subject: str,
        text: str,
        references: Sequence[Reference],
        level: Compatibility,
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
        path = f"compatibility/subjects/{quote(subject, safe='')}/versions"
        if endpoint == "latest" or (endpoint is None and not level.transitive):
            path += "/latest"
        body = {"schema": text, "schemaType": "AVRO", "references": [_ref_json(r) for r in references]}
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

    def _send(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        """One request, retried on connection failures and transient statuses."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if attempt >= self._retry.max_attempts:
                    raise self._unreachable(what, exc) from exc
            else:
                if response.status_code not in _RETRIABLE or attempt >= self._retry.max_attempts:
                    return response
            self._sleep(self._retry.backoff(attempt))

    def _error(self, what: str, response: httpx.Response) -> RegistryError:
        status, code = response.status_code, _error_code(response)
        message = f"{what}: the registry at {self.url} answered {_error_text(response)}"
        if status in _UNAVAILABLE:
            return RegistryUnavailableError(message, status=status, code=code)
        if status in (401, 403):
            message += "; check SCHEMA_REGISTRY_BASIC_AUTH / SCHEMA_REGISTRY_BEARER_TOKEN"
        return RegistryError(message, status=status, code=code)

    @contextmanager
    def _errors(self, what: str, absent: tuple[int, ...] = ()) -> Iterator[None]:
        """Convert confluent-kafka's errors. Registry error codes in ``absent`` mean "not there": the
        error is swallowed and the code after the ``with`` block runs."""
        try:
            yield
        except SchemaRegistryError as exc:
            if exc.error_code in absent:
                return
            status, code = exc.http_status_code, exc.error_code
            message = (
                f"{what}: the registry at {self.url} answered HTTP {status}, code {code}: {exc.error_message}"
            )
            if status in _UNAVAILABLE:
                raise RegistryUnavailableError(message, status=status, code=code) from exc
            if status in (401, 403):
                message += "; check SCHEMA_REGISTRY_BASIC_AUTH / SCHEMA_REGISTRY_BEARER_TOKEN"
            raise RegistryError(message, status=status, code=code) from exc
        except _CLIENT_TRANSPORT_ERRORS as exc:
            raise self._unreachable(what, exc) from exc

    def _unreachable(self, what: str, exc: Exception) -> RegistryUnavailableError:
        return RegistryUnavailableError(
            f"the schema registry at {self.url} is unreachable ({what}): {type(exc).__name__}: {exc}"
        )


def _schema(text: str, references: Sequence[Reference]) -> Schema:
    refs = [SchemaReference(r.name, r.subject, r.version) for r in references]
    return Schema(text, "AVRO", refs)


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
