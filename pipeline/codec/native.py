"""The native codec: plans the program the C extension (``pipeline.codec._native``) walks. Pure.

The extension takes the common road natively -- primitives, records, enums, arrays, maps, unions,
timestamps -- and hands whatever else it meets to the compiled Python codec of the same part of the
schema (a record's, or the root's): an unexpected value, a corrupt body, a logical type written in Python.
So its answers are the compiled codec's by construction; the generative oracle suites run on both.

Which codec runs: ``PIPELINE_CODEC`` = ``native`` (the default when the extension is built) or
``python``. Without the extension (no C compiler when the package was installed) the compiled Python
codec runs, and one notice line says so.
"""

from __future__ import annotations

import dataclasses
import decimal
import logging
import os
import types
import uuid
from collections.abc import Callable
from typing import Any

from pipeline.avro import Array, Enum, Fixed, Map, Primitive, Record, Schema, Union
from pipeline.codec import logical as logical_types
from pipeline.codec.compiled import (
    DecodeFunction,
    EncodeFunction,
    _min_size,
    compile_decoder,
    compile_encoder,
    default_bytes,
    reader_branch,
)
from pipeline.codec.typed import TypedModel, attribute_names
from pipeline.codec.values import MAX_DEPTH, converted

__all__ = ["CODEC_VARIABLE", "available", "native_decoder", "native_encoder", "same_schema"]

CODEC_VARIABLE = "PIPELINE_CODEC"

_log = logging.getLogger(__name__)

try:
    from pipeline.codec import _native  # type: ignore[attr-defined]
except ImportError as exc:  # not built: no C compiler when the package was installed
    _native = None
    _MISSING = f"{exc}"
else:
    _MISSING = "" if _native.MAX_DEPTH == MAX_DEPTH else "built for another nesting limit; rebuild it"
    _uuid_slots = uuid.UUID.__dict__
    _native.configure(
        uuid.UUID, _uuid_slots["int"], _uuid_slots["is_safe"], uuid.SafeUUID.unknown, decimal.Decimal
    )

(
    _NULL, _BOOLEAN, _INT, _LONG, _FLOAT, _DOUBLE, _BYTES, _STRING, _FIXED, _ENUM,
    _RECORD, _ARRAY, _MAP, _UNION, _TIMESTAMP, _LOGICAL, _PYTHON, _DECIMAL, _UUID,
) = range(19)  # fmt: skip
_PRIMITIVES = {
    "null": _NULL,
    "boolean": _BOOLEAN,
    "int": _INT,
    "long": _LONG,
    "float": _FLOAT,
    "double": _DOUBLE,
    "bytes": _BYTES,
    "string": _STRING,
}
_TIMESTAMPS = {
    "timestamp-millis": 1000,
    "timestamp-micros": 1_000_000,
    "local-timestamp-millis": 1000,
    "local-timestamp-micros": 1_000_000,
}
_noticed = False


def available() -> bool:
    """Whether the native codec runs: built, and not switched off by ``PIPELINE_CODEC=python``."""
    global _noticed
    wanted = os.environ.get(CODEC_VARIABLE, "native").strip().lower()
    if wanted == "python":
        return False
    if _native is None or _MISSING:
        if not _noticed:
            _noticed = True
            _log.warning(
                "pipeline: the native codec is not built (%s); running the compiled Python codec", _MISSING
            )
        return False
    return True


def native_encoder(schema: Schema, model: TypedModel | None = None) -> EncodeFunction | None:
    """The native encoder of ``schema`` (as :func:`compile_encoder` takes it), or None when the native
    codec does not run."""
    if not available():
        return None
    plan = _Plan(model, encoder=True)
    root = plan.node(schema)
    fallback = _root_fallback(schema, lambda: compile_encoder(schema, model))
    return _native.Program(plan.nodes, root, True, fallback)


def native_decoder(writer: Schema, reader: Schema, model: TypedModel | None = None) -> DecodeFunction | None:
    """The native decoder of data written with ``writer`` read as ``reader``, or None when the native
    codec does not run or the two differ (schema resolution stays with the compiled codec)."""
    if not available():
        return None
    read_as = reader
    if isinstance(reader, Union) and not isinstance(writer, Union):
        # One of a topic's several types: the writer's type is read as the branch Java resolves it to.
        index = reader_branch(reader, writer)
        read_as = reader.branches[index] if index is not None else reader
    if not same_schema(writer, read_as):
        return None
    plan = _Plan(model, encoder=False)
    root = plan.node(read_as)
    fallback = _root_fallback(reader, lambda: compile_decoder(writer, reader, model))
    return _native.Program(plan.nodes, root, False, fallback)


