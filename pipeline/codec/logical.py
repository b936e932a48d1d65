"""Logical types as Python values, both ways, with the exact arithmetic Avro Java uses. Pure.

- decimal (bytes, fixed): a ``Decimal``, rescaled to the schema's scale without rounding, of at most
  ``precision`` digits; written as its unscaled value in two's complement, big-endian, in the fewest
  bytes (bytes) or sign-extended to the size (fixed).
- big-decimal (bytes): a ``Decimal`` of any scale; Avro bytes of the unscaled value, then an Avro int of
  the scale.
- uuid (string, fixed 16): a ``UUID``; its canonical text, or its 16 bytes.
- date: a ``date`` (not a ``datetime``); days since 1970-01-01.
- time-millis, time-micros: a ``time`` without tzinfo; milli/microseconds after midnight.
- timestamp-millis, timestamp-micros: a ``datetime`` (one without tzinfo counts as UTC); milli or
  microseconds since the epoch, rounded down.
- local-timestamp-millis, -micros: a ``datetime`` without tzinfo; since 1970-01-01T00:00, rounded down.

Other logical types (the ``-nanos`` timestamps, ``duration``) keep their underlying value: Python's
``datetime`` cannot hold nanoseconds.

Python's ``datetime`` and ``date`` hold years 1 to 9999 only. A writer refuses an instant outside them, so
that whatever this project writes it can read back; a reader meeting one (written by another client)
raises :class:`UnrepresentableValueError`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from typing import Any

from pipeline.avro import Logical
from pipeline.errors import UnrepresentableValueError

__all__ = [
    "CONVERTED",
    "EPOCH",
    "EPOCH_NAIVE",
    "LogicalValueError",
    "from_underlying",
    "to_underlying",
    "unscaled_bytes",
]

#: The logical types that have a Python value of their own (the others keep the underlying value).
CONVERTED = frozenset(
    {
        "decimal",
        "big-decimal",
        "uuid",
        "date",
        "time-millis",
        "time-micros",
        "timestamp-millis",
        "timestamp-micros",
        "local-timestamp-millis",
        "local-timestamp-micros",
    }
)

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EPOCH_NAIVE = dt.datetime(1970, 1, 1)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_UNIT = {"millis": dt.timedelta(milliseconds=1), "micros": dt.timedelta(microseconds=1)}
# Instants a datetime can hold, in each unit (what a writer accepts and a reader can build).
_SPAN = {
    unit: ((dt.datetime.min - EPOCH_NAIVE) // step, (dt.datetime.max - EPOCH_NAIVE) // step)
    for unit, step in _UNIT.items()
}
_DAY = {"millis": 86_400_000, "micros": 86_400_000_000}
# Exact decimal arithmetic: scaleb under the default context would round past 28 digits.
EXACT = decimal.Context(
    prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[decimal.InvalidOperation]
)


class LogicalValueError(ValueError):
    """A Python value does not fit its logical type; the message says why (without the field)."""


def unscaled_bytes(unscaled: int, size: int | None = None) -> bytes:
    """Two's complement, big-endian: the fewest bytes that hold ``unscaled`` (Java's
    ``BigInteger.toByteArray``), or exactly ``size`` bytes, sign-extended (a fixed's)."""
    width = (unscaled if unscaled >= 0 else ~unscaled).bit_length() // 8 + 1
    if size is not None:
        if width > size:
            raise LogicalValueError(f"needs {width} bytes; the fixed holds {size}")
        width = size
    return unscaled.to_bytes(width, "big", signed=True)


def _unscaled(value: decimal.Decimal, logical: Logical) -> int:
    if type(value) is not decimal.Decimal:
        raise LogicalValueError(f"{_show(value)} is not a Decimal")
    if not value.is_finite():
        raise LogicalValueError(f"{value} is not a finite Decimal")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    unscaled = int("".join(map(str, digits)) or "0")
    shift = exponent + logical.scale
    if shift >= 0:
        unscaled *= 10**shift
    else:
        unscaled, rest = divmod(unscaled, 10**-shift)
        if rest:
            raise LogicalValueError(
                f"Decimal('{value}') has more than {logical.scale} decimal places; "
                f"decimal({logical.precision},{logical.scale}) would have to round it"
            )
    digits_needed = len(str(unscaled))
    if digits_needed > logical.precision:
        raise LogicalValueError(
            f"Decimal('{value}') has {digits_needed} digits at scale {logical.scale}; "
            f"decimal({logical.precision},{logical.scale}) holds at most {logical.precision}"
        )
    return -unscaled if sign else unscaled


def _since(value: Any, logical: Logical) -> int:
    unit = logical.name.rsplit("-", 1)[1]
    local = logical.name.startswith("local-")
    if type(value) is not dt.datetime:
        raise LogicalValueError(f"{_show(value)} is not a datetime")
    if local:
        if value.tzinfo is not None:
            raise LogicalValueError(
                f"{value.isoformat()} has a time zone; {logical.name} takes a naive datetime"
            )
        return (value - EPOCH_NAIVE) // _UNIT[unit]
    count = (value.replace(tzinfo=dt.UTC) - EPOCH if value.tzinfo is None else value - EPOCH) // _UNIT[unit]
    low, high = _SPAN[unit]
    if not low <= count <= high:
        raise LogicalValueError(
            f"{value.isoformat()} falls outside the years 1 to 9999 in UTC, which a reader's datetime "
            "cannot hold"
        )
    return count


def to_underlying(logical: Logical, value: Any, fixed_size: int | None = None) -> Any:
    """The underlying Avro value of a logical type's Python ``value``; raises LogicalValueError."""
    name = logical.name
    if name == "decimal":
        return unscaled_bytes(_unscaled(value, logical), fixed_size)
    if name == "big-decimal":
        if type(value) is not decimal.Decimal or not value.is_finite():
            raise LogicalValueError(f"{_show(value)} is not a finite Decimal")
        sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)
        unscaled = int("".join(map(str, digits)) or "0")
        return _big_decimal_bytes(-unscaled if sign else unscaled, -exponent)
    if name == "uuid":
        if type(value) is not uuid.UUID:
            raise LogicalValueError(f"{_show(value)} is not a UUID")
        return value.bytes if fixed_size is not None else str(value)
    if name == "date":
        if type(value) is not dt.date:
            raise LogicalValueError(f"{_show(value)} is not a date")
        return value.toordinal() - _EPOCH_ORDINAL
    if name.startswith("time-"):
        if type(value) is not dt.time:
            raise LogicalValueError(f"{_show(value)} is not a time")
        if value.tzinfo is not None:
            raise LogicalValueError(f"{value.isoformat()} has a time zone; {name} takes a naive time")
        micros = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
        return micros // 1000 if name == "time-millis" else micros
    if name in CONVERTED:
        return _since(value, logical)
    raise AssertionError(f"{name} has no Python value")  # pragma: no cover - callers check CONVERTED


