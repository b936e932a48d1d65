"""Avro binary encoders and decoders compiled per schema into straight-line Python.

Why: fastavro walks the schema for every datum and reads through a file object one ``read`` call per
varint byte, which is most of the cost of a small record. A function written for one schema -- fields
in order, varints decoded in place on the bytes -- does the same work in about half the time.

Exactness comes first; speed only where it is safe:

- **Decoders** cover every Avro type read with its writer schema (no schema resolution: a reader
  schema that differs from the writer's is fastavro's job). Logical types go through fastavro's own
  ``LOGICAL_READERS`` functions, and named union members come back as ``(full name, datum)`` when
  ``tagged`` (fastavro's ``return_named_type``), so datums equal fastavro's. A truncated or
  over-long body raises (IndexError, ValueError, EOFError, struct.error, UnicodeDecodeError).
- **Encoders** accept only datums whose Python types are exactly the canonical ones (``str`` for
  string, ``int`` for long, ``float`` for double, ``dict`` for records and maps, ``list`` for
  arrays, a ``(name, datum)`` tuple for a named union member); anything else raises ``Fallback``
  and the caller hands the datum to fastavro, whose rules (defaults for missing fields, int for
  double, union branch matching by validation) then apply unchanged. Logical types go through
  fastavro's ``LOGICAL_WRITERS``. So whatever a compiled encoder writes is what fastavro writes.

``compile_decoder``/``compile_encoder`` raise ``Unsupported`` for a schema they cannot compile
(the caller keeps fastavro for it). Pure: no I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastavro.logical_readers import LOGICAL_READERS
from fastavro.logical_writers import LOGICAL_WRITERS

from pipeline.codegen.pytypes import field_name

__all__ = [
    "Decoder",
    "Encoder",
    "Fallback",
    "Unsupported",
    "builds_class",
    "compile_decoder",
    "compile_encoder",
]

Decoder = Callable[[bytes, int], tuple[Any, int]]
"""``decode(data, pos) -> (datum, end)``: one datum read from ``data`` starting at ``pos``."""

Encoder = Callable[[Any, bytearray], None]
"""``encode(datum, buf)``: the datum's Avro binary appended to ``buf``."""

_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
_NAMED = {"record", "error", "enum", "fixed"}
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


class Unsupported(Exception):
    """The schema uses something this compiler does not handle; use fastavro for it."""


class Fallback(Exception):
    """This datum is not in the canonical shape the compiled encoder takes; encode it with fastavro."""


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    """A zig-zag varint starting at ``pos`` (any length); returns (value, next position)."""
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


def _write_long(buf: bytearray, value: int) -> None:
    """Zig-zag varint of a 64-bit value (the caller checked the range)."""
    n = (value << 1) ^ (value >> 63)
    while n > 0x7F:
        buf.append((n & 0x7F) | 0x80)
        n >>= 7
    buf.append(n)


def _short(n: int, pos: int, data: bytes) -> None:
    raise EOFError(f"length {n} at byte {pos} runs past the end ({len(data)} bytes)")


# fastavro's own timestamp readers, written out (the same expressions: epoch + timedelta) because a
# call to them costs as much again as the rest of a small record. Another reader registered in
# LOGICAL_READERS under these names is called as it is.
_INLINE_TIMESTAMPS = {
    "long-timestamp-millis": "_EPOCH + _timedelta(microseconds={} * 1000)",
    "long-timestamp-micros": "_EPOCH + _timedelta(microseconds={})",
    "long-local-timestamp-millis": "_EPOCH_NAIVE + _timedelta(microseconds={} * 1000)",
    "long-local-timestamp-micros": "_EPOCH_NAIVE + _timedelta(microseconds={})",
}


def _is_fastavros(fn: Any) -> bool:
    return str(getattr(fn, "__module__", "")).startswith("fastavro.")


