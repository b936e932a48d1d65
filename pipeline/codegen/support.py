"""Helpers the generated modules call at run time: union conversions and Avro JSON defaults.

Generated code is thin; the little logic a conversion needs beyond an expression lives here, once."""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["bytes_default", "logical_default", "union_from_avro", "union_to_avro"]


def bytes_default(text: str) -> bytes:
    """An Avro JSON default for bytes/fixed: each character is one byte (code points 0-255)."""
    return text.encode("latin-1")


def union_to_avro(value: Any, named: Mapping[type, tuple[str, Callable[[Any], Any]]]) -> Any:
    """A union member as fastavro writes it: named types (generated classes and enums) as
    ``(full name, datum)``; anything else as it is, for fastavro to match against the branches."""
    entry = named.get(type(value))
    if entry is not None:
        name, convert = entry
        return (name, convert(value))
    if isinstance(value, enum.Enum):
        raise TypeError(f"{type(value).__name__} is not a branch of this union")
    return value


def union_from_avro(
    value: Any,
    named: Mapping[str, Callable[[Any], Any]],
    array: Callable[[Any], Any] | None = None,
    map_: Callable[[Any], Any] | None = None,
) -> Any:
    """A union member as read with ``return_named_type``: named types arrive as ``(full name, datum)``."""
    if isinstance(value, tuple):
        name, datum = value
        return named[name](datum)
    if array is not None and isinstance(value, list):
        return array(value)
    if map_ is not None and isinstance(value, dict):
        return map_(value)
    return value


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def logical_default(logical: str, value: Any, scale: int = 0) -> Any:
    """An Avro JSON default (the underlying type's JSON) as the Python value of its logical type."""
    if logical in ("timestamp-millis", "local-timestamp-millis"):
        moment = _EPOCH + datetime.timedelta(milliseconds=value)
    elif logical in ("timestamp-micros", "local-timestamp-micros"):
        moment = _EPOCH + datetime.timedelta(microseconds=value)
    elif logical == "date":
        return _EPOCH.date() + datetime.timedelta(days=value)
    elif logical == "time-millis":
        return (datetime.datetime.min + datetime.timedelta(milliseconds=value)).time()
    elif logical == "time-micros":
        return (datetime.datetime.min + datetime.timedelta(microseconds=value)).time()
    elif logical == "decimal":
        unscaled = int.from_bytes(bytes_default(value), "big", signed=True)
        return decimal.Decimal(unscaled).scaleb(-scale)
    elif logical == "uuid":
        return uuid.UUID(value)
    else:
        return value
    return moment.replace(tzinfo=None) if logical.startswith("local-") else moment
