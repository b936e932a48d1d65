"""Our Python values in the Java oracle's JSON (tests/oracle), and the comparison of a value we decoded
with the one Avro Java decoded.

The conversion to oracle JSON computes logical values with plain arithmetic of its own (calendar.timegm,
nanoseconds of the day, the Decimal's digits), never with pipeline.codec.logical, so Avro Java's
conversions are what turn them into Avro. Union branches are the ones our writer picks
(pipeline.codec.values.choose_branch): which branch a Python value belongs to is our rule; how that
branch is written is Avro's.
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import decimal
import enum
import math
import struct
import uuid
from typing import Any

from pipeline.avro import Array, Enum, Fixed, Map, Primitive, Record, Schema, Union
from pipeline.codec.typed import TypedModel, attribute_names
from pipeline.codec.values import branch_value, choose_branch, converted


def _raw_logical(schema: Schema) -> str | None:
    """A logical type Java converts but we keep as its underlying value (the nanosecond timestamps,
    duration)."""
    logical = getattr(schema, "logical", None)
    if logical is not None and logical.name in ("timestamp-nanos", "local-timestamp-nanos", "duration"):
        return str(logical.name)
    return None


def _raw_to_oracle(name: str, value: Any) -> Any:
    if name == "duration":
        months, days, millis = struct.unpack("<III", bytes(value))
        return {"months": months, "days": days, "millis": millis}
    seconds, nano = divmod(value, 10**9)
    return {"local_epoch_second" if name.startswith("local-") else "epoch_second": seconds, "nano": nano}


def to_oracle(schema: Schema, value: Any, model: TypedModel | None = None) -> Any:
    """``value`` (valid for ``schema``) in the oracle's JSON."""
    logical = converted(schema)
    if logical is not None:
        return _logical(logical.name, value)
    raw = _raw_logical(schema)
    if raw is not None:
        return _raw_to_oracle(raw, value)
    if isinstance(schema, Union):
        index = choose_branch(schema, value, model)
        assert index is not None, f"{value!r} fits no branch"
        return {
            "branch": index,
            "value": to_oracle(schema.branches[index], branch_value(schema, value, model), model),
        }
    if isinstance(schema, Primitive):
        kind = schema.type
        if kind == "float":
            return {"float_bits": struct.unpack("<I", struct.pack("<f", float(value)))[0]}
        if kind == "double":
            return {"double_bits": str(struct.unpack("<Q", struct.pack("<d", float(value)))[0])}
        if kind == "bytes":
            return {"base64": base64.b64encode(bytes(value)).decode()}
        return value
    if isinstance(schema, Fixed):
        return {"base64": base64.b64encode(bytes(value)).decode()}
    if isinstance(schema, Enum):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(schema, Array):
        return [to_oracle(schema.items, item, model) for item in value]
    if isinstance(schema, Map):
        return {key: to_oracle(schema.values, item, model) for key, item in value.items()}
    assert isinstance(schema, Record)
    if isinstance(value, dict):
        return {f.name: to_oracle(f.type, value[f.name], model) for f in schema.fields}
    names = attribute_names([f.name for f in schema.fields])
    return {
        f.name: to_oracle(f.type, getattr(value, a), model) for f, a in zip(schema.fields, names, strict=True)
    }


def _logical(name: str, value: Any) -> Any:
    if name in ("decimal", "big-decimal"):
        sign, digits, exponent = value.as_tuple()
        unscaled = int("".join(map(str, digits)) or "0")
        return {"unscaled": str(-unscaled if sign else unscaled), "scale": -exponent}
    if name == "uuid":
        return str(value)
    if name == "date":
        return {"epoch_day": (value - dt.date(1970, 1, 1)).days}
    if name.startswith("time-"):
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        return {"nano_of_day": seconds * 10**9 + value.microsecond * 1000}
    if name.startswith("local-"):
        return {"local_epoch_second": calendar.timegm(value.timetuple()), "nano": value.microsecond * 1000}
    utc = value if value.tzinfo is None else value.astimezone(dt.UTC)
    return {"epoch_second": calendar.timegm(utc.timetuple()), "nano": utc.microsecond * 1000}