_BASE_GLOBALS: dict[str, Any] = {
    "_EPOCH": datetime(1970, 1, 1, tzinfo=UTC),
    "_EPOCH_NAIVE": datetime(1970, 1, 1),
    "_timedelta": timedelta,
    "_read_long": _read_long,
    "_write_long": _write_long,
    "_short": _short,
    "_unpack_double": struct.Struct("<d").unpack_from,
    "_unpack_float": struct.Struct("<f").unpack_from,
    "_pack_double": struct.Struct("<d").pack,
    "_pack_float": struct.Struct("<f").pack,
    "Fallback": Fallback,
    "_INT_MIN": _INT_MIN,
    "_INT_MAX": _INT_MAX,
    "_LONG_MIN": _LONG_MIN,
    "_LONG_MAX": _LONG_MAX,
}


class _Source:
    """Python source under construction: lines, indentation, fresh names, constants."""

    def __init__(self, named: Mapping[str, Any]) -> None:
        self.named = named
        self.lines: list[str] = []
        self.globals: dict[str, Any] = dict(_BASE_GLOBALS)
        self.functions: dict[str, str] = {}  # full name -> function name
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self._counter = 0

    def fresh(self, stem: str) -> str:
        self._counter += 1
        return f"{stem}{self._counter}"

    def const(self, stem: str, value: Any) -> str:
        name = self.fresh(f"_{stem}")
        self.globals[name] = value
        return name

    def resolve(self, schema: Any) -> Any:
        """A named reference (a full name) as its definition; anything else as it is."""
        if isinstance(schema, str) and schema not in _PRIMITIVES:
            try:
                return self.named[schema]
            except KeyError as exc:
                raise Unsupported(f"unknown named type {schema}") from exc
        return schema

    def function_for(self, schema: dict[str, Any]) -> str:
        """The function that handles a named record, queued for writing on first use (recursion-safe)."""
        name = schema["name"]
        if name not in self.functions:
            self.functions[name] = self.fresh("_record")
            self.pending.append((self.functions[name], schema))
        return self.functions[name]

    def build(self, entry: str) -> Any:
        text = "\n".join(self.lines)
        namespace = dict(self.globals)
        exec(compile(text, f"<compiled avro: {entry}>", "exec"), namespace)
        return namespace[entry]


def _type_of(schema: Any) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        return str(schema["type"])
    return str(schema)


def _logical_key(schema: Any) -> str | None:
    if isinstance(schema, dict) and "logicalType" in schema:
        return f"{schema['type']}-{schema['logicalType']}"
    return None


def _branch_name(schema: Any, src: _Source) -> str:
    """The name fastavro matches a ``(name, datum)`` union member against, and tags reads with."""
    if isinstance(schema, dict) and schema["type"] in _NAMED:
        return str(schema["name"])
    if isinstance(schema, str) and schema not in _PRIMITIVES:
        return str(src.resolve(schema)["name"])
    return _type_of(schema)


# -- decoders ------------------------------------------------------------------------------------


