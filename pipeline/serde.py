"""Avro encoding and decoding in Confluent's wire format, with registry lookups cached.

Built for throughput: schemas are parsed once (fastavro), writer schemas are fetched once per schema id,
and when the writer schema is the reader schema no resolution is done at all. The bytes are identical
to confluent-kafka's ``AvroSerializer`` and readable by its ``AvroDeserializer`` (and the other way
round); ``tests/integration/test_serde_interop.py`` holds us to that.

Which schema a producer writes with is explicit: the exact schema text it was built with (the catalog's,
as the generated module embeds it). Its id is looked up by content under the subject once; a schema
that was never registered is an error that says to run ``make register-schemas`` -- producers never
register schemas themselves.
"""

from __future__ import annotations

import io
import json
import logging
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import fastavro
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from fastavro.validation import ValidationError, validate

from pipeline import wire
from pipeline.compiled_codec import (
    Decoder,
    Encoder,
    Unsupported,
    builds_class,
    compile_decoder,
    compile_encoder,
)
from pipeline.errors import RegistryError, RegistryUnavailableError, SchemaViolationError
from pipeline.retry import RetryPolicy

__all__ = [
    "REGISTRY_OUTAGE_RETRY",
    "AvroDecoder",
    "AvroEncoder",
    "CorruptPayloadError",
    "InvalidRecordError",
    "SchemaMismatchError",
    "SchemaResolver",
    "UnknownSchemaError",
    "parse",
]

log = logging.getLogger(__name__)


_SCHEMA_ID = struct.Struct(">I").unpack_from  # the id after the magic byte

# What reading a damaged body raises, from fastavro or from a compiled decoder.
_CORRUPT = (
    EOFError,
    ValueError,
    IndexError,
    UnicodeDecodeError,
    OverflowError,
    TypeError,
    KeyError,
    struct.error,
)


class UnknownSchemaError(SchemaViolationError):
    """The message names a schema id the registry does not know."""


class CorruptPayloadError(SchemaViolationError):
    """The Avro body cannot be read with its writer schema (truncated, corrupt, trailing bytes)."""


class SchemaMismatchError(SchemaViolationError):
    """The writer schema cannot be resolved to the reader's (e.g. another record's schema id)."""


class InvalidRecordError(SchemaViolationError):
    """A record to be produced does not fit its schema."""


def parse(schema: Any, named: Mapping[str, Any] | None = None) -> Any:
    """Parse a schema (JSON text or object) with fastavro, given already-parsed named types."""
    obj = json.loads(schema) if isinstance(schema, str) else schema
    return fastavro.parse_schema(obj, named_schemas=dict(named or {}))


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
    """Registry lookups with caches: schema id -> parsed writer schema, (subject, schema) -> id.

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
        self._by_id: dict[int, Any] = {}
        self._ids: dict[tuple[str, str, tuple[tuple[str, str, int], ...]], tuple[int, int]] = {}

    def writer_schema(self, schema_id: int) -> Any:
        """The parsed schema registered under ``schema_id``, references resolved."""
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
                named: dict[str, Any] = {}
                self._resolve_references(schema, named)
                self._by_id[schema_id] = parse(schema.schema_str, named)
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

    def _resolve_references(self, schema: Schema, named: dict[str, Any]) -> None:
        for ref in schema.references or []:
            if ref.name in named:
                continue
            version = self._call(
                f"reference {ref.name} ({ref.subject} v{ref.version})",
                self._client.get_version,
                ref.subject,
                ref.version,
            )
            self._resolve_references(version.schema, named)
            fastavro.parse_schema(json.loads(version.schema.schema_str), named_schemas=named)

    def schema_id(self, subject: str, schema: Schema) -> int:
        """The id of exactly ``schema`` under ``subject``; raises RegistryError when it is not registered."""
        return self._lookup(subject, schema)[0]

    def version(self, subject: str, schema: Schema) -> int:
        """The version of exactly ``schema`` under ``subject``; raises RegistryError when not registered."""
        return self._lookup(subject, schema)[1]

    def _lookup(self, subject: str, schema: Schema) -> tuple[int, int]:
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


@dataclass(frozen=True)
class AvroEncoder:
    """Encodes datums with one schema under one schema id."""

    parsed: Any
    schema_id: int
    subject: str
    _header: bytes = field(init=False, repr=False, compare=False)
    _compiled: Encoder | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_header", wire.header(self.schema_id))
        try:
            compiled: Encoder | None = compile_encoder(self.parsed)
        except Unsupported:
            compiled = None
        object.__setattr__(self, "_compiled", compiled)

    def encode(self, datum: Any) -> bytes:
        """Framed Avro bytes for ``datum``; raises InvalidRecordError naming the field.

        The schema's compiled encoder writes datums in their canonical shape; any other datum (and any
        datum it declines) is written by fastavro, so the bytes and the verdicts are fastavro's."""
        if self._compiled is not None:
            buf = bytearray(self._header)
            try:
                self._compiled(datum, buf)
            except Exception:  # not a canonical datum: fastavro decides what it means
                pass
            else:
                return bytes(buf)
        stream = io.BytesIO()
        stream.write(self._header)
        try:
            fastavro.schemaless_writer(stream, self.parsed, datum)
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
            raise self._explain(datum, exc) from exc
        return stream.getvalue()

    def _explain(self, datum: Any, exc: Exception) -> InvalidRecordError:
        field_path: str | None = None
        detail = str(exc)
        try:
            validate(datum, self.parsed, raise_errors=True)
        except ValidationError as verr:
            first = verr.errors[0]
            field_path, detail = first.field, f"{first.field} is {first.datum!r}, expected {first.schema}"
        except Exception:  # validate can trip on the same bad datum; keep the writer's message
            pass
        return InvalidRecordError(
            f"subject {self.subject}: record does not fit its schema: {detail}", field_path=field_path
        )


