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

import struct
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.avro import Record, Schema, SchemaInput, Union, describe, parse_schema
from pipeline.codec import Decoder, Encoder, TypedModel, wire
from pipeline.codec.values import choose_branch
from pipeline.errors import (
    InvalidRecordError,
    RegistryError,
    SchemaMismatchError,
    SchemaViolationError,
    UnknownSchemaError,
)
from pipeline.registry.client import Reference, RegisteredVersion, RegistryClient

__all__ = ["AvroDecoder", "AvroEncoder", "OneOfEncoder", "SchemaResolver", "parse"]

_SCHEMA_ID = struct.Struct(">I").unpack_from  # the id after the magic byte


def parse(
    schema: SchemaInput, named: Mapping[str, SchemaInput] | None = None, *, what: str = "schema"
) -> Schema:
    """A schema as stored (text or JSON), with the named types it refers to (full name -> schema), read
    leniently as the registry stores it (defaults are not re-validated)."""
    return parse_schema(schema, named_types=named, validate_defaults=False, what=what)


class SchemaResolver:
    """Registry lookups with caches: schema id -> writer schema, (subject, text, references) -> the
    registered id and version.

    Thread-safe; each distinct schema is fetched and parsed once per process. How long a lookup waits
    out an unreachable registry is the client's retry budget (``registry.OUTAGE_RETRY`` for the running
    pipelines: a transient outage delays a message, it does not make it a poison message)."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._by_id: dict[int, Schema] = {}
        self._ids: dict[tuple[str, str, tuple[Reference, ...]], RegisteredVersion] = {}

    def writer_schema(self, schema_id: int) -> Schema:
        """The schema registered under ``schema_id``, references resolved."""
        parsed = self._by_id.get(schema_id)
        if parsed is not None:
            return parsed
        with self._lock:
            if schema_id not in self._by_id:
                stored = self.client.schema_by_id(schema_id)
                if stored is None:
                    raise UnknownSchemaError(f"schema id {schema_id} is not known to the registry")
                named: dict[str, str] = {}
                self._collect_references(stored.references, named)
                try:
                    self._by_id[schema_id] = parse(stored.text, named, what=f"schema id {schema_id}")
                except SchemaViolationError:
                    raise
                except Exception as exc:  # a registered schema we cannot read: every message with it fails
                    raise SchemaMismatchError(f"schema id {schema_id} cannot be read: {exc}") from exc
            return self._by_id[schema_id]

    def _collect_references(self, references: Sequence[Reference], named: dict[str, str]) -> None:
        for ref in references:
            if ref.name not in named:
                stored = self.client.schema(ref.subject, ref.version)
                self._collect_references(stored.references, named)
                named[ref.name] = stored.text

    def registered(self, subject: str, text: str, references: Sequence[Reference] = ()) -> RegisteredVersion:
        """The id and version of exactly this schema under ``subject``; RegistryError when it is not
        registered (producers never register schemas themselves)."""
        key = (subject, text, tuple(references))
        found = self._ids.get(key)
        if found is None:
            found = self.client.lookup(subject, text, references)
            if found is None:
                raise RegistryError(
                    f"subject {subject}: this schema is not registered; run `make register-schemas` "
                    f"(producers never register schemas themselves)",
                    404,
                )
            with self._lock:
                self._ids[key] = found
        return found


class AvroEncoder:
    """Writes values of one schema under one schema id, framed: typed against ``model`` (full name ->
    generated class), or generic (dicts) without one."""

    def __init__(
        self,
        schema: Schema,
        schema_id: int,
        subject: str,
        model: TypedModel | None = None,
        *,
        version: int | None = None,
    ) -> None:
        self.schema = schema
        self.schema_id = schema_id
        self.subject = subject
        self.version = version
        self._header = wire.header(schema_id)
        self._codec = Encoder(schema, model, label=f"subject {subject}")
        self._write = self._codec.encode_function  # Encoder.write without its frame: one call less

    def encoder_for(self, _value: Any) -> AvroEncoder:
        return self

    def encode(self, value: Any) -> bytes:
        """Framed Avro bytes for ``value``; raises InvalidRecordError naming the field."""
        buf = bytearray(self._header)
        try:
            self._write(value, buf)
        except Exception as exc:
            raise self._codec.refusal(value, exc) from None
        return bytes(buf)


class OneOfEncoder:
    """Writes a value of any of a topic's record types (several event types on one topic), each under
    its own subject and schema id. The type is chosen as Avro Java's ``resolveUnion`` chooses a union
    branch: a generated class names its record, a dict goes by full name or shape."""

    def __init__(self, encoders: Sequence[AvroEncoder], model: TypedModel | None = None) -> None:
        self.encoders = tuple(encoders)
        self._choice = Union(tuple(encoder.schema for encoder in self.encoders))
        self._model = model
        self.subject = self.encoders[0].subject
        # Among records, the choice for a generated class depends on its type alone: remember it.
        self._by_type: dict[type, AvroEncoder] = {}
        self._cacheable = all(isinstance(encoder.schema, Record) for encoder in self.encoders)

    def encoder_for(self, value: Any) -> AvroEncoder | None:
        kind = type(value)
        known = self._by_type.get(kind)
        if known is not None:
            return known
        index = choose_branch(self._choice, value, self._model)
        if index is None:
            return None
        if self._cacheable and kind is not dict and kind is not tuple:
            self._by_type[kind] = self.encoders[index]
        return self.encoders[index]

    def encode(self, value: Any) -> bytes:
        encoder = self.encoder_for(value)
        if encoder is None:
            names = ", ".join(describe(e.schema) for e in self.encoders)
            raise InvalidRecordError(f"{_brief(value)} is none of this topic's types ({names})")
        return encoder.encode(value)


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


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