class _DecoderWriter:
    def __init__(self, src: _Source, tagged: bool) -> None:
        self.src = src
        self.tagged = tagged

    def read(self, schema: Any, target: str, indent: str) -> None:
        """Emit lines that read one datum of ``schema`` into ``target`` (advancing ``pos``)."""
        src, emit = self.src, self.src.lines.append
        schema = src.resolve(schema)
        kind = _type_of(schema)
        if kind == "null":
            emit(f"{indent}{target} = None")
        elif kind == "boolean":
            emit(f"{indent}{target} = data[pos] != 0")
            emit(f"{indent}pos += 1")
        elif kind in ("int", "long", "enum"):
            self.long(target, indent)
            if kind == "enum":
                symbols = src.const("symbols", list(schema["symbols"]))
                emit(f"{indent}{target} = {symbols}[{target}]")
        elif kind == "float":
            emit(f"{indent}{target} = _unpack_float(data, pos)[0]")
            emit(f"{indent}pos += 4")
        elif kind == "double":
            emit(f"{indent}{target} = _unpack_double(data, pos)[0]")
            emit(f"{indent}pos += 8")
        elif kind in ("bytes", "string"):
            size = src.fresh("n")
            self.long(size, indent)
            emit(f"{indent}end = pos + {size}")
            emit(f"{indent}{target} = data[pos:end]")
            emit(f"{indent}if len({target}) != {size}:")  # past the end, or a negative length
            emit(f"{indent}    _short({size}, pos, data)")
            if kind == "string":
                emit(f"{indent}{target} = {target}.decode()")
            emit(f"{indent}pos = end")
        elif kind == "fixed":
            width = int(schema["size"])
            emit(f"{indent}end = pos + {width}")
            emit(f"{indent}{target} = data[pos:end]")
            emit(f"{indent}if len({target}) != {width}:")
            emit(f"{indent}    _short({width}, pos, data)")
            emit(f"{indent}pos = end")
        elif kind in ("record", "error"):
            emit(f"{indent}{target}, pos = {src.function_for(schema)}(data, pos)")
        elif kind in ("array", "map"):
            self.blocks(schema, kind, target, indent)
        elif kind == "union":
            self.union(schema, target, indent)
        else:
            raise Unsupported(f"type {kind}")
        logical = _logical_key(schema)
        if logical is not None and logical in LOGICAL_READERS and kind not in ("record", "error"):
            inline = _INLINE_TIMESTAMPS.get(logical)
            if inline is not None and _is_fastavros(LOGICAL_READERS[logical]):
                emit(f"{indent}{target} = {inline.format(target)}")
            else:
                fn = src.const("logical", LOGICAL_READERS[logical])
                definition = src.const("schema", schema)
                emit(f"{indent}{target} = {fn}({target}, {definition}, None)")

    def long(self, target: str, indent: str) -> None:
        emit = self.src.lines.append
        emit(f"{indent}b = data[pos]")
        emit(f"{indent}pos += 1")
        emit(f"{indent}if b < 128:")
        emit(f"{indent}    {target} = (b >> 1) ^ -(b & 1)")
        emit(f"{indent}else:")  # a loop written out here: a call per long cost as much as the loop
        emit(f"{indent}    n = b & 0x7F")
        emit(f"{indent}    shift = 7")
        emit(f"{indent}    while True:")
        emit(f"{indent}        b = data[pos]")
        emit(f"{indent}        pos += 1")
        emit(f"{indent}        n |= (b & 0x7F) << shift")
        emit(f"{indent}        if b < 128:")
        emit(f"{indent}            break")
        emit(f"{indent}        shift += 7")
        emit(f"{indent}        if shift > 63:")
        emit(f"{indent}            raise ValueError('varint longer than 10 bytes')")
        emit(f"{indent}    {target} = (n >> 1) ^ -(n & 1)")

    def blocks(self, schema: dict[str, Any], kind: str, target: str, indent: str) -> None:
        src, emit = self.src, self.src.lines.append
        count, item, key = src.fresh("count"), src.fresh("item"), src.fresh("key")
        emit(f"{indent}{target} = []" if kind == "array" else f"{indent}{target} = {{}}")
        self.long(count, indent)
        emit(f"{indent}while {count} != 0:")
        inner = indent + "    "
        emit(f"{inner}if {count} < 0:")
        emit(f"{inner}    {count} = -{count}")
        emit(f"{inner}    _, pos = _read_long(data, pos)")
        emit(f"{inner}for _ in range({count}):")
        body = inner + "    "
        if kind == "map":
            self.read("string", key, body)
            self.read(schema["values"], item, body)
            emit(f"{body}{target}[{key}] = {item}")
        else:
            self.read(schema["items"], item, body)
            emit(f"{body}{target}.append({item})")
        self.long(count, inner)

    def union(self, branches: list[Any], target: str, indent: str) -> None:
        src, emit = self.src, self.src.lines.append
        index = src.fresh("index")
        self.long(index, indent)
        emit(f"{indent}if {index} < 0:")  # fastavro indexes the branch list, so -1 is the last
        emit(f"{indent}    {index} += {len(branches)}")
        for i, branch in enumerate(branches):
            emit(f"{indent}{'if' if i == 0 else 'elif'} {index} == {i}:")
            self.read(branch, target, indent + "    ")
            if self.tagged and _type_of(src.resolve(branch)) in _NAMED:
                emit(f"{indent}    {target} = ({_branch_name(branch, src)!r}, {target})")
        emit(f"{indent}else:")
        emit(f"{indent}    raise IndexError(f'union branch {{{index}}} of {len(branches)}')")

    def record_function(self, function: str, schema: dict[str, Any], build: _Build | None = None) -> None:
        emit = self.src.lines.append
        emit(f"def {function}(data, pos):")
        values = []
        for field in schema["fields"]:
            value = self.src.fresh("f")
            self.read(field["type"], value, "    ")
            if build is None:
                values.append(f"{field['name']!r}: {value}")
            else:
                members = build.enums.get(field["name"])
                typed = f"{self.src.const('members', members)}[{value}]" if members is not None else value
                values.append(f"{build.attrs[field['name']]}={typed}")
        if build is None:
            emit(f"    return {{{', '.join(values)}}}, pos")
        else:
            emit(f"    return {self.src.const('cls', build.cls)}({', '.join(values)}), pos")
        emit("")