def same_schema(a: Schema, b: Schema) -> bool:
    """Whether reading data of ``a`` as ``b`` is reading it as written: the same types, names, fields in
    the same order, symbols and logical types (docs, aliases and defaults aside)."""
    return _same(a, b, set())


def _same(a: Schema, b: Schema, assumed: set[tuple[int, int]]) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, Primitive):
        return a.type == b.type and converted(a) == converted(b)
    if isinstance(a, Record | Enum | Fixed):
        if a.name.fullname != b.name.fullname:  # type: ignore[union-attr]
            return False
        if isinstance(a, Enum):
            return a.symbols == b.symbols  # type: ignore[union-attr]
        if isinstance(a, Fixed):
            return a.size == b.size and converted(a) == converted(b)  # type: ignore[union-attr]
        pair = (id(a), id(b))
        if pair in assumed:
            return True
        assumed.add(pair)
        fields_b = b.fields  # type: ignore[union-attr]
        return len(a.fields) == len(fields_b) and all(
            x.name == y.name and _same(x.type, y.type, assumed)
            for x, y in zip(a.fields, fields_b, strict=True)
        )
    if isinstance(a, Array):
        return _same(a.items, b.items, assumed)  # type: ignore[union-attr]
    if isinstance(a, Map):
        return _same(a.values, b.values, assumed)  # type: ignore[union-attr]
    assert isinstance(a, Union)
    branches_b = b.branches  # type: ignore[union-attr]
    return len(a.branches) == len(branches_b) and all(
        _same(x, y, assumed) for x, y in zip(a.branches, branches_b, strict=True)
    )


class _Lazy:
    """A compiled Python codec of one part, compiled the first time the native codec hands it work."""

    def __init__(self, compile_: Callable[[], Callable[..., Any]], depth_offset: int = 0) -> None:
        self._compile = compile_
        self._function: Callable[..., Any] | None = None
        self._offset = depth_offset

    def __call__(self, first: Any, second: Any, depth: int) -> Any:
        if self._function is None:
            self._function = self._compile()
        return self._function(first, second, depth + self._offset)


def _root_fallback(schema: Schema, compile_: Callable[[], Callable[..., Any]]) -> _Lazy:
    # A record at the top compiles to the record's own function, which counts its own depth.
    return _Lazy(compile_, 1 if isinstance(schema, Record) else 0)


