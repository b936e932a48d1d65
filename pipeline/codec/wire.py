"""Confluent's wire format: magic byte 0, a 4-byte big-endian schema id, then the Avro binary body.

Pure: no I/O. Framing errors are SchemaViolationErrors (the message cannot be decoded as it stands).
"""

from __future__ import annotations

import struct

from pipeline.errors import WireFormatError

__all__ = ["HEADER_SIZE", "MAGIC_BYTE", "frame", "header", "unframe"]

MAGIC_BYTE = 0
HEADER_SIZE = 5
_HEADER = struct.Struct(">bI")


def header(schema_id: int) -> bytes:
    """The five-byte prefix for ``schema_id``."""
    return _HEADER.pack(MAGIC_BYTE, schema_id)


def frame(schema_id: int, body: bytes) -> bytes:
    """``body`` prefixed with the wire-format header."""
    return _HEADER.pack(MAGIC_BYTE, schema_id) + body


def unframe(data: bytes) -> tuple[int, memoryview]:
    """Split framed bytes into (schema id, Avro body). Raises WireFormatError."""
    if len(data) < HEADER_SIZE:
        raise WireFormatError(
            f"message of {len(data)} bytes is shorter than the 5-byte Confluent wire-format header"
        )
    magic, schema_id = _HEADER.unpack_from(data)
    if magic != MAGIC_BYTE:
        raise WireFormatError(f"magic byte is {magic & 0xFF}, expected 0 (Confluent wire format)")
    return schema_id, memoryview(data)[HEADER_SIZE:]
