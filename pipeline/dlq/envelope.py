"""The dead-letter envelope: what a DLQ message carries and how to read it back. Pure.

A DLQ message keeps the original **key, value and headers untouched** and adds headers prefixed
``dlq.``. Consumer-side entries (stages ``deserialize`` and ``process``) carry the original bytes;
producer-side entries (stage ``serialize``) carry the rejected record as JSON, since it cannot be Avro.

| header | meaning |
|---|---|
| dlq.stage | serialize / deserialize / process |
| dlq.error.class, dlq.error.message | the error's class name and message |
| dlq.attempts | how many times processing was tried |
| dlq.time | when it was dead-lettered (ISO 8601, UTC) |
| dlq.original.topic / .partition / .offset / .timestamp | where the message was (consumer side) |
| dlq.consumer.group | the group that gave up on it |
| dlq.field.path | the offending field, when known |
| dlq.subject, dlq.schema.version | the schema it was checked against (producer side) |
| dlq.producer.app | the application that produced it (producer side) |
| dlq.content.type | application/json for producer-side entries |
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from pipeline.avro import Array, Enum, Fixed, Map, Primitive, Record, Schema, Union
from pipeline.codec.values import converted as converted_logical
from pipeline.codec.values import problem, type_name

__all__ = [
    "OMITTED",
    "PREFIX",
    "STAGES",
    "DeadLetter",
    "dead_letter_from",
    "dead_letter_headers",
    "envelope_field",
    "header_text",
    "json_to_datum",
    "parse_dead_letter",
    "record_to_json",
    "split_headers",
]

PREFIX = "dlq."
#: The header naming the parts (value, key) replaced by their size and SHA-256 because no message could
#: carry them; such an entry no longer holds the original bytes.
OMITTED = "dlq.omitted"
STAGES = ("serialize", "deserialize", "process")


@dataclass(frozen=True)
class DeadLetter:
    """Why and from where a message was dead-lettered."""

    stage: str
    error_class: str
    error_message: str
    attempts: int = 1
    time: datetime = dataclasses.field(default_factory=lambda: datetime.now(UTC))
    original_topic: str | None = None
    original_partition: int | None = None
    original_offset: int | None = None
    original_timestamp: int | None = None
    consumer_group: str | None = None
    field_path: str | None = None
    subject: str | None = None
    schema_version: int | None = None
    producer_app: str | None = None
    content_type: str | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"stage {self.stage!r} is not one of {STAGES}")


_FIELDS = {
    "stage": "stage",
    "error_class": "error.class",
    "error_message": "error.message",
    "attempts": "attempts",
    "time": "time",
    "original_topic": "original.topic",
    "original_partition": "original.partition",
    "original_offset": "original.offset",
    "original_timestamp": "original.timestamp",
    "consumer_group": "consumer.group",
    "field_path": "field.path",
    "subject": "subject",
    "schema_version": "schema.version",
    "producer_app": "producer.app",
    "content_type": "content.type",
}
_INTS = {"attempts", "original_partition", "original_offset", "original_timestamp", "schema_version"}
_MAX_MESSAGE = 4000


def header_text(letter: DeadLetter, attr: str) -> str | None:
    """The text of ``letter``'s header for the field ``attr`` as it is written, None when absent."""
    value = getattr(letter, attr)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if attr == "error_message":
        return str(value)[:_MAX_MESSAGE]
    return str(value)


def dead_letter_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """The ``dlq.*`` headers for ``letter`` (absent values are left out)."""
    headers: list[tuple[str, bytes]] = []
    for attr, name in _FIELDS.items():
        text = header_text(letter, attr)
        if text is not None:
            headers.append((PREFIX + name, text.encode("utf-8")))
    return headers


def envelope_field(name: str) -> str:
    """The envelope field a header name stands for: ``dlq.error.class``, ``error.class``, ``error_class``
    and ``error-class`` all name ``error_class``. Raises ValueError listing the header names."""
    wanted = name.strip().lower().removeprefix(PREFIX).replace("-", ".").replace("_", ".")
    for attr, header in _FIELDS.items():
        if header == wanted:
            return attr
    names = ", ".join(PREFIX + header for header in _FIELDS.values())
    raise ValueError(f"{name!r} is not a dead-letter header; use one of {names} (or the same without dlq.)")


def split_headers(
    headers: Sequence[tuple[str, bytes | None]] | None,
) -> tuple[list[tuple[str, bytes | None]], dict[str, str]]:
    """Separate a DLQ message's headers into the original ones and the ``dlq.*`` ones."""
    original: list[tuple[str, bytes | None]] = []
    ours: dict[str, str] = {}
    for name, value in headers or []:
        if name.startswith(PREFIX):
            ours[name[len(PREFIX) :]] = (value or b"").decode("utf-8", errors="replace")
        else:
            original.append((name, value))
    return original, ours


def parse_dead_letter(headers: Sequence[tuple[str, bytes | None]] | None) -> DeadLetter:
    """Read the envelope back from a DLQ message's headers; raises ValueError when it has none."""
    return dead_letter_from(split_headers(headers)[1])