class AvroDecoder:
    """Decodes framed Avro bytes into datums of one reader schema, whatever schema id wrote them.

    With ``convert`` (a generated class's ``from_avro``) it returns typed values; ``classes`` (full name
    -> generated class) then lets a flat record be built as its class straight from the bytes."""

    def __init__(
        self,
        resolver: SchemaResolver,
        reader: Any,
        *,
        topic: str | None = None,
        tagged_unions: bool = False,
        convert: Callable[[Any], Any] | None = None,
        classes: Mapping[str, type] | None = None,
    ) -> None:
        self._resolver = resolver
        self._tagged = tagged_unions
        self._convert = convert
        self._classes = classes if convert is not None else None
        self._reader = reader
        self._reader_form = fastavro.schema.to_parsing_canonical_form(reader)
        self._topic = topic
        self._plans: dict[int, tuple[Any, Any, Decoder | None, bool]] = {}

    def _plan(self, schema_id: int) -> tuple[Any, Any, Decoder | None, bool]:
        """(writer schema, reader schema or None when they are the same, compiled decoder or None,
        whether that decoder already builds typed values)."""
        plan = self._plans.get(schema_id)
        if plan is None:
            writer = self._resolver.writer_schema(schema_id)
            same = fastavro.schema.to_parsing_canonical_form(writer) == self._reader_form
            compiled: Decoder | None = None
            typed = False
            if same:  # schema resolution stays fastavro's
                try:
                    compiled = compile_decoder(writer, tagged=self._tagged, classes=self._classes)
                    typed = self._classes is not None and builds_class(writer, self._classes)
                except Unsupported:
                    compiled = None
            plan = (writer, None if same else self._reader, compiled, typed)
            self._plans[schema_id] = plan
        return plan

    def decode(self, data: bytes) -> Any:
        """The datum in ``data``; raises WireFormatError, UnknownSchemaError, SchemaMismatchError or
        CorruptPayloadError."""
        if type(data) is bytes and len(data) >= wire.HEADER_SIZE and data[0] == wire.MAGIC_BYTE:
            schema_id = _SCHEMA_ID(data, 1)[0]
            plan = self._plans.get(schema_id) or self._plan(schema_id)
            if plan[2] is not None:  # the hot path: a compiled decoder reads the bytes in place
                datum = self._decode_compiled(plan[2], data, schema_id)
                return datum if plan[3] or self._convert is None else self._convert(datum)
        else:
            schema_id, _ = wire.unframe(data)  # raises WireFormatError for a bad frame
            plan = self._plan(schema_id)
        writer, reader, _, _ = plan
        body = memoryview(data)[wire.HEADER_SIZE :]
        stream = io.BytesIO(body)
        try:
            datum = fastavro.schemaless_reader(stream, writer, reader, return_named_type=self._tagged)
        except fastavro.read.SchemaResolutionError as exc:
            raise SchemaMismatchError(
                f"schema id {schema_id} cannot be read as the topic's schema: {str(exc)[:300]}",
                topic=self._topic,
            ) from exc
        except _CORRUPT as exc:
            raise CorruptPayloadError(
                f"Avro body ({len(body)} bytes, schema id {schema_id}) is corrupt: "
                f"{type(exc).__name__}: {exc}",
                topic=self._topic,
            ) from exc
        if stream.tell() != len(body):
            raise CorruptPayloadError(
                f"Avro body (schema id {schema_id}) has {len(body) - stream.tell()} "
                "trailing bytes after the record",
                topic=self._topic,
            )
        return datum if self._convert is None else self._convert(datum)

    def _decode_compiled(self, decoder: Decoder, data: bytes, schema_id: int) -> Any:
        try:
            datum, end = decoder(data, wire.HEADER_SIZE)
        except _CORRUPT as exc:
            raise CorruptPayloadError(
                f"Avro body ({len(data) - wire.HEADER_SIZE} bytes, schema id {schema_id}) is corrupt: "
                f"{type(exc).__name__}: {exc}",
                topic=self._topic,
            ) from exc
        if end != len(data):
            raise CorruptPayloadError(
                f"Avro body (schema id {schema_id}) has {len(data) - end} trailing bytes after the record",
                topic=self._topic,
            )
        return datum
