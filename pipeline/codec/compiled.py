"""Avro binary encoders and decoders compiled per schema into straight-line Python. Pure.

Why: a function written for one schema -- fields in order, varints decoded in place on the bytes,
objects built directly -- does in a fraction of the time what a general walker does.

**Encoders** take exactly the values :mod:`pipeline.codec.values` says a schema takes, typed (instances
of the generated classes, by :mod:`pipeline.codec.typed`'s convention) or generic (dicts and symbols),
and raise for anything else; the caller then asks :func:`pipeline.codec.values.problem` why, so the
verdict and its explanation come from one place.

**Decoders** read data written with one schema (the writer's) as another (the reader's), following Avro
Java 1.12's resolution (``ResolvingGrammarGenerator``): fields matched by name or reader alias, writer-only
fields skipped, reader-only fields given their defaults, the promotions int -> long -> float -> double and
string <-> bytes, enum symbols by name (or the reader's default), union branches by Java's
``bestBranch``; named enums and fixed must match by full name (after the reader's aliases). As in Java, a
mismatch fails only when data reaches it (an unmatched writer union branch fails for the messages that
use it). The reader's logical types apply. Readers raise :class:`pipeline.errors.SchemaMismatchError`,
:class:`~pipeline.errors.UnrepresentableValueError` and :class:`~pipeline.errors.NestingLimitError`
with the reader's field path; a damaged body raises IndexError, ValueError, UnicodeDecodeError or
:class:`~pipeline.errors.CorruptPayloadError`, which :class:`pipeline.codec.Decoder` reports as corrupt.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import struct
import uuid
from collections.abc import Callable, Iterable
from typing import Any, cast

from pipeline.avro import (
    INT_MAX,
    INT_MIN,
    LONG_MAX,
    LONG_MIN,
    Array,
    Enum,
    Fixed,
    Map,
    Primitive,
    Record,
    Schema,
    Union,
    describe,
)
from pipeline.codec import logical as logical_types
from pipeline.codec.typed import TypedModel, attribute_names, avro_name
from pipeline.codec.values import (
    MAX_DEPTH,
    choose_branch,
    converted,
    default_value,
    type_name,
)
from pipeline.codec.varint import read_long, write_long
from pipeline.errors import (
    CorruptPayloadError,
    NestingLimitError,
    SchemaMismatchError,
    UnrepresentableValueError,
)

__all__ = [
    "DecodeFunction",
    "EncodeFunction",
    "compile_decoder",
    "compile_encoder",
    "default_bytes",
    "reader_branch",
]

DecodeFunction = Callable[[bytes, int], tuple[Any, int]]
"""``decode(data, pos) -> (value, end)``: one value read from ``data`` starting at ``pos``."""

EncodeFunction = Callable[[Any, bytearray], None]
"""``encode(value, buf)``: the value's Avro binary appended to ``buf``; raises when it does not fit."""

_MAX_BLOCKS = 8  # nested blocks (if/while/for) in one function before a part moves into its own
_ZERO_SIZE_ITEMS = 1_000_000  # items of a type that takes no bytes (null) one block may claim


class _Invalid(Exception):
    """A value an encoder does not take (the caller asks values.problem why)."""


def _fail() -> None:
    raise _Invalid


_BASE_GLOBALS: dict[str, Any] = {
    "_read_long": read_long,
    "_write_long": write_long,
    "_unpack_double": struct.Struct("<d").unpack_from,
    "_unpack_float": struct.Struct("<f").unpack_from,
    "_pack_double": struct.Struct("<d").pack,
    "_pack_float": struct.Struct("<f").pack,
    "_Invalid": _Invalid,
    "_Mismatch": SchemaMismatchError,
    "_Unrepresentable": UnrepresentableValueError,
    "_Corrupt": CorruptPayloadError,
    "_TooDeep": NestingLimitError,
    "_MAX_DEPTH": MAX_DEPTH,
    "_INT_MIN": INT_MIN,
    "_INT_MAX": INT_MAX,
    "_LONG_MIN": LONG_MIN,
    "_LONG_MAX": LONG_MAX,
    "_avro_name": avro_name,
    "_datetime": dt.datetime,
    "_EPOCH": logical_types.EPOCH,
    "_EPOCH_NAIVE": logical_types.EPOCH_NAIVE,
    "_timedelta": dt.timedelta,
    "_bytes": bytes,
    "_bytearray": bytearray,
    "_OverflowError": OverflowError,
}


