"""Avro in Confluent's wire format, with registry lookups cached: values written with a subject's
registered schema, and bytes read whatever registered version wrote them.

Built for throughput: writer schemas are fetched once per schema id and parsed once, with their
references; each (writer, reader) pair is compiled once into a decoder (:mod:`pipeline.codec`), which
resolves an older or newer writer schema to the reader's as Avro Java does. The bytes are identical to
confluent-kafka's ``AvroSerializer`` and Avro Java's, and readable by them (and the other way round);
``tests/integration/test_serde_interop.py`` and ``tests/unit/codec/test_against_java.py`` hold us to
that.

Which schema a producer writes with is explicit: the exact schema text it was built with (the
catalog's, as the generated module embeds it). Its id is looked up by content under the subject once; a
schema that was never registered is an error that says to run ``make register-schemas`` -- producers
never register schemas themselves.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka.schema_registry import Schema as RegistrySchema
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from pipeline import wire
from pipeline.avro import Schema, SchemaInput, parse_schema
from pipeline.codec import Decoder, Encoder, TypedModel
from pipeline.errors import (
    RegistryError,
    RegistryUnavailableError,
    SchemaMismatchError,
    SchemaViolationError,
    UnknownSchemaError,
)
from pipeline.retry import RetryPolicy

__all__ = ["REGISTRY_OUTAGE_RETRY", "AvroDecoder", "AvroEncoder", "SchemaResolver", "parse"]

log = logging.getLogger(__name__)

_SCHEMA_ID = struct.Struct(">I").unpack_from  # the id after the magic byte


def parse(
    schema: SchemaInput, named: Mapping[str, SchemaInput] | None = None, *, what: str = "schema"
) -> Schema:
    """A schema as stored (text or JSON), with the named types it refers to (full name -> schema), read
    leniently as the registry stores it (defaults are not re-validated)."""
    return parse_schema(schema, named_types=named, validate_defaults=False, what=what)


def _registry_call(what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a SchemaRegistryClient call, converting its errors to ours."""
    try:
        return call(*args, **kwargs)
    except SchemaRegistryError as exc:
        if (exc.http_status_code and exc.http_status_code >= 500) or exc.http_status_code in (-1, None):
            raise RegistryUnavailableError(f"{what}: registry error {exc}", exc.http_status_code) from exc
        raise RegistryError(f"{what}: {exc.error_message}", exc.http_status_code, exc.error_code) from exc
    except (OSError, ConnectionError) as exc:
        raise RegistryUnavailableError(f"{what}: registry unreachable: {exc}") from exc
    except Exception as exc:  # requests/httpx transport errors arrive untyped from the client
        if type(exc).__module__.split(".")[0] in {"httpx", "httpx2", "requests", "urllib3", "httpcore"}:
            raise RegistryUnavailableError(f"{what}: registry unreachable: {exc}") from exc
        raise


# How long a lookup waits out an unreachable registry (RegistryUnavailableError) before giving up: each
# attempt is the client's own retries, then these waits (1, 2, 4, 8, then 10 s): at least 65 s in all,
# about two minutes typically, and well under the consumer's max.poll.interval.ms (300 s).
REGISTRY_OUTAGE_RETRY = RetryPolicy(max_attempts=10, initial_backoff=1.0, multiplier=2.0, max_backoff=10.0)