@dataclass(frozen=True)
class _Build:
    """How a flat record is built as its generated class: the class, each field's attribute and, for
    enum fields, the enum's members by symbol."""

    cls: type
    attrs: Mapping[str, str]
    enums: Mapping[str, Mapping[str, Any]]


def _flat_build(schema: Any, named: Mapping[str, Any], classes: Mapping[str, type]) -> _Build | None:
    """A _Build for ``schema`` when it is a record of leaves only (primitives, logical types, fixed,
    enums, unions of primitives) whose class and enums are in ``classes``; None otherwise."""
    if not isinstance(schema, dict) or schema.get("type") not in ("record", "error"):
        return None
    cls = classes.get(schema["name"])
    if cls is None:
        return None
    attrs: dict[str, str] = {}
    enums: dict[str, Mapping[str, Any]] = {}
    for field in schema["fields"]:
        kind_schema = (
            named.get(field["type"], field["type"]) if isinstance(field["type"], str) else field["type"]
        )
        kind = _type_of(kind_schema)
        if kind == "enum":
            enum_cls = classes.get(kind_schema["name"])
            if enum_cls is None:
                return None
            enums[field["name"]] = {member.value: member for member in enum_cls}  # type: ignore[attr-defined]
        elif kind == "union":
            if any(not (isinstance(b, str) and b in _PRIMITIVES) for b in kind_schema):
                return None
        elif kind not in _PRIMITIVES and kind != "fixed":
            return None
        attrs[field["name"]] = field_name(field["name"])
    return _Build(cls, attrs, enums)


def builds_class(schema: Any, classes: Mapping[str, type]) -> bool:
    """Whether :func:`compile_decoder` with these ``classes`` returns typed objects for ``schema``."""
    named = dict(schema.get("__named_schemas", {})) if isinstance(schema, dict) else {}
    return _flat_build(schema, named, classes) is not None


def compile_decoder(
    schema: Any, *, tagged: bool = False, classes: Mapping[str, type] | None = None
) -> Decoder:
    """A decoder for datums written with ``schema`` (parsed by fastavro), read without resolution.

    With ``classes`` (full name -> generated class) a flat top-level record is built directly as its
    class (what its ``from_avro`` would build from the datum), skipping the intermediate dict.
    Raises Unsupported for a schema it cannot compile."""
    named = dict(schema.get("__named_schemas", {})) if isinstance(schema, dict) else {}
    src = _Source(named)
    writer = _DecoderWriter(src, tagged)
    build = _flat_build(schema, named, classes) if classes else None
    body: list[str] = []
    src.lines, outer = body, src.lines
    writer.read(schema, "value", "    ")
    src.lines = outer
    src.lines.extend(["def decode(data, pos):", *body, "    return value, pos", ""])
    top = schema["name"] if build is not None else None
    while src.pending:
        function, record = src.pending.pop()
        writer.record_function(function, record, build if record["name"] == top else None)
    return src.build("decode")


