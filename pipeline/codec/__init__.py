"""The codec: Python values to Avro binary and back, compiled per schema, typed or generic. Pure.

    encoder = Encoder(schema, model)          # model: full name -> generated class (None: generic)
    encoder.encode(order)                     # bytes; InvalidRecordError naming the field otherwise
    decoder = Decoder(writer, reader, model)  # Avro Java's resolution from writer to reader
    value, end = decoder.decode(data, 5)      # CorruptPayloadError, SchemaMismatchError, ...

Which values a schema takes is :mod:`pipeline.codec.values`; logical types are
:mod:`pipeline.codec.logical`; how generated classes stand for Avro types is :mod:`pipeline.codec.typed`.
"""

from __future__ import annotations

import struct
from typing import Any

from pipeline.avro import Schema
from pipeline.codec import native
from pipeline.codec.compiled import compile_decoder, compile_encoder
from pipeline.codec.typed import AVRO_NAME, TypedModel, attribute_names, avro_name
from pipeline.codec.values import MAX_DEPTH, Problem, problem
from pipeline.errors import (
    CorruptPayloadError,
    InvalidRecordError,
    SchemaMismatchError,
    SchemaViolationError,
)

__all__ = [
    "AVRO_NAME",
    "MAX_DEPTH",
    "Decoder",
    "Encoder",
    "Problem",
    "TypedModel",
    "attribute_names",
    "avro_name",
    "backend",
    "problem",
]


def backend() -> str:
    """Which codec the encoders and decoders run: ``native`` (the C extension; schema resolution between
    different writer and reader schemas stays compiled Python) or ``compiled Python``."""
    return "native" if native.available() else "compiled Python"


# What reading a damaged body raises inside a compiled decoder.
_DAMAGED = (IndexError, ValueError, UnicodeDecodeError, OverflowError, struct.error, RecursionError)


class Encoder:
    """Writes values of one schema: typed against ``model`` (full name -> generated class), or generic
    (dicts and symbols) when ``model`` is None."""

    def __init__(self, schema: Schema, model: TypedModel | None = None, *, label: str = "") -> None:
        self.schema = schema
        self.model = model
        self.label = label
        #: ``encode(value, buf)``, raising anything on a value it does not take (``write`` explains it).
        self.encode_function = native.native_encoder(schema, model) or compile_encoder(schema, model)

    def write(self, value: Any, buf: bytearray) -> None:
        """Append ``value``'s Avro binary to ``buf``; raises InvalidRecordError naming the offending
        field (``buf`` may then hold part of the value: callers pass a buffer of their own)."""
        try:
            self.encode_function(value, buf)
        except Exception as exc:
            raise self.refusal(value, exc) from None

    def encode(self, value: Any) -> bytes:
        buf = bytearray()
        self.write(value, buf)
        return bytes(buf)

    def refusal(self, value: Any, exc: BaseException) -> InvalidRecordError:
        """The error for a value the compiled encoder refused, explained by :func:`problem`."""
        try:
            found = problem(self.schema, value, self.model)
        except RecursionError:
            found = Problem(self.label or "value", f"nested more than {MAX_DEPTH} records deep")
        where = f"{self.label}: " if self.label else ""
        if found is None:  # the compiled code and the reference disagree: say so rather than guess
            return InvalidRecordError(
                f"{where}record does not fit its schema ({type(exc).__name__}: {exc}); this is a bug in "
                "pipeline.codec, please report it"
            )
        return InvalidRecordError(f"{where}{found.path}: {found.message}", field_path=found.path)


class Decoder:
    """Reads data written with ``writer`` as ``reader`` (Avro Java's resolution), building ``model``'s
    classes where it has them."""

    def __init__(
        self,
        writer: Schema,
        reader: Schema | None = None,
        model: TypedModel | None = None,
        *,
        label: str = "",
    ) -> None:
        self.writer = writer
        self.reader = writer if reader is None else reader
        self.label = label
        try:
            self._decode = native.native_decoder(writer, self.reader, model) or compile_decoder(
                writer, self.reader, model
            )
        except RecursionError as exc:
            raise SchemaMismatchError(f"{label or 'schema'}: nested too deeply to read") from exc

    @property
    def function(self) -> Any:
        """The compiled ``decode(data, pos) -> (value, end)``, for callers that inline :meth:`decode`
        (they must call :meth:`failure` and :meth:`trailing` as it does)."""
        return self._decode

    def decode(self, data: bytes, pos: int = 0) -> Any:
        """The value in ``data[pos:]``, which must end exactly at its end. Raises CorruptPayloadError,
        SchemaMismatchError, UnrepresentableValueError or NestingLimitError."""
        try:
            value, end = self._decode(data, pos)
        except Exception as exc:
            raise self.failure(exc, data, pos) from exc
        if end != len(data):
            raise self.trailing(data, pos, end)
        return value

    def failure(self, exc: Exception, data: bytes, pos: int) -> SchemaViolationError:
        """The error to raise for an exception out of the compiled decoder."""
        if isinstance(exc, SchemaViolationError):
            return exc
        if isinstance(exc, _DAMAGED):
            return CorruptPayloadError(self._corrupt(data, pos, exc))
        return CorruptPayloadError(f"{self._what(data, pos)} cannot be read: {type(exc).__name__}: {exc}")

    def trailing(self, data: bytes, pos: int, end: int) -> CorruptPayloadError:
        return CorruptPayloadError(
            f"{self._what(data, pos)} has {len(data) - end} bytes after the end of the value"
        )

    def _what(self, data: bytes, pos: int) -> str:
        return f"{self.label + ': ' if self.label else ''}Avro body of {len(data) - pos} bytes"

    def _corrupt(self, data: bytes, pos: int, exc: BaseException) -> str:
        if isinstance(exc, IndexError | struct.error):
            return f"{self._what(data, pos)} ends inside a value (truncated or corrupt)"
        if isinstance(exc, UnicodeDecodeError):
            return f"{self._what(data, pos)} holds a string that is not valid UTF-8: {exc.reason}"
        return f"{self._what(data, pos)} is corrupt: {type(exc).__name__}: {exc}"
