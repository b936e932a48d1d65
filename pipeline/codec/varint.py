"""Avro's zig-zag varints (``int`` and ``long``): the one reader and writer the codec calls when it does
not write them out inline. Pure."""

from __future__ import annotations

__all__ = ["read_long", "write_long", "zigzag_bytes"]


def read_long(data: bytes, pos: int) -> tuple[int, int]:
    """The zig-zag varint at ``pos``: (value, next position). Raises IndexError when the data ends
    inside it, and ValueError when it runs past 10 bytes."""
    b = data[pos]
    pos += 1
    n = b & 0x7F
    shift = 7
    while b & 0x80:
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
    return (n >> 1) ^ -(n & 1), pos


def write_long(buf: bytearray, value: int) -> None:
    """Append the zig-zag varint of a 64-bit ``value`` (the caller checked the range)."""
    n = (value << 1) ^ (value >> 63)
    while n > 0x7F:
        buf.append((n & 0x7F) | 0x80)
        n >>= 7
    buf.append(n)


def zigzag_bytes(value: int) -> bytes:
    """The zig-zag varint of ``value`` as bytes."""
    buf = bytearray()
    write_long(buf, value)
    return bytes(buf)