# -- encoders ------------------------------------------------------------------------------------


class _EncoderWriter:
    def __init__(self, src: _Source) -> None:
        self.src = src

    def write(self, schema: Any, value: str, indent: str) -> None:
        """Emit lines that append ``value`` (an expression naming a local) written as ``schema``."""
        src, emit = self.src, self.src.lines.append
        schema = src.resolve(schema)
        kind = _type_of(schema)
        logical = _logical_key(schema)
        if logical is not None and logical in LOGICAL_WRITERS and kind not in ("record", "error"):
            fn = src.const("logical", LOGICAL_WRITERS[logical])
            definition = src.const("schema", schema)
            prepared = src.fresh("p")
            emit(f"{indent}{prepared} = {fn}({value}, {definition})")
            value = prepared
        if kind == "null":
            emit(f"{indent}if {value} is not None: raise Fallback")
        elif kind == "boolean":
            emit(f"{indent}if type({value}) is not bool: raise Fallback")
            emit(f"{indent}buf.append(1 if {value} else 0)")
        elif kind in ("int", "long"):
            emit(f"{indent}if type({value}) is not int: raise Fallback")
            emit(f"{indent}if 0 <= {value} < 64:")
            emit(f"{indent}    buf.append({value} << 1)")
            emit(f"{indent}elif _LONG_MIN <= {value} <= _LONG_MAX:")  # the varint written out, as read
            emit(f"{indent}    n = ({value} << 1) ^ ({value} >> 63)")
            emit(f"{indent}    while n > 0x7F:")
            emit(f"{indent}        buf.append((n & 0x7F) | 0x80)")
            emit(f"{indent}        n >>= 7")
            emit(f"{indent}    buf.append(n)")
            emit(f"{indent}else:")
            emit(f"{indent}    raise Fallback")
        elif kind == "float":
            emit(f"{indent}if type({value}) is not float: raise Fallback")
            emit(f"{indent}buf += _pack_float({value})")
        elif kind == "double":
            emit(f"{indent}if type({value}) is not float: raise Fallback")
            emit(f"{indent}buf += _pack_double({value})")
        elif kind in ("string", "bytes"):
            raw = src.fresh("raw")
            if kind == "string":
                emit(f"{indent}if type({value}) is not str: raise Fallback")
                emit(f"{indent}{raw} = {value}.encode()")
            else:
                emit(f"{indent}if type({value}) is not bytes: raise Fallback")
                emit(f"{indent}{raw} = {value}")
            emit(f"{indent}if len({raw}) < 64:")
            emit(f"{indent}    buf.append(len({raw}) << 1)")
            emit(f"{indent}else:")
            emit(f"{indent}    _write_long(buf, len({raw}))")
            emit(f"{indent}buf += {raw}")
        elif kind == "fixed":
            size = int(schema["size"])  # a decimal's bytes come as a bytearray
            emit(f"{indent}if type({value}) not in (bytes, bytearray) or len({value}) != {size}:")
            emit(f"{indent}    raise Fallback")
            emit(f"{indent}buf += {value}")
        elif kind == "enum":
            symbols = list(schema["symbols"])
            if len(symbols) <= 64:  # each index is one varint byte: append it directly
                index = src.const("symbol_byte", {s: i << 1 for i, s in enumerate(symbols)})
                emit(f"{indent}if type({value}) is not str or {value} not in {index}: raise Fallback")
                emit(f"{indent}buf.append({index}[{value}])")
            else:
                index = src.const("symbol_index", {s: i for i, s in enumerate(symbols)})
                emit(f"{indent}if type({value}) is not str or {value} not in {index}: raise Fallback")
                emit(f"{indent}_write_long(buf, {index}[{value}])")
        elif kind in ("record", "error"):
            emit(f"{indent}{src.function_for(schema)}({value}, buf)")
        elif kind == "array":
            item = src.fresh("item")
            emit(f"{indent}if type({value}) is not list: raise Fallback")
            emit(f"{indent}if {value}:")
            emit(f"{indent}    _write_long(buf, len({value}))")
            emit(f"{indent}    for {item} in {value}:")
            self.write(schema["items"], item, indent + "        ")
            emit(f"{indent}buf.append(0)")
        elif kind == "map":
            key, item = src.fresh("key"), src.fresh("item")
            emit(f"{indent}if type({value}) is not dict: raise Fallback")
            emit(f"{indent}if {value}:")
            emit(f"{indent}    _write_long(buf, len({value}))")
            emit(f"{indent}    for {key}, {item} in {value}.items():")
            self.write("string", key, indent + "        ")
            self.write(schema["values"], item, indent + "        ")
            emit(f"{indent}buf.append(0)")
        elif kind == "union":
            self.union(schema, value, indent)
        else:
            raise Unsupported(f"type {kind}")

    def union(self, branches: list[Any], value: str, indent: str) -> None:
        """A ``(name, datum)`` tuple picks its branch by name, as fastavro does; None picks "null"; a
        union of null and one primitive takes that primitive. Anything else goes to fastavro, whose
        branch choice (by validation) is not repeated here."""
        src, emit = self.src, self.src.lines.append
        names = [_branch_name(b, src) for b in branches]
        kinds = [_type_of(src.resolve(b)) for b in branches]
        inner, member = indent + "    ", src.fresh("member")
        emit(f"{indent}if type({value}) is tuple:")
        emit(f"{inner}if len({value}) != 2: raise Fallback")
        name = src.fresh("name")
        emit(f"{inner}{name}, {member} = {value}")
        for i, branch in enumerate(branches):
            if names.index(names[i]) != i:
                continue  # fastavro takes the first branch of that name
            emit(f"{inner}{'if' if i == 0 else 'elif'} {name} == {names[i]!r}:")
            emit(f"{inner}    buf.append({i << 1})")
            self.write(branch, member, inner + "    ")
        emit(f"{inner}else:")
        emit(f"{inner}    raise Fallback")
        others = [i for i, kind in enumerate(kinds) if kind != "null"]
        if "null" in kinds:
            emit(f"{indent}elif {value} is None:")
            emit(f"{inner}buf.append({kinds.index('null') << 1})")
        if len(others) == 1 and kinds[others[0]] in _PRIMITIVES and _logical_key(branches[others[0]]) is None:
            i = others[0]
            emit(f"{indent}else:")
            if kinds[i] == "int":  # fastavro validates union members: an int branch takes 32 bits
                emit(
                    f"{inner}if type({value}) is int and not _INT_MIN <= {value} <= _INT_MAX: raise Fallback"
                )
            emit(f"{inner}buf.append({i << 1})")
            self.write(branches[i], value, inner)
        else:
            emit(f"{indent}else:")
            emit(f"{inner}raise Fallback")

    def record_function(self, function: str, schema: dict[str, Any]) -> None:
        emit = self.src.lines.append
        emit(f"def {function}(datum, buf):")
        emit("    if type(datum) is not dict: raise Fallback")
        for field in schema["fields"]:
            value = self.src.fresh("f")
            emit(f"    {value} = datum[{field['name']!r}]")
            self.write(field["type"], value, "    ")
        emit("")


def compile_encoder(schema: Any) -> Encoder:
    """An encoder for ``schema`` (parsed by fastavro). It raises Fallback for datums it does not take;
    the caller treats any exception from it the same way (a missing field's KeyError, struct's
    OverflowError for a float too big for 32 bits, a logical writer's complaint): it encodes that
    datum with fastavro, whose verdict stands.

    Raises Unsupported for a schema it cannot compile."""
    named = dict(schema.get("__named_schemas", {})) if isinstance(schema, dict) else {}
    src = _Source(named)
    writer = _EncoderWriter(src)
    body: list[str] = []
    src.lines, outer = body, src.lines
    writer.write(schema, "datum", "    ")
    src.lines = outer
    src.lines.extend(["def encode(datum, buf):", *body, ""])
    while src.pending:
        function, record = src.pending.pop()
        writer.record_function(function, record)
    return src.build("encode")