class _Plan:
    """Nodes of one program: ``(kind, size, local, null_branch, children, cls, names, descriptors, table,
    convert, fallback)``, as ``_native.Program`` takes them; a named record once (recursion-safe)."""

    def __init__(self, model: TypedModel | None, *, encoder: bool) -> None:
        self.model = model
        self.encoder = encoder
        self.nodes: list[tuple[Any, ...]] = []
        self._records: dict[int, int] = {}

    def add(self, kind: int, *, size: int = 0, local: int = 0, null_branch: int = -1,
            children: tuple[int, ...] = (), cls: Any = None, names: Any = None, descriptors: Any = None,
            table: Any = None, convert: Any = None, fallback: Any = None) -> int:  # fmt: skip
        self.nodes.append(
            (kind, size, int(local), null_branch, children, cls, names, descriptors, table, convert, fallback)
        )
        return len(self.nodes) - 1

    def python(self, schema: Schema) -> int:
        """A part the compiled Python encoder writes (it takes the parent's depth)."""
        model = self.model
        return self.add(_PYTHON, fallback=_Lazy(lambda: compile_encoder(schema, model)))

    def node(self, schema: Schema) -> int:
        logical = converted(schema)
        if logical is not None:
            return self.logical(schema, logical)
        if isinstance(schema, Primitive):
            return self.add(_PRIMITIVES[schema.type])
        if isinstance(schema, Fixed):
            return self.add(_FIXED, size=schema.size)
        if isinstance(schema, Enum):
            return self.enum(schema)
        if isinstance(schema, Record):
            return self.record(schema)
        if isinstance(schema, Array):
            zero = not self.encoder and _min_size(schema.items) == 0
            return self.add(_ARRAY, size=int(zero), children=(self.node(schema.items),))
        if isinstance(schema, Map):
            return self.add(_MAP, children=(self.node(schema.values),))
        return self.union(schema)

    def logical(self, schema: Schema, logical: Any) -> int:
        per_second = _TIMESTAMPS.get(logical.name)
        local = logical.name.startswith("local-")
        if per_second is not None and not (self.encoder and local):
            return self.add(_TIMESTAMP, size=per_second, local=local, table=logical_types.EPOCH.tzinfo)
        on_string = isinstance(schema, Primitive) and schema.type == "string"
        if logical.name == "uuid" and on_string:
            return self.add(_UUID)
        on_bytes = isinstance(schema, Primitive) and schema.type == "bytes"
        if self.encoder and logical.name == "decimal" and on_bytes and logical.precision <= 18:
            return self.add(_DECIMAL, size=logical.scale, local=logical.precision)
        if self.encoder:
            return self.python(schema)
        if isinstance(schema, Fixed):
            underlying = self.add(_FIXED, size=schema.size)
        else:
            assert isinstance(schema, Primitive)
            underlying = self.add(_PRIMITIVES[schema.type])
        convert = logical_types.READERS[logical.name](logical)
        if logical.name == "decimal":
            cls = decimal.Decimal
            return self.add(_DECIMAL, size=logical.scale, children=(underlying,), cls=cls, convert=convert)
        return self.add(_LOGICAL, children=(underlying,), convert=convert)

    def enum(self, schema: Enum) -> int:
        cls = self.typed(schema)
        if self.encoder:
            keys = list(cls) if cls is not None else list(schema.symbols)
            return self.add(_ENUM, cls=cls, table={key: i for i, key in enumerate(keys)})
        values = tuple(cls(s) for s in schema.symbols) if cls is not None else schema.symbols
        return self.add(_ENUM, cls=cls, table=values)

    def record(self, schema: Record) -> int:
        known = self._records.get(id(schema))
        if known is not None:
            return known
        index = self.add(_NULL)  # a place held for the record, which its fields may refer to
        self._records[id(schema)] = index
        cls = self.typed(schema)
        field_names = [f.name for f in schema.fields]
        names = attribute_names(field_names) if cls is not None else tuple(field_names)
        children = tuple(self.node(f.type) for f in schema.fields)
        model = self.model
        if self.encoder:
            fallback = _Lazy(lambda: compile_encoder(schema, model))
            defaults = None
            if cls is None:
                defaults = tuple(
                    default_bytes(f.type, f.default) if f.has_default else None for f in schema.fields
                )
        else:
            fallback = _Lazy(lambda: compile_decoder(schema, schema, model))
            defaults = None
        self.nodes[index] = (
            _RECORD, 0, 0, -1, children, cls, names, _slots(cls, names), defaults, None, fallback
        )  # fmt: skip
        return index

    def union(self, schema: Union) -> int:
        branches = schema.branches
        if not self.encoder:
            return self.add(_UNION, children=tuple(self.node(b) for b in branches))
        nulls = [i for i, b in enumerate(branches) if isinstance(b, Primitive) and b.type == "null"]
        if self.model is None or len(branches) != 2 or not nulls:
            return self.python(schema)  # the compiled encoder chooses the branch
        return self.add(_UNION, null_branch=nulls[0], children=tuple(self.node(b) for b in branches))

    def typed(self, schema: Record | Enum) -> Any:
        return None if self.model is None else self.model.get(schema.name.fullname)


def _slots(cls: Any, names: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The slot descriptors of ``cls``'s fields when an instance may be built by filling them in (what
    the dataclass's own ``__init__`` does), else None (the class is called)."""
    if cls is None or type(cls) is not type or cls.__new__ is not object.__new__:
        return None
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__"):
        return None
    fields = dataclasses.fields(cls)
    if any(not f.init for f in fields) or {f.name for f in fields} != set(names) or len(fields) != len(names):
        return None
    init = cls.__dict__.get("__init__")
    if init is None or getattr(getattr(init, "__code__", None), "co_filename", None) != "<string>":
        return None  # not the dataclass's generated __init__
    found = []
    for name in names:
        owner = next((k for k in cls.__mro__ if name in k.__dict__), None)
        descriptor = owner.__dict__[name] if owner is not None else None
        if type(descriptor) is not types.MemberDescriptorType:
            return None
        found.append(descriptor)
    return tuple(found)