class _Source:
    """Python source under construction: lines, fresh names, constants, functions queued by key."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.globals: dict[str, Any] = dict(_BASE_GLOBALS)
        self.functions: dict[object, str] = {}
        self.pending: list[tuple[str, Callable[[str], None]]] = []
        self._counter = 0

    def fresh(self, stem: str) -> str:
        self._counter += 1
        return f"{stem}{self._counter}"

    def const(self, stem: str, value: Any) -> str:
        name = self.fresh(f"_{stem}")
        self.globals[name] = value
        return name

    def function(self, key: object, stem: str, write: Callable[[str], None]) -> str:
        """The name of the function for ``key``, queued to be written on first use (recursion-safe)."""
        if key not in self.functions:
            self.functions[key] = self.fresh(stem)
            self.pending.append((self.functions[key], write))
        return self.functions[key]

    def emit_pending(self) -> None:
        while self.pending:
            name, write = self.pending.pop()
            body: list[str] = []
            outer, self.lines = self.lines, body
            write(name)
            self.lines = outer
            self.lines.extend(body)

    def build(self, entry: str, label: str) -> Any:
        namespace = dict(self.globals)
        exec(compile("\n".join(self.lines) + "\n", f"<avro {label}>", "exec"), namespace)
        return namespace[entry]


def _label(schema: Schema) -> str:
    return type_name(schema)


def _emit_long(emit: Callable[[str], None], target: str, indent: str, *, int32: bool = False) -> None:
    """Lines reading a zig-zag varint at ``pos`` into ``target``, written out (a call per varint costs
    as much as the loop): at most 5 bytes for an int, 10 for a long, and no bits beyond 32 or 64."""
    bits, last_shift = (32, 28) if int32 else (64, 63)
    emit(f"{indent}b = data[pos]")
    emit(f"{indent}pos += 1")
    emit(f"{indent}if b < 128:")
    emit(f"{indent}    {target} = (b >> 1) ^ -(b & 1)")
    emit(f"{indent}else:")
    emit(f"{indent}    n = b & 127")
    emit(f"{indent}    shift = 7")
    emit(f"{indent}    while True:")
    emit(f"{indent}        b = data[pos]")
    emit(f"{indent}        pos += 1")
    emit(f"{indent}        n |= (b & 127) << shift")
    emit(f"{indent}        if b < 128:")
    emit(f"{indent}            break")
    emit(f"{indent}        shift += 7")
    emit(f"{indent}        if shift > {last_shift}:")
    emit(f"{indent}            raise _Corrupt('a varint runs past {bits} bits')")
    emit(f"{indent}    if n >> {bits}:")
    emit(f"{indent}        raise _Corrupt('a varint runs past {bits} bits')")
    emit(f"{indent}    {target} = (n >> 1) ^ -(n & 1)")


# -- encoders ------------------------------------------------------------------------------------


class _Writer:
    """What the encoder and decoder compilers share: the source being written and the typed model."""

    def __init__(self, src: _Source, model: TypedModel | None) -> None:
        self.src = src
        self.model = model

    def emit(self, line: str) -> None:
        self.src.lines.append(line)

    def typed(self, schema: Record | Enum) -> type | None:
        return None if self.model is None else self.model.get(schema.name.fullname)


class _Encoder(_Writer):
    def write(self, schema: Schema, value: str, indent: str, blocks: int) -> None:
        """Lines that append ``value`` (a local name) written as ``schema``."""
        src, emit = self.src, self.emit
        if blocks >= _MAX_BLOCKS and isinstance(schema, Array | Map | Union):
            part = src.function(("part", id(schema)), "_enc_part", lambda name: self.part(name, schema))
            emit(f"{indent}{part}({value}, buf, depth)")
            return
        logical = converted(schema)
        if logical is not None:
            self.logical(schema, logical, value, indent)
            return
        if isinstance(schema, Primitive):
            self.primitive(schema.type, value, indent)
        elif isinstance(schema, Fixed):
            is_bytes = f"(type({value}) is _bytes or type({value}) is _bytearray)"
            emit(f"{indent}if {is_bytes} and len({value}) == {schema.size}:")
            emit(f"{indent}    buf += {value}")
            emit(f"{indent}else:")
            emit(f"{indent}    raise _Invalid")
        elif isinstance(schema, Enum):
            self.enum(schema, value, indent)
        elif isinstance(schema, Record):
            function = src.function(
                ("record", id(schema)), "_enc_record", lambda name: self.record(name, schema)
            )
            emit(f"{indent}{function}({value}, buf, depth + 1)")
        elif isinstance(schema, Array):
            item = src.fresh("item")
            emit(f"{indent}if type({value}) is not list: raise _Invalid")
            emit(f"{indent}if {value}:")
            emit(f"{indent}    _write_long(buf, len({value}))")
            emit(f"{indent}    for {item} in {value}:")
            self.write(schema.items, item, indent + "        ", blocks + 2)
            emit(f"{indent}buf.append(0)")
        elif isinstance(schema, Map):
            key, item = src.fresh("key"), src.fresh("item")
            emit(f"{indent}if type({value}) is not dict: raise _Invalid")
            emit(f"{indent}if {value}:")
            emit(f"{indent}    _write_long(buf, len({value}))")
            emit(f"{indent}    for {key}, {item} in {value}.items():")
            self.primitive("string", key, indent + "        ")
            self.write(schema.values, item, indent + "        ", blocks + 2)
            emit(f"{indent}buf.append(0)")
        else:
            assert isinstance(schema, Union)
            self.union(schema, value, indent, blocks)

    def part(self, name: str, schema: Schema) -> None:
        self.emit(f"def {name}(v, buf, depth):")
        self.write(schema, "v", "    ", 0)
        self.emit("")

    def primitive(self, kind: str, value: str, indent: str) -> None:
        emit = self.emit
        if kind == "null":
            emit(f"{indent}if {value} is not None: raise _Invalid")
        elif kind == "boolean":
            emit(f"{indent}if {value} is True:")
            emit(f"{indent}    buf.append(1)")
            emit(f"{indent}elif {value} is False:")
            emit(f"{indent}    buf.append(0)")
            emit(f"{indent}else:")
            emit(f"{indent}    raise _Invalid")
        elif kind in ("int", "long"):
            low, high = ("_INT_MIN", "_INT_MAX") if kind == "int" else ("_LONG_MIN", "_LONG_MAX")
            emit(f"{indent}if type({value}) is not int: raise _Invalid")
            emit(f"{indent}if 0 <= {value} < 64:")
            emit(f"{indent}    buf.append({value} << 1)")
            emit(f"{indent}elif {low} <= {value} <= {high}:")
            emit(f"{indent}    _write_long(buf, {value})")
            emit(f"{indent}else:")
            emit(f"{indent}    raise _Invalid")
        elif kind in ("float", "double"):
            pack = "_pack_float" if kind == "float" else "_pack_double"
            emit(f"{indent}if type({value}) is float:")
            emit(f"{indent}    buf += {pack}({value})")
            emit(f"{indent}elif type({value}) is int:")
            emit(f"{indent}    buf += {pack}(float({value}))")
            emit(f"{indent}else:")
            emit(f"{indent}    raise _Invalid")
        elif kind == "string":
            raw = self.src.fresh("raw")
            emit(f"{indent}if type({value}) is not str: raise _Invalid")
            emit(f"{indent}{raw} = {value}.encode()")
            self.length_prefixed(raw, indent)
        else:
            emit(
                f"{indent}if type({value}) is not _bytes and type({value}) is not _bytearray: raise _Invalid"
            )
            self.length_prefixed(value, indent)

    def length_prefixed(self, raw: str, indent: str) -> None:
        emit = self.emit
        emit(f"{indent}if len({raw}) < 64:")
        emit(f"{indent}    buf.append(len({raw}) << 1)")
        emit(f"{indent}else:")
        emit(f"{indent}    _write_long(buf, len({raw}))")
        emit(f"{indent}buf += {raw}")

    def logical(self, schema: Schema, logical: Any, value: str, indent: str) -> None:
        src, emit = self.src, self.emit
        underlying = src.fresh("u")
        if logical.name in ("timestamp-millis", "timestamp-micros"):
            # The hot case, written out: the arithmetic of logical.to_underlying.
            unit = src.const(
                "unit",
                dt.timedelta(milliseconds=1)
                if logical.name.endswith("millis")
                else dt.timedelta(microseconds=1),
            )
            low, high = logical_types._SPAN["millis" if logical.name.endswith("millis") else "micros"]
            emit(f"{indent}if type({value}) is not _datetime: raise _Invalid")
            emit(f"{indent}if {value}.tzinfo is None:")
            emit(f"{indent}    {underlying} = ({value} - _EPOCH_NAIVE) // {unit}")
            emit(f"{indent}else:")
            emit(f"{indent}    {underlying} = ({value} - _EPOCH) // {unit}")
            emit(f"{indent}if not {low} <= {underlying} <= {high}: raise _Invalid")
        else:
            size = schema.size if isinstance(schema, Fixed) else None
            convert = src.const("to_underlying", logical_types.to_underlying)
            emit(f"{indent}{underlying} = {convert}({src.const('logical', logical)}, {value}, {size})")
        base = schema.type if isinstance(schema, Primitive) else "fixed"
        if base == "fixed":
            emit(f"{indent}buf += {underlying}")
        elif base in ("bytes", "string"):
            raw = underlying if base == "bytes" else f"{underlying}.encode()"
            if base == "string":
                emit(f"{indent}{underlying} = {raw}")
            self.length_prefixed(underlying, indent)
        else:
            emit(f"{indent}_write_long(buf, {underlying})")

    def enum(self, schema: Enum, value: str, indent: str) -> None:
        src, emit = self.src, self.emit
        cls = self.typed(schema)
        index = src.fresh("index")
        if cls is not None:
            members = src.const("members", {member: i for i, member in enumerate(cast(Iterable[Any], cls))})
            slow = src.const("enum_index", _typed_enum_index(schema))
            emit(f"{indent}{index} = {members}.get({value})")
            emit(f"{indent}if {index} is None: {index} = {slow}({value})")
        else:
            symbols = src.const("symbols", {s: i for i, s in enumerate(schema.symbols)})
            emit(f"{indent}if type({value}) is not str: raise _Invalid")
            emit(f"{indent}{index} = {symbols}[{value}]")
        emit(f"{indent}if {index} < 64:")
        emit(f"{indent}    buf.append({index} << 1)")
        emit(f"{indent}else:")
        emit(f"{indent}    _write_long(buf, {index})")

    def record(self, name: str, schema: Record) -> None:
        emit = self.emit
        emit(f"def {name}(v, buf, depth=1):")
        emit("    if depth > _MAX_DEPTH: raise _Invalid")
        cls = self.typed(schema)
        if cls is not None:
            full = schema.name.fullname
            known = self.src.const("cls", cls)
            emit(f"    if type(v) is not {known} and _avro_name(type(v)) != {full!r}: raise _Invalid")
            names = attribute_names([f.name for f in schema.fields])
            for entry, attr in zip(schema.fields, names, strict=True):
                local = self.src.fresh("f")
                emit(f"    {local} = v.{attr}")
                self.write(entry.type, local, "    ", 0)
        else:
            emit("    if type(v) is not dict: raise _Invalid")
            for entry in schema.fields:
                local = self.src.fresh("f")
                if entry.has_default:  # a missing field is written as its default, straight from the JSON
                    fallback = self.src.const("default", default_bytes(entry.type, entry.default))
                    emit(f"    if {entry.name!r} in v:")
                    emit(f"        {local} = v[{entry.name!r}]")
                    self.write(entry.type, local, "        ", 1)
                    emit("    else:")
                    emit(f"        buf += {fallback}")
                else:
                    emit(f"    {local} = v[{entry.name!r}]")
                    self.write(entry.type, local, "    ", 0)
        emit("")

    def union(self, schema: Union, value: str, indent: str, blocks: int) -> None:
        src, emit = self.src, self.emit
        branches = schema.branches
        kinds = [b.type if isinstance(b, Primitive) else "" for b in branches]
        inner = indent + "    "
        if self.model is not None and len(branches) == 2 and "null" in kinds:
            # The common optional field, inline: None, or the other branch (which checks the value).
            null, other = kinds.index("null"), 1 - kinds.index("null")
            emit(f"{indent}if {value} is None:")
            emit(f"{inner}buf.append({null << 1})")
            emit(f"{indent}else:")
            emit(f"{inner}buf.append({other << 1})")
            self.write(branches[other], value, inner, blocks + 1)
            return
        chooser = src.const("choose", _chooser(schema, self.model))
        index, member = src.fresh("branch"), src.fresh("member")
        emit(f"{indent}{index} = {chooser}({value})")
        if self.model is None:
            emit(f"{indent}{member} = {value}[1] if type({value}) is tuple else {value}")
        else:
            member = value
        for i, branch in enumerate(branches):
            emit(f"{indent}{'if' if i == 0 else 'elif'} {index} == {i}:")
            emit(f"{inner}buf.append({i << 1})")
            self.write(branch, member, inner, blocks + 1)


def default_bytes(schema: Schema, default: Any) -> bytes:
    """The Avro binary of a field's JSON ``default`` (Java's ``ResolvingGrammarGenerator.encode``: a
    union's default in its first branch, bytes and fixed as ISO-8859-1 text, logical types ignored).
    Raises ValueError when the default does not fit."""
    buf = bytearray()
    _write_default(schema, default, buf)
    return bytes(buf)


def _write_default(schema: Schema, value: Any, buf: bytearray) -> None:
    if isinstance(schema, Union):
        buf.append(0)
        _write_default(schema.branches[0], value, buf)
    elif isinstance(schema, Primitive):
        kind = schema.type
        if kind == "null":
            if value is not None:
                raise ValueError(f"default {value!r} is not null")
        elif kind == "boolean":
            if type(value) is not bool:
                raise ValueError(f"default {value!r} is not a boolean")
            buf.append(1 if value else 0)
        elif kind in ("int", "long"):
            low, high = (INT_MIN, INT_MAX) if kind == "int" else (LONG_MIN, LONG_MAX)
            if type(value) is not int or not low <= value <= high:
                raise ValueError(f"default {value!r} is not an {kind}")
            write_long(buf, value)
        elif kind in ("float", "double"):
            if type(value) not in (int, float):
                raise ValueError(f"default {value!r} is not a number")
            buf += struct.pack("<f" if kind == "float" else "<d", float(value))
        else:
            if type(value) is not str:
                raise ValueError(f"default {value!r} is not a string")
            raw = value.encode("utf-8" if kind == "string" else "latin-1")
            write_long(buf, len(raw))
            buf += raw
    elif isinstance(schema, Fixed):
        raw = value.encode("latin-1") if type(value) is str else b""
        if len(raw) != schema.size:
            raise ValueError(f"default {value!r} is not {schema.size} bytes")
        buf += raw
    elif isinstance(schema, Enum):
        if value not in schema.symbols:
            raise ValueError(f"default {value!r} is not a symbol of {schema.name.fullname}")
        write_long(buf, schema.symbols.index(value))
    elif isinstance(schema, Array | Map):
        if not isinstance(value, list if isinstance(schema, Array) else dict):
            raise ValueError(
                f"default {value!r} is not a JSON {'array' if isinstance(schema, Array) else 'object'}"
            )
        if value:
            write_long(buf, len(value))
            if isinstance(schema, Array):
                for item in value:
                    _write_default(schema.items, item, buf)
            else:
                for key, item in cast(dict[str, Any], value).items():
                    _write_default(Primitive("string"), key, buf)
                    _write_default(schema.values, item, buf)
        buf.append(0)
    else:
        assert isinstance(schema, Record)
        if not isinstance(value, dict):
            raise ValueError(f"default {value!r} is not a JSON object")
        for entry in schema.fields:
            _write_default(entry.type, value.get(entry.name, entry.default), buf)


def _typed_enum_index(schema: Enum) -> Callable[[Any], int]:
    """The slow path of a typed enum: a member of another class generated for the same Avro enum."""
    index = {symbol: i for i, symbol in enumerate(schema.symbols)}
    full = schema.name.fullname

    def find(value: Any) -> int:
        if avro_name(type(value)) != full:
            raise _Invalid
        found = index.get(str(getattr(value, "value", "")))
        if found is None:
            raise _Invalid
        return found

    return find


def _chooser(union: Union, model: TypedModel | None) -> Callable[[Any], int]:
    """The branch index for a value (values.choose_branch), remembered per Python type where the
    type alone decides."""
    by_type: dict[type, int] = {}
    value_dependent = {int, tuple, bytes, bytearray, dict}
    if model is None:
        value_dependent.add(str)

    def choose(value: Any) -> int:
        t = type(value)
        found = by_type.get(t)
        if found is not None:
            return found
        found = choose_branch(union, value, model)
        if found is None:
            raise _Invalid
        if t not in value_dependent:
            by_type[t] = found
        return found

    return choose


def compile_encoder(schema: Schema, model: TypedModel | None = None) -> EncodeFunction:
    """An encoder for ``schema``: typed against ``model`` (full name -> generated class), or generic
    when ``model`` is None. It raises for a value the schema does not take."""
    src = _Source()
    writer = _Encoder(src, model)
    body: list[str] = []
    outer, src.lines = src.lines, body
    writer.write(schema, "value", "    ", 0)
    src.lines = outer
    src.lines.extend(["def encode(value, buf, depth=0):", *body, ""])
    src.emit_pending()
    entry = src.functions.get(("record", id(schema)), "encode")  # a record at the top: its function
    return cast(EncodeFunction, src.build(entry, f"encoder {_label(schema)}"))


# -- decoders ------------------------------------------------------------------------------------


def _aliased(writer: Schema, reader: Schema) -> bool:
    """Whether a named writer type is the named reader type: same full name, or one of the reader's
    aliases (Java's ``Schema.applyAliases``)."""
    assert isinstance(writer, Record | Enum | Fixed) and isinstance(reader, Record | Enum | Fixed)
    return writer.name.fullname == reader.name.fullname or writer.name.fullname in reader.aliases


_PROMOTIONS = {
    ("int", "long"),
    ("int", "float"),
    ("int", "double"),
    ("long", "float"),
    ("long", "double"),
    ("float", "double"),
    ("string", "bytes"),
    ("bytes", "string"),
}


def _kind(schema: Schema) -> str:
    return "record" if isinstance(schema, Record) else schema.type


class _Decoder(_Writer):
    # -- resolution (what Java's ResolvingGrammarGenerator decides) --------------------------------

    def top_error(self, writer: Schema, reader: Schema) -> bool:
        """Whether Java's grammar for reading ``writer`` as ``reader`` is an error at its top (what
        ``hasMatchError`` looks at): kinds that neither match nor promote, a union with no branch for a
        plain writer type, enums or fixed that differ in name (or fixed in size)."""
        if isinstance(writer, Union):
            return False
        if isinstance(reader, Union):
            return self.best_branch(reader, writer) is None
        return not self._shallow(writer, reader)

    def structure_match(self, writer: Record, reader: Record) -> bool:
        """Java's ``!hasMatchError(resolveRecords(writer, reader))``: every reader field is read from a
        writer field without an error at its top, or has a default."""
        if _renamed_twice(writer, reader) is not None:
            return False
        matched = _match_fields(writer, reader)
        for entry in reader.fields:
            source = matched.get(entry.name)
            if source is None:
                if not entry.has_default:
                    return False
            elif self.top_error(source.type, entry.type):
                return False
        return True

    def _shallow(self, writer: Schema, reader: Schema) -> bool:
        """Whether a non-union writer type reads as the reader type at all: the same kind (an enum or
        fixed of the same simple name, or the reader's alias, and a fixed of the same size; records of
        any name, as Java reads them by structure) or a promotion."""
        if _kind(writer) == _kind(reader):
            if not isinstance(writer, Enum | Fixed):
                return True
            assert isinstance(reader, Enum | Fixed)
            named = writer.name.name == reader.name.name or _aliased(writer, reader)
            return named and (not isinstance(writer, Fixed) or writer.size == reader.size)  # type: ignore[union-attr]
        return (_kind(writer), _kind(reader)) in _PROMOTIONS

    def best_branch(self, union: Union, writer: Schema) -> int | None:
        """Java's ``ResolvingGrammarGenerator.bestBranch``: an exact match (named types by full name),
        else a record of matching structure (one of the same simple name preferred), else a promotion."""
        kind = _kind(writer)
        structure: int | None = None
        for index, branch in enumerate(union.branches):
            if _kind(branch) != kind:
                continue
            if not isinstance(writer, Record | Enum | Fixed):
                return index
            assert isinstance(branch, Record | Enum | Fixed)
            if _aliased(writer, branch):
                return index
            structured = isinstance(writer, Record) and self.structure_match(writer, branch)  # type: ignore[arg-type]
            if structured and (structure is None or writer.name.name == branch.name.name):
                structure = index
        if structure is not None:
            return structure
        for index, branch in enumerate(union.branches):
            if (kind, _kind(branch)) in _PROMOTIONS:
                return index
        return None

    # -- code --------------------------------------------------------------------------------------

    def read(self, writer: Schema, reader: Schema, target: str, indent: str, path: str, blocks: int) -> None:
        """Lines that read a ``writer`` value at ``pos`` into ``target`` as ``reader``."""
        src, emit = self.src, self.emit
        if blocks >= _MAX_BLOCKS and isinstance(writer, Array | Map | Union):
            part = src.function(
                ("part", id(writer), id(reader)),
                "_dec_part",
                lambda name: self.part(name, writer, reader, path),
            )
            emit(f"{indent}{target}, pos = {part}(data, pos, depth)")
            return
        if isinstance(writer, Union):
            self.writer_union(writer, reader, target, indent, path, blocks)
            return
        if isinstance(reader, Union):
            index = self.best_branch(reader, writer)
            if index is None:
                self.mismatch(writer, reader, indent, path)
                return
            reader = reader.branches[index]
        if not self._shallow(writer, reader):
            self.mismatch(writer, reader, indent, path)
            return
        if isinstance(writer, Primitive):
            self.primitive(writer.type, reader, target, indent, path)
        elif isinstance(writer, Fixed):
            emit(f"{indent}end = pos + {writer.size}")
            emit(f"{indent}if end > size: raise IndexError")
            emit(f"{indent}{target} = data[pos:end]")
            emit(f"{indent}pos = end")
            self.convert(reader, target, indent, path)
        elif isinstance(writer, Enum):
            self.enum(writer, reader, target, indent, path)  # type: ignore[arg-type]
        elif isinstance(writer, Record):
            assert isinstance(reader, Record)
            function = src.function(
                ("record", id(writer), id(reader)),
                "_dec_record",
                lambda name: self.record(name, writer, reader),
            )
            emit(f"{indent}{target}, pos = {function}(data, pos, depth + 1)")
        elif isinstance(writer, Array):
            assert isinstance(reader, Array)
            self.blocks(writer.items, reader.items, None, target, indent, f"{path}[]", blocks)
        else:
            assert isinstance(writer, Map) and isinstance(reader, Map)
            self.blocks(writer.values, reader.values, "map", target, indent, f"{path}{{}}", blocks)

    def part(self, name: str, writer: Schema, reader: Schema, path: str) -> None:
        self.emit(f"def {name}(data, pos, depth):")
        self.emit("    size = len(data)")
        self.read(writer, reader, "value", "    ", path, 0)
        self.emit("    return value, pos")
        self.emit("")

    def mismatch(self, writer: Schema, reader: Schema, indent: str, path: str) -> None:
        message = f"{path}: the writer's {describe(writer)} cannot be read as {describe(reader)}"
        self.emit(f"{indent}raise _Mismatch({message!r})")

    def primitive(self, kind: str, reader: Schema, target: str, indent: str, path: str) -> None:
        emit = self.emit
        wanted = reader.type if isinstance(reader, Primitive) else ""
        if kind == "null":
            emit(f"{indent}{target} = None")
        elif kind == "boolean":
            emit(f"{indent}{target} = data[pos]")
            emit(f"{indent}pos += 1")
            emit(f"{indent}if {target} > 1: raise _Corrupt('a boolean byte is neither 0 nor 1')")
            emit(f"{indent}{target} = {target} == 1")
        elif kind in ("int", "long"):
            _emit_long(emit, target, indent, int32=kind == "int")
            if wanted in ("float", "double"):
                emit(f"{indent}{target} = float({target})")
        elif kind == "float":
            emit(f"{indent}{target} = _unpack_float(data, pos)[0]")
            emit(f"{indent}pos += 4")
        elif kind == "double":
            emit(f"{indent}{target} = _unpack_double(data, pos)[0]")
            emit(f"{indent}pos += 8")
        else:
            size = self.src.fresh("n")
            _emit_long(emit, size, indent)
            emit(f"{indent}end = pos + {size}")
            emit(f"{indent}if end > size or {size} < 0: raise IndexError")  # past the end, or negative
            emit(f"{indent}{target} = data[pos:end]{'.decode()' if wanted == 'string' else ''}")
            emit(f"{indent}pos = end")
        self.convert(reader, target, indent, path)

    def convert(self, reader: Schema, target: str, indent: str, path: str) -> None:
        """The reader's logical type applied to the underlying value in ``target``."""
        logical = converted(reader)
        if logical is None:
            return
        src, emit = self.src, self.emit
        if logical.name in (
            "timestamp-millis",
            "timestamp-micros",
            "local-timestamp-millis",
            "local-timestamp-micros",
        ):
            base = "_EPOCH_NAIVE" if logical.name.startswith("local-") else "_EPOCH"
            # seconds and microseconds positionally: a third cheaper than timedelta(microseconds=...)
            if logical.name.endswith("millis"):
                split = f"{target} // 1000, {target} % 1000 * 1000"
            else:
                split = f"{target} // 1000000, {target} % 1000000"
            emit(f"{indent}try:")
            emit(f"{indent}    {target} = {base} + _timedelta(0, {split})")
            emit(f"{indent}except _OverflowError:")
            raised = _message(
                f"{path}: {logical.name} ",
                target,
                " is outside the years 1 to 9999 that a Python datetime holds",
            )
            emit(f"{indent}    raise _Unrepresentable({raised}) from None")
            return
        reader_fn = src.const("from_underlying", logical_types.READERS[logical.name](logical))
        emit(f"{indent}try:")
        emit(f"{indent}    {target} = {reader_fn}({target})")
        emit(f"{indent}except _Unrepresentable as exc:")
        emit(f"{indent}    raise _Unrepresentable({path + ': '!r} + str(exc)) from None")

    def enum(self, writer: Enum, reader: Enum, target: str, indent: str, path: str) -> None:
        src, emit = self.src, self.emit
        cls = None if self.model is None else self.model.get(reader.name.fullname)
        missing = object()
        table = []
        for symbol in writer.symbols:
            chosen = symbol if symbol in reader.symbols else reader.default
            if chosen is None:
                table.append(missing)
            else:
                table.append(cls(chosen) if cls is not None else chosen)
        symbols = src.const("symbols", tuple(table))
        index = src.fresh("index")
        _emit_long(emit, index, indent)
        emit(f"{indent}if not 0 <= {index} < {len(table)}:")
        raised = _message(f"{path}: enum index ", index, f" is not one of the writer's {len(table)} symbols")
        emit(f"{indent}    raise _Corrupt({raised})")
        emit(f"{indent}{target} = {symbols}[{index}]")
        if missing in table:
            marker = src.const("missing", missing)
            names = src.const("writer_symbols", writer.symbols)
            emit(f"{indent}if {target} is {marker}:")
            raised = _message(
                f"{path}: the writer's symbol ",
                f"{names}[{index}]",
                f" is not in the reader's enum {reader.name.fullname}, which has no default",
            )
            emit(f"{indent}    raise _Mismatch({raised})")

    def writer_union(
        self, writer: Union, reader: Schema, target: str, indent: str, path: str, blocks: int
    ) -> None:
        emit = self.emit
        index = self.src.fresh("index")
        _emit_long(emit, index, indent)
        for i, branch in enumerate(writer.branches):
            emit(f"{indent}{'if' if i == 0 else 'elif'} {index} == {i}:")
            self.read(branch, reader, target, indent + "    ", path, blocks + 1)
        emit(f"{indent}else:")
        raised = _message(
            f"{path}: union branch ", index, f" is not one of the writer's {len(writer.branches)}"
        )
        emit(f"{indent}    raise _Corrupt({raised})")

    def blocks(
        self,
        writer: Schema,
        reader: Schema,
        kind: str | None,
        target: str,
        indent: str,
        path: str,
        blocks: int,
    ) -> None:
        src, emit = self.src, self.emit
        count, item, key = src.fresh("count"), src.fresh("item"), src.fresh("key")
        emit(f"{indent}{target} = []" if kind is None else f"{indent}{target} = {{}}")
        _emit_long(emit, count, indent)
        emit(f"{indent}while {count} != 0:")
        inner, body = indent + "    ", indent + "        "
        emit(f"{inner}if {count} < 0:")
        emit(f"{inner}    {count} = -{count}")
        emit(f"{inner}    _, pos = _read_long(data, pos)")
        if _min_size(writer) + (1 if kind else 0) == 0:
            raised = _message(f"{path}: a block claims ", count, " items that take no bytes")
            emit(f"{inner}if {count} > {_ZERO_SIZE_ITEMS}: raise _Corrupt({raised})")
        else:
            emit(f"{inner}if {count} > len(data) - pos: raise IndexError")
        emit(f"{inner}for _ in range({count}):")
        if kind == "map":
            self.primitive("string", Primitive("string"), key, body, path)
            self.read(writer, reader, item, body, path, blocks + 2)
            emit(f"{body}{target}[{key}] = {item}")
        else:
            self.read(writer, reader, item, body, path, blocks + 2)
            emit(f"{body}{target}.append({item})")
        _emit_long(emit, count, inner)

    def record(self, name: str, writer: Record, reader: Record) -> None:
        src, emit = self.src, self.emit
        emit(f"def {name}(data, pos, depth=1):")
        emit("    size = len(data)")
        here = reader.name.fullname  # a record's function serves every place the record appears
        too_deep = f"{here}: nested more than {MAX_DEPTH} records deep"
        emit(f"    if depth > _MAX_DEPTH: raise _TooDeep({too_deep!r})")
        twice = _renamed_twice(writer, reader)
        if twice is not None:
            message = f"{here}: two of the writer's fields read as {twice} once the reader's aliases apply"
            emit(f"    raise _Mismatch({message!r})")
            emit("")
            return
        matched = _match_fields(writer, reader)
        sources = {id(source): reader_field for reader_field, source in matched.items()}
        for entry in reader.fields:
            if entry.name not in matched and not entry.has_default:
                message = (
                    f"{here}.{entry.name}: the writer's {writer.name.fullname} has no field "
                    f"{entry.name} and the reader's has no default for it"
                )
                emit(f"    raise _Mismatch({message!r})")
                emit("")
                return
        locals_: dict[str, str] = {}
        for source in writer.fields:
            reader_name = sources.get(id(source))
            if reader_name is None:
                self.skip(source.type, "    ", 0)
                continue
            reader_field = next(f for f in reader.fields if f.name == reader_name)
            locals_[reader_name] = target = src.fresh("f")
            self.read(source.type, reader_field.type, target, "    ", f"{here}.{reader_name}", 0)
        values: list[tuple[str, str]] = []
        for entry in reader.fields:
            if entry.name in locals_:
                values.append((entry.name, locals_[entry.name]))
                continue
            value = default_value(entry.type, entry.default, self.model)
            if _immutable(value):
                values.append((entry.name, src.const("default", value)))
            else:
                factory = src.const("default", _fresh_default(entry.type, entry.default, self.model))
                values.append((entry.name, f"{factory}()"))
        cls = None if self.model is None else self.model.get(reader.name.fullname)
        if cls is None:
            emit("    return {" + ", ".join(f"{field!r}: {local}" for field, local in values) + "}, pos")
        else:
            names = attribute_names([field for field, _ in values])
            arguments = ", ".join(f"{attr}={local}" for attr, (_, local) in zip(names, values, strict=True))
            emit(f"    return {src.const('cls', cls)}({arguments}), pos")
        emit("")

    def skip(self, writer: Schema, indent: str, blocks: int) -> None:
        """Lines that step over a ``writer`` value (no conversion, no objects)."""
        src, emit = self.src, self.emit
        if blocks >= _MAX_BLOCKS and isinstance(writer, Array | Map | Union):
            part = src.function(("skip", id(writer)), "_skip_part", lambda name: self.skip_part(name, writer))
            emit(f"{indent}pos = {part}(data, pos, depth)")
            return
        if isinstance(writer, Primitive):
            kind = writer.type
            if kind == "null":
                emit(f"{indent}pass")
            elif kind == "boolean":
                emit(f"{indent}pos += 1")
            elif kind in ("int", "long"):
                emit(f"{indent}_, pos = _read_long(data, pos)")
            elif kind in ("float", "double"):
                emit(f"{indent}pos += {4 if kind == 'float' else 8}")
            elif kind in ("bytes", "string"):
                size = src.fresh("n")
                emit(f"{indent}{size}, pos = _read_long(data, pos)")
                emit(f"{indent}if {size} < 0: raise IndexError")
                emit(f"{indent}pos += {size}")
        elif isinstance(writer, Fixed):
            emit(f"{indent}pos += {writer.size}")
        elif isinstance(writer, Enum):
            emit(f"{indent}_, pos = _read_long(data, pos)")
        elif isinstance(writer, Record):
            function = src.function(
                ("skip", id(writer)), "_skip_record", lambda name: self.skip_record(name, writer)
            )
            emit(f"{indent}pos = {function}(data, pos, depth + 1)")
        elif isinstance(writer, Array | Map):
            count = src.fresh("count")
            emit(f"{indent}{count}, pos = _read_long(data, pos)")
            emit(f"{indent}while {count} != 0:")
            inner = indent + "    "
            emit(f"{inner}if {count} < 0:")
            emit(f"{inner}    size, pos = _read_long(data, pos)")
            emit(f"{inner}    if size < 0: raise IndexError")
            emit(f"{inner}    pos += size")
            emit(f"{inner}else:")
            if _min_size(writer.items if isinstance(writer, Array) else writer.values) == 0 and isinstance(
                writer, Array
            ):
                emit(f"{inner}    if {count} > {_ZERO_SIZE_ITEMS}:")
                emit(f"{inner}        raise _Corrupt('a block claims too many items that take no bytes')")
            else:
                emit(f"{inner}    if {count} > len(data) - pos: raise IndexError")
            emit(f"{inner}    for _ in range({count}):")
            if isinstance(writer, Map):
                self.skip(Primitive("string"), inner + "        ", blocks + 3)
            self.skip(
                writer.items if isinstance(writer, Array) else writer.values, inner + "        ", blocks + 3
            )
            emit(f"{inner}{count}, pos = _read_long(data, pos)")
        else:
            assert isinstance(writer, Union)
            index = src.fresh("index")
            emit(f"{indent}{index}, pos = _read_long(data, pos)")
            for i, branch in enumerate(writer.branches):
                emit(f"{indent}{'if' if i == 0 else 'elif'} {index} == {i}:")
                self.skip(branch, indent + "    ", blocks + 1)
            emit(f"{indent}else:")
            emit(f"{indent}    raise _Corrupt({_message('union branch ', index, ' is out of range')})")
        if isinstance(writer, Fixed | Primitive) and not (
            isinstance(writer, Primitive) and writer.type == "null"
        ):
            emit(f"{indent}if pos > len(data): raise IndexError")

    def skip_part(self, name: str, writer: Schema) -> None:
        self.emit(f"def {name}(data, pos, depth):")
        self.emit("    size = len(data)")
        self.skip(writer, "    ", 0)
        self.emit("    return pos")
        self.emit("")

    def skip_record(self, name: str, writer: Record) -> None:
        self.emit(f"def {name}(data, pos, depth):")
        self.emit("    if depth > _MAX_DEPTH: raise _TooDeep('a skipped record is nested too deep')")
        for entry in writer.fields:
            self.skip(entry.type, "    ", 0)
        self.emit("    return pos")
        self.emit("")


def _match_fields(writer: Record, reader: Record) -> dict[str, Any]:
    """Reader field name -> the writer field it reads, as Java's ``Schema.applyAliases`` decides: a writer
    field named in a reader field's aliases is that reader field (even when another reader field has its
    name), any other by its own name. Aliases apply only when the records match by name or reader alias."""
    renamed: dict[str, str] = {}
    if _aliased(writer, reader):
        for entry in reader.fields:
            for alias in entry.aliases:
                renamed[alias] = entry.name
    names = {entry.name for entry in reader.fields}
    return {
        renamed.get(source.name, source.name): source
        for source in reversed(writer.fields)
        if renamed.get(source.name, source.name) in names
    }


def _renamed_twice(writer: Record, reader: Record) -> str | None:
    """The name two writer fields would both take once the reader's field aliases apply (Java refuses
    such a writer: "Duplicate field"), or None."""
    renamed = {}
    if _aliased(writer, reader):
        renamed = {alias: entry.name for entry in reader.fields for alias in entry.aliases}
    seen: set[str] = set()
    for source in writer.fields:
        name = renamed.get(source.name, source.name)
        if name in seen:
            return name
        seen.add(name)
    return None


def _min_size(schema: Schema, seen: frozenset[int] = frozenset()) -> int:
    """The fewest bytes a value of ``schema`` takes."""
    if isinstance(schema, Primitive):
        return {"null": 0, "float": 4, "double": 8}.get(schema.type, 1)
    if isinstance(schema, Fixed):
        return schema.size
    if isinstance(schema, Record):
        if id(schema) in seen:
            return 1
        return sum(_min_size(entry.type, seen | {id(schema)}) for entry in schema.fields)
    return 1


def _immutable(value: Any) -> bool:
    """Whether a default's value may be shared by every record that takes it."""
    return value is None or isinstance(value, _IMMUTABLE)


_IMMUTABLE = (bool, int, float, str, bytes, decimal.Decimal, uuid.UUID, dt.date, dt.time, enum.Enum)


def _message(prefix: str, expression: str, suffix: str) -> str:
    """Source for a message built at run time: ``prefix + str(expression) + suffix`` (concatenated,
    since paths may hold braces)."""
    return f"{prefix!r} + str({expression}) + {suffix!r}"


def _fresh_default(schema: Schema, default: Any, model: TypedModel | None) -> Callable[[], Any]:
    return lambda: default_value(schema, default, model)


def reader_branch(union: Union, writer: Schema) -> int | None:
    """The branch of a reader's ``union`` that a non-union ``writer`` type is read as (Java's
    ``bestBranch``), or None when none is."""
    return _Decoder(_Source(), None).best_branch(union, writer)


def compile_decoder(
    writer: Schema, reader: Schema | None = None, model: TypedModel | None = None
) -> DecodeFunction:
    """A decoder of data written with ``writer``, read as ``reader`` (default: the writer itself),
    building instances of ``model``'s classes (full name -> generated class) where it has them and
    dicts and symbols elsewhere."""
    reader = writer if reader is None else reader
    src = _Source()
    decoder = _Decoder(src, model)
    body: list[str] = []
    outer, src.lines = src.lines, body
    root = reader.name.fullname if isinstance(reader, Record | Enum | Fixed) else reader.type
    decoder.read(writer, reader, "value", "    ", root, 0)
    src.lines = outer
    src.lines.extend(
        ["def decode(data, pos, depth=0):", "    size = len(data)", *body, "    return value, pos", ""]
    )
    src.emit_pending()
    # A record at the top is read by its own function directly: one call less per value.
    entry = src.functions.get(("record", id(writer), id(reader)), "decode")
    return cast(DecodeFunction, src.build(entry, f"decoder {_label(writer)} as {_label(reader)}"))