class SchemaResolver:
    """Registry lookups with caches: schema id -> writer schema, (subject, schema) -> id.

    Thread-safe; each distinct schema is fetched and parsed once per process. While the registry cannot
    be reached, a lookup retries with backoff (``retry``): a transient outage delays the message, it does
    not make it a poison message."""

    def __init__(
        self,
        client: SchemaRegistryClient,
        *,
        retry: RetryPolicy = REGISTRY_OUTAGE_RETRY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._retry = retry
        self._sleep = sleep
        self._lock = threading.Lock()
        self._by_id: dict[int, Schema] = {}
        self._ids: dict[tuple[str, str, tuple[tuple[str, str, int], ...]], tuple[int, int]] = {}

    def writer_schema(self, schema_id: int) -> Schema:
        """The schema registered under ``schema_id``, references resolved."""
        parsed = self._by_id.get(schema_id)
        if parsed is not None:
            return parsed
        with self._lock:
            if schema_id not in self._by_id:
                try:
                    schema = self._call(f"schema id {schema_id}", self._client.get_schema, schema_id)
                except RegistryError as exc:
                    if exc.status == 404:
                        raise UnknownSchemaError(
                            f"schema id {schema_id} is not known to the registry"
                        ) from exc
                    raise
                named: dict[str, str] = {}
                self._collect_references(schema, named)
                try:
                    self._by_id[schema_id] = parse(
                        schema.schema_str or "", named, what=f"schema id {schema_id}"
                    )
                except SchemaViolationError:
                    raise
                except Exception as exc:  # a registered schema we cannot read: every message with it fails
                    raise SchemaMismatchError(f"schema id {schema_id} cannot be read: {exc}") from exc
            return self._by_id[schema_id]

    def _call(self, what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        """A registry call, retried with backoff while the registry is unreachable."""
        attempts = 0
        while True:
            attempts += 1
            try:
                return _registry_call(what, call, *args, **kwargs)
            except RegistryUnavailableError as exc:
                if not self._retry.should_retry(exc, attempts):
                    raise
                delay = self._retry.backoff(attempts)
                log.warning(
                    "%s; retry %d of %d in %.1f s", exc, attempts, self._retry.max_attempts - 1, delay
                )
                self._sleep(delay)

    def _collect_references(self, schema: RegistrySchema, named: dict[str, str]) -> None:
        for ref in schema.references or []:
            if ref.name in named:
                continue
            version = self._call(
                f"reference {ref.name} ({ref.subject} v{ref.version})",
                self._client.get_version,
                ref.subject,
                ref.version,
            )
            self._collect_references(version.schema, named)
            named[str(ref.name)] = version.schema.schema_str or ""

    def schema_id(self, subject: str, schema: RegistrySchema) -> int:
        """The id of exactly ``schema`` under ``subject``; raises RegistryError when it is not registered."""
        return self._lookup(subject, schema)[0]

    def version(self, subject: str, schema: RegistrySchema) -> int:
        """The version of exactly ``schema`` under ``subject``; raises RegistryError when not registered."""
        return self._lookup(subject, schema)[1]

    def _lookup(self, subject: str, schema: RegistrySchema) -> tuple[int, int]:
        refs = tuple((str(r.name), str(r.subject), int(r.version or 0)) for r in schema.references or [])
        key = (subject, schema.schema_str or "", refs)
        found = self._ids.get(key)
        if found is not None:
            return found
        try:
            registered = self._call(
                f"subject {subject}", self._client.lookup_schema, subject, schema, normalize_schemas=False
            )
        except RegistryError as exc:
            if exc.status == 404:
                raise RegistryError(
                    f"subject {subject}: this schema is not registered; run `make register-schemas` "
                    f"(producers never register schemas themselves)",
                    404,
                    exc.code,
                ) from exc
            raise
        found = (int(registered.schema_id), int(registered.version))
        with self._lock:
            self._ids[key] = found
        return found


class AvroEncoder:
    """Writes values of one schema under one schema id, framed: typed against ``model`` (full name ->
    generated class), or generic (dicts) without one."""

    def __init__(self, schema: Schema, schema_id: int, subject: str, model: TypedModel | None = None) -> None:
        self.schema = schema
        self.schema_id = schema_id
        self.subject = subject
        self._header = wire.header(schema_id)
        self._codec = Encoder(schema, model, label=f"subject {subject}")

    def encode(self, value: Any) -> bytes:
        """Framed Avro bytes for ``value``; raises InvalidRecordError naming the field."""
        buf = bytearray(self._header)
        self._codec.write(value, buf)
        return bytes(buf)


class AvroDecoder:
    """Reads framed Avro bytes as one reader schema, whatever registered schema wrote them, building
    ``model``'s classes (full name -> generated class) where it has them."""

    def __init__(
        self,
        resolver: SchemaResolver,
        reader: Schema,
        *,
        topic: str | None = None,
        model: TypedModel | None = None,
    ) -> None:
        self._resolver = resolver
        self.reader = reader
        self._model = model
        self._topic = topic
        self._plans: dict[int, Decoder] = {}
        self._functions: dict[int, Any] = {}  # schema id -> the plan's compiled function

    def _plan(self, schema_id: int) -> Decoder:
        plan = self._plans.get(schema_id)
        if plan is None:
            writer = self._resolver.writer_schema(schema_id)
            plan = Decoder(writer, self.reader, self._model, label=f"schema id {schema_id}")
            self._plans[schema_id] = plan
            self._functions[schema_id] = plan.function
        return plan

    def decode(self, data: bytes) -> Any:
        """The value in ``data``; raises WireFormatError, UnknownSchemaError, SchemaMismatchError,
        CorruptPayloadError, UnrepresentableValueError or NestingLimitError (each a SchemaViolationError
        carrying the topic)."""
        if type(data) is bytes and len(data) >= wire.HEADER_SIZE and data[0] == wire.MAGIC_BYTE:
            # The hot path: Decoder.decode written out, one call less per message.
            function = self._functions.get(_SCHEMA_ID(data, 1)[0])
            if function is not None:
                try:
                    value, end = function(data, wire.HEADER_SIZE)
                except Exception as exc:
                    raise self._failure(exc, data) from exc
                if end == len(data):
                    return value
        return self._decode_slowly(data)

    def _decode_slowly(self, data: bytes) -> Any:
        try:
            schema_id, _ = wire.unframe(data)  # raises WireFormatError for a bad frame
            return self._plan(schema_id).decode(data, wire.HEADER_SIZE)
        except SchemaViolationError as exc:
            exc.topic = exc.topic or self._topic
            raise

    def _failure(self, exc: Exception, data: bytes) -> SchemaViolationError:
        error = self._plans[_SCHEMA_ID(data, 1)[0]].failure(exc, data, wire.HEADER_SIZE)
        error.topic = error.topic or self._topic
        return error