def _big_decimal_bytes(unscaled: int, scale: int) -> bytes:
    from pipeline.codec.varint import zigzag_bytes

    body = unscaled_bytes(unscaled)
    return zigzag_bytes(len(body)) + body + zigzag_bytes(scale)


def from_underlying(logical: Logical, value: Any) -> Any:
    """The Python value of a logical type read as ``value``; raises UnrepresentableValueError."""
    return READERS[logical.name](logical)(value)


def _decimal_reader(logical: Logical) -> Callable[[Any], Any]:
    scale = -logical.scale

    def read(data: bytes) -> decimal.Decimal:
        return decimal.Decimal(int.from_bytes(data, "big", signed=True)).scaleb(scale, EXACT)

    return read


def _big_decimal_reader(_logical: Logical) -> Callable[[Any], Any]:
    from pipeline.codec.varint import read_long

    def read(data: bytes) -> decimal.Decimal:
        size, pos = read_long(data, 0)
        if size < 0 or pos + size > len(data):
            raise UnrepresentableValueError(f"big-decimal of {len(data)} bytes is malformed")
        unscaled = int.from_bytes(data[pos : pos + size], "big", signed=True)
        scale, end = read_long(data, pos + size)
        if end != len(data):
            raise UnrepresentableValueError(f"big-decimal of {len(data)} bytes is malformed")
        return decimal.Decimal(unscaled).scaleb(-scale, EXACT)

    return read


def _uuid_reader(_logical: Logical) -> Callable[[Any], Any]:
    def read(value: str | bytes) -> uuid.UUID:
        try:
            return uuid.UUID(bytes=value) if isinstance(value, bytes) else uuid.UUID(value)
        except ValueError as exc:
            raise UnrepresentableValueError(f"{value!r} is not a UUID") from exc

    return read


def _date_reader(_logical: Logical) -> Callable[[Any], Any]:
    def read(days: int) -> dt.date:
        try:
            return dt.date.fromordinal(days + _EPOCH_ORDINAL)
        except (ValueError, OverflowError) as exc:
            raise UnrepresentableValueError(
                f"date {days} days from 1970-01-01 is outside the years 1 to 9999"
            ) from exc

    return read


def _time_reader(logical: Logical) -> Callable[[Any], Any]:
    unit = logical.name.rsplit("-", 1)[1]
    day, scale = _DAY[unit], 1000 if unit == "millis" else 1

    def read(count: int) -> dt.time:
        if not 0 <= count < day:
            raise UnrepresentableValueError(f"{logical.name} {count} is not a time of day")
        micros = count * scale
        seconds, micro = divmod(micros, 1_000_000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return dt.time(hour, minute, second, micro)

    return read


def _timestamp_reader(logical: Logical) -> Callable[[Any], Any]:
    unit = logical.name.rsplit("-", 1)[1]
    base = EPOCH_NAIVE if logical.name.startswith("local-") else EPOCH
    step = 1000 if unit == "millis" else 1

    def read(count: int) -> dt.datetime:
        try:
            return base + dt.timedelta(microseconds=count * step)
        except OverflowError as exc:
            raise UnrepresentableValueError(
                f"{logical.name} {count} is outside the years 1 to 9999 that a Python datetime holds"
            ) from exc

    return read


READERS: dict[str, Callable[[Logical], Callable[[Any], Any]]] = {
    "decimal": _decimal_reader,
    "big-decimal": _big_decimal_reader,
    "uuid": _uuid_reader,
    "date": _date_reader,
    "time-millis": _time_reader,
    "time-micros": _time_reader,
    "timestamp-millis": _timestamp_reader,
    "timestamp-micros": _timestamp_reader,
    "local-timestamp-millis": _timestamp_reader,
    "local-timestamp-micros": _timestamp_reader,
}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