def dead_letter_from(dlq_headers: Mapping[str, str]) -> DeadLetter:
    """The envelope from the ``dlq.*`` headers as :func:`split_headers` returns them (names without the
    prefix); raises ValueError when there is no ``stage`` or a value does not read as its type."""
    if "stage" not in dlq_headers:
        raise ValueError("message has no dlq.stage header: not a dead letter")
    values: dict[str, Any] = {}
    for attr, name in _FIELDS.items():
        if name not in dlq_headers:
            continue
        raw = dlq_headers[name]
        if attr in _INTS:
            values[attr] = int(raw)
        elif attr == "time":
            values[attr] = datetime.fromisoformat(raw)
        else:
            values[attr] = raw
    return DeadLetter(**values)


_JSON_DEPTH = 200  # deeper parts of a rejected record are cut (it may be refused for its depth)


def _jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-ready data: records (dataclasses) as objects of their fields, enums as their
    symbols, bytes as ``{"$bytes_base64": ...}``, dates and times ISO 8601, Decimal and UUID as text."""
    if depth > _JSON_DEPTH:
        return {"$truncated": f"nested deeper than {_JSON_DEPTH} levels"}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes_base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, enum.Enum):
        return _jsonable(value.value, depth + 1)
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, depth + 1) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name, None), depth + 1) for f in dataclasses.fields(value)}
    return repr(value)


def record_to_json(record: Any) -> bytes:
    """A producer-side rejected record (or key) as JSON, whatever it holds: bytes as base64, dates ISO
    8601, lone surrogates escaped, parts nested deeper than 200 levels cut."""
    return json.dumps(_jsonable(record), sort_keys=True).encode("utf-8")


def json_to_datum(schema: Schema, value: Any) -> Any:
    """The inverse of :func:`record_to_json` for a schema: JSON values back into a generic value of the
    codec (ISO dates to datetime/date/time, strings to Decimal/UUID, base64 to bytes). Raises
    ValueError when the value does not fit the schema."""
    datum = _convert(schema, value)
    found = problem(schema, datum)
    if found is not None:
        raise ValueError(f"{found.path}: {found.message}")
    return datum


def _convert(schema: Schema, value: Any) -> Any:
    if isinstance(schema, Union):
        problems = []
        for branch in schema.branches:
            try:
                converted = _convert(branch, value)
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(str(exc))
                continue
            found = problem(branch, converted)
            if found is not None:
                problems.append(found.message)
                continue
            return (type_name(branch), converted) if isinstance(converted, dict) else converted
        raise ValueError(f"{value!r} fits no branch of the union: {'; '.join(problems)}")
    logical = converted_logical(schema)
    if logical is not None:
        return _logical(logical.name, value)
    if isinstance(schema, Record):
        if not isinstance(value, dict):
            raise ValueError(f"{schema.name.fullname}: expected an object, got {value!r}")
        return {f.name: _convert(f.type, value[f.name]) for f in schema.fields if f.name in value}
    if isinstance(schema, Array):
        if not isinstance(value, list):
            raise ValueError(f"expected an array, got {value!r}")
        return [_convert(schema.items, v) for v in value]
    if isinstance(schema, Map):
        if not isinstance(value, dict) or "$bytes_base64" in value:
            raise ValueError(f"expected a map, got {value!r}")
        return {k: _convert(schema.values, v) for k, v in value.items()}
    if isinstance(schema, Fixed):
        data = _bytes(value)
        if len(data) != schema.size:
            raise ValueError(f"{schema.name.fullname}: expected {schema.size} bytes, got {len(data)}")
        return data
    if isinstance(schema, Enum):
        if value not in schema.symbols:
            raise ValueError(f"{schema.name.fullname}: {value!r} is not one of {list(schema.symbols)}")
        return value
    assert isinstance(schema, Primitive)
    if schema.type == "bytes":
        return _bytes(value)
    return value  # checked with the whole datum


def _bytes(value: Any) -> bytes:
    if isinstance(value, dict) and "$bytes_base64" in value:
        return base64.b64decode(value["$bytes_base64"])
    raise ValueError(f"expected bytes, got {value!r}")


def _logical(logical: str, value: Any) -> Any:
    """The logical type's Python value for its JSON form (as :func:`record_to_json` writes it)."""
    try:
        if logical.startswith(("timestamp-", "local-timestamp-")):
            return datetime.fromisoformat(value)
        if logical == "date":
            return date.fromisoformat(value)
        if logical.startswith("time-"):
            return time.fromisoformat(value)
        if logical in ("decimal", "big-decimal"):
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise TypeError(value)
            return Decimal(str(value))
        if logical == "uuid":
            return UUID(value)
    except (ValueError, TypeError, ArithmeticError, AttributeError) as exc:
        raise ValueError(f"{value!r} is not a valid {logical}") from exc
    raise ValueError(f"{logical} has no JSON form")  # pragma: no cover - CONVERTED lists the ones above