def disagreement(schema: Schema, java: Any, ours: Any, path: str = "$") -> str | None:
    """Where our decoded value ``ours`` differs from Avro Java's ``java`` (oracle JSON), or None.
    At a union, Java's branch decides which branch's rules the comparison follows."""
    logical = converted(schema)
    if logical is not None:
        expected = _logical_from_java(logical.name, java)
        return None if _same_logical(expected, ours) else f"{path}: Java {expected!r}, ours {ours!r}"
    raw = _raw_logical(schema)
    if raw is not None:
        return None if _raw_to_oracle(raw, ours) == java else f"{path}: Java {java!r}, ours {ours!r}"
    if isinstance(schema, Union):
        if not isinstance(java, dict) or "branch" not in java:
            return f"{path}: Java gave {java!r} for a union"
        return disagreement(schema.branches[java["branch"]], java["value"], ours, f"{path}<{java['branch']}>")
    if isinstance(schema, Primitive):
        kind = schema.type
        if kind == "float":
            bits = java["float_bits"]
            theirs = struct.unpack("<f", struct.pack("<I", bits))[0]
            return (
                None
                if type(ours) is float and _bits32(ours) == bits
                else f"{path}: Java {theirs!r}, ours {ours!r}"
            )
        if kind == "double":
            bits = int(java["double_bits"])
            ok = type(ours) is float and struct.unpack("<Q", struct.pack("<d", ours))[0] == bits
            return None if ok else f"{path}: Java bits {bits:#x}, ours {ours!r}"
        if kind == "bytes":
            return (
                None
                if ours == base64.b64decode(java["base64"]) and type(ours) is bytes
                else f"{path}: bytes differ"
            )
        if kind == "boolean":
            return None if ours is java else f"{path}: Java {java!r}, ours {ours!r}"
        return None if type(ours) is type(java) and ours == java else f"{path}: Java {java!r}, ours {ours!r}"
    if isinstance(schema, Fixed):
        return (
            None
            if ours == base64.b64decode(java["base64"]) and type(ours) is bytes
            else f"{path}: fixed differs"
        )
    if isinstance(schema, Enum):
        symbol = ours.value if isinstance(ours, enum.Enum) else ours
        return None if symbol == java else f"{path}: Java {java!r}, ours {ours!r}"
    if isinstance(schema, Array):
        if not isinstance(ours, list) or len(ours) != len(java):
            return f"{path}: Java {len(java)} items, ours {ours!r}"
        for index, (theirs, mine) in enumerate(zip(java, ours, strict=True)):
            found = disagreement(schema.items, theirs, mine, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(schema, Map):
        if not isinstance(ours, dict) or ours.keys() != java.keys():
            return f"{path}: map keys differ: Java {sorted(java)}, ours {ours!r}"
        for key in java:
            found = disagreement(schema.values, java[key], ours[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    assert isinstance(schema, Record)
    names = attribute_names([f.name for f in schema.fields])
    for entry, attr in zip(schema.fields, names, strict=True):
        mine = ours[entry.name] if isinstance(ours, dict) else getattr(ours, attr)
        found = disagreement(entry.type, java[entry.name], mine, f"{path}.{entry.name}")
        if found:
            return found
    return None


def _bits32(value: float) -> int:
    return struct.unpack("<I", struct.pack("<f", value))[0]


def _logical_from_java(name: str, java: Any) -> Any:
    if name in ("decimal", "big-decimal"):
        return decimal.Decimal(int(java["unscaled"])).scaleb(-java["scale"], decimal.Context(prec=10**6))
    if name == "uuid":
        return uuid.UUID(java)
    if name == "date":
        return dt.date(1970, 1, 1) + dt.timedelta(days=java["epoch_day"])
    if name.startswith("time-"):
        micros = java["nano_of_day"] // 1000
        seconds, micro = divmod(micros, 10**6)
        return dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60, micro)
    if name.startswith("local-"):
        return dt.datetime(1970, 1, 1) + dt.timedelta(
            seconds=java["local_epoch_second"], microseconds=java["nano"] // 1000
        )
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
        seconds=java["epoch_second"], microseconds=java["nano"] // 1000
    )


def _same_logical(expected: Any, ours: Any) -> bool:
    if type(expected) is not type(ours):
        return False
    if isinstance(expected, dt.datetime):
        return (expected.tzinfo is None) == (ours.tzinfo is None) and expected == ours
    if isinstance(expected, decimal.Decimal):
        return expected == ours and expected.as_tuple().exponent == ours.as_tuple().exponent
    if isinstance(expected, float):
        return math.isclose(expected, ours)
    return bool(expected == ours)
