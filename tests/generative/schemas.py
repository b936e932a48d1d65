"""Hypothesis strategies for Avro schemas over the whole specification.

A drawn :class:`SchemaCase` is a root schema plus the named types it uses from other "files" (each a
standalone schema, referenced by full name, in dependency order), as a catalog with references holds
them. Schemas cover records (nested, recursive through unions, arrays and maps), enums with and
without defaults, fixed, arrays, maps, unions of null, primitives and several named types, every
logical type (and some invalid ones, which Avro ignores), aliases, docs and defaults. Names include
Python keywords and leading underscores, to shake the code generator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]

# Simple names: ordinary, Python keywords, names Python mangles, names our generated modules use.
NAME_POOL = [
    "Alpha", "Beta", "Gamma", "Delta", "Event", "Item", "Node", "Money", "Address", "class", "None",
    "_Hidden", "__Mangled", "datetime", "Any", "enum", "uuid", "decimal", "dataclasses", "Order", "Z9",
]  # fmt: skip
FIELD_POOL = [
    "id", "name", "value", "amount", "when", "items", "next", "class", "from", "type", "match", "_",
    "__private", "self", "to_avro", "from_avro", "kind", "a", "b", "c", "lambda", "None", "cls", "x_1",
]  # fmt: skip
SYMBOL_POOL = ["A", "B", "C", "RED", "GREEN", "None", "class", "_x", "value", "name", "mro", "Z"]
NAMESPACES = ["", "a", "com.example", "com.example.common", "x.y_z"]


@dataclass
class SchemaCase:
    """A root schema (JSON) and the referenced named types' schemas, dependencies first."""

    root: Any
    references: list[Any] = field(default_factory=list)

    @property
    def root_text(self) -> str:
        return json.dumps(self.root)

    @property
    def reference_texts(self) -> list[str]:
        return [json.dumps(r) for r in self.references]


class _Builder:
    """Draws one schema with a shared budget of named types and nesting."""

    def __init__(
        self, draw: st.DrawFn, *, max_depth: int, allow_recursion: bool, strict: bool = False
    ) -> None:
        self.draw = draw
        self.strict = strict  # only what the catalog's validation accepts (no invalid logical types)
        self.max_depth = max_depth
        self.allow_recursion = allow_recursion
        self.used_names: set[str] = set()  # simple names: unique, so a bare reference is never ambiguous
        self.defined: list[str] = []  # full names usable by reference
        self.open_records: list[str] = []  # records being defined (recursion targets)
        self.enclosing: list[str] = [""]  # the namespace a definition without one inherits

    def fresh_name(self, kind: str) -> tuple[str, str]:
        """(simple name, namespace) for a new named type with a full name not used yet."""
        simple = self.draw(
            st.sampled_from(NAME_POOL) | st.from_regex(r"[A-Z][a-z]{1,6}[0-9]?", fullmatch=True)
        )
        namespace = self.draw(st.sampled_from(NAMESPACES))
        base, counter = simple, 1
        while True:
            if simple not in self.used_names and simple not in PRIMITIVES:
                self.used_names.add(simple)
                return simple, namespace
            counter += 1
            simple = f"{base}{counter}"

    def named(self, node: dict[str, Any], kind: str) -> str:
        simple, namespace = self.fresh_name(kind)
        node["name"] = simple
        if namespace != self.enclosing[-1] or self.draw(st.booleans()):
            node["namespace"] = namespace  # else inherited from the enclosing named type
        if self.draw(st.booleans()):
            node["doc"] = self.draw(st.text(max_size=20))
        return f"{namespace}.{simple}" if namespace else simple

    def logical(self) -> dict[str, Any]:
        choice = self.draw(
            st.sampled_from(
                [
                    "decimal-bytes", "decimal-fixed", "uuid", "uuid-fixed", "date", "time-millis",
                    "time-micros", "timestamp-millis", "timestamp-micros", "local-timestamp-millis",
                    "local-timestamp-micros", "timestamp-nanos",
                    *(() if self.strict else ("invalid-decimal", "unknown")),
                ]
            )
        )  # fmt: skip
        if choice == "decimal-bytes":
            precision = self.draw(st.integers(1, 40))
            return {"type": "bytes", "logicalType": "decimal", "precision": precision,
                    "scale": self.draw(st.integers(0, precision))}  # fmt: skip
        if choice == "decimal-fixed":
            size = self.draw(st.integers(1, 16))
            limit = max(1, int(__import__("math").floor(__import__("math").log10(2) * (8 * size - 1))))
            precision = self.draw(st.integers(1, limit))
            node = {"type": "fixed", "size": size, "logicalType": "decimal", "precision": precision,
                    "scale": self.draw(st.integers(0, precision))}  # fmt: skip
            self.named(node, "fixed")
            return node
        if choice == "uuid":
            return {"type": "string", "logicalType": "uuid"}
        if choice == "uuid-fixed":
            node = {"type": "fixed", "size": 16, "logicalType": "uuid"}
            self.named(node, "fixed")
            return node
        if choice == "invalid-decimal":  # Avro ignores it: plain bytes
            return {"type": "bytes", "logicalType": "decimal", "precision": 0}
        if choice == "unknown":
            return {"type": "string", "logicalType": "color"}
        base = {"date": "int", "time-millis": "int"}.get(choice, "long")
        return {"type": base, "logicalType": choice}

    def schema(self, depth: int, *, in_union: bool = False) -> Any:
        leaf = depth >= self.max_depth
        options = ["primitive", "primitive", "logical", "enum", "fixed", "reference"]
        if not leaf:
            options += ["record", "record", "array", "map"]
            if not in_union:
                options += ["union", "union"]
        choice = self.draw(st.sampled_from(options))
        if choice == "reference":
            targets = self.defined + (self.open_records if self.allow_recursion and not leaf else [])
            if not targets:
                choice = "primitive"
            else:
                target = self.draw(st.sampled_from(targets))
                if target in self.open_records and "." not in target and self.enclosing[-1]:
                    # a bare name used inside its own definition names the current namespace (Java
                    # 1.12): a record of the null namespace cannot be reached from another one
                    return "string"
                if target in self.open_records:
                    # recursion only where a value can end: an optional or a collection
                    wrapper = self.draw(st.sampled_from(["union", "array", "map"]))
                    if wrapper == "union" and not in_union:
                        return ["null", target]
                    return (
                        {"type": "array", "items": target}
                        if wrapper == "array"
                        else {"type": "map", "values": target}
                    )
                return target
        if choice == "primitive":
            kind = self.draw(st.sampled_from(PRIMITIVES))
            return {"type": kind} if self.draw(st.booleans()) and not in_union else kind
        if choice == "logical":
            return self.logical()
        if choice == "enum":
            symbols = self.draw(st.lists(st.sampled_from(SYMBOL_POOL), min_size=1, max_size=6, unique=True))
            node: dict[str, Any] = {"type": "enum", "symbols": symbols}
            if self.draw(st.booleans()):
                node["default"] = self.draw(st.sampled_from(symbols))
            self.defined.append(self.named(node, "enum"))
            return node
        if choice == "fixed":
            node = {"type": "fixed", "size": self.draw(st.integers(0, 12))}
            self.defined.append(self.named(node, "fixed"))
            return node
        if choice == "array":
            return {"type": "array", "items": self.schema(depth + 1)}
        if choice == "map":
            return {"type": "map", "values": self.schema(depth + 1)}
        if choice == "union":
            return self.union(depth)
        return self.record(depth)

    def union(self, depth: int) -> list[Any]:
        branches: list[Any] = []
        keys: set[str] = set()
        if self.draw(st.booleans()):
            branches.append("null")
            keys.add("null")
        for _ in range(self.draw(st.integers(1, 4))):
            before = (list(self.defined), set(self.used_names))
            branch = self.schema(depth + 1, in_union=True)
            key = _union_key(branch)
            if key in keys:
                self.defined, self.used_names = before  # its definitions are dropped with it
                continue
            keys.add(key)
            branches.append(branch)
        if not branches or (len(branches) == 1 and branches[0] == "null" and self.draw(st.booleans())):
            branches.append("string")
        return branches

    def record(self, depth: int) -> dict[str, Any]:
        node: dict[str, Any] = {"type": self.draw(st.sampled_from(["record", "record", "record", "error"]))}
        full = self.named(node, "record")
        self.open_records.append(full)
        self.enclosing.append(full.rpartition(".")[0])
        names = self.draw(st.lists(st.sampled_from(FIELD_POOL), min_size=0, max_size=5, unique=True))
        fields = []
        for name in names:
            entry: dict[str, Any] = {"name": name, "type": self.schema(depth + 1)}
            if self.draw(st.integers(0, 3)) == 0:
                entry["doc"] = self.draw(st.text(max_size=15))
            default = _default_for(entry["type"], self.draw)
            if default is not _NONE:
                entry["default"] = default
            fields.append(entry)
        node["fields"] = fields
        self.enclosing.pop()
        self.open_records.remove(full)
        self.defined.append(full)
        if self.draw(st.integers(0, 4)) == 0:
            node["aliases"] = [f"{full}Old"]
        return node


_NONE = object()


def full_name(node: dict[str, Any]) -> str:
    """The full name a named type's JSON defines."""
    namespace = node.get("namespace", "")
    return f"{namespace}.{node['name']}" if namespace and "." not in node["name"] else node["name"]


def _union_key(branch: Any) -> str:
    if isinstance(branch, str):  # simple names are unique, so they identify named types
        return branch if branch in PRIMITIVES else f"named:{branch.rpartition('.')[2]}"
    if isinstance(branch, list):
        return "union"
    kind = branch["type"]
    if kind in ("record", "error", "enum", "fixed"):
        return f"named:{branch['name']}"
    return kind


def _default_for(schema: Any, draw: st.DrawFn) -> Any:
    """A JSON default valid for ``schema`` (in its first union branch), or _NONE for no default."""
    if draw(st.integers(0, 2)) != 0:
        return _NONE
    if isinstance(schema, list):
        schema = schema[0]
    if isinstance(schema, str) and schema not in PRIMITIVES:
        return _NONE  # a named type used by name: no default drawn
    kind = schema if isinstance(schema, str) else schema.get("type")
    if isinstance(schema, dict) and schema.get("logicalType") in ("decimal", "uuid") and kind == "fixed":
        return _NONE
    if kind == "null":
        return None
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "int":
        if isinstance(schema, dict) and schema.get("logicalType") == "time-millis":
            return draw(st.integers(0, 86_399_999))
        if isinstance(schema, dict) and schema.get("logicalType") == "date":
            return draw(st.integers(-719_162, 2_932_896))
        return draw(st.integers(-(2**31), 2**31 - 1))
    if kind == "long":
        if isinstance(schema, dict) and schema.get("logicalType") == "time-micros":
            return draw(st.integers(0, 86_399_999_999))
        if isinstance(schema, dict) and "timestamp" in str(schema.get("logicalType")):
            return draw(st.integers(-(10**12), 10**12))
        return draw(st.integers(-(2**63), 2**63 - 1))
    if kind in ("float", "double"):
        return draw(st.integers(-1000, 1000))
    if kind == "string":
        if isinstance(schema, dict) and schema.get("logicalType") == "uuid":
            return str(draw(st.uuids()))
        return draw(st.text(max_size=10))
    if kind == "bytes":
        if isinstance(schema, dict) and schema.get("logicalType") == "decimal":
            return "\u0000"
        return draw(st.binary(max_size=6)).decode("latin-1")
    if kind == "enum":
        return draw(st.sampled_from(schema["symbols"]))
    if kind == "fixed":
        return draw(st.binary(min_size=schema["size"], max_size=schema["size"])).decode("latin-1")
    if kind == "array":
        return []
    if kind == "map":
        return {}
    return _NONE  # records and named references: no default


@st.composite
def schema_cases(
    draw: st.DrawFn,
    *,
    max_depth: int = 3,
    references: bool = True,
    allow_recursion: bool = True,
    strict: bool = False,
) -> SchemaCase:
    """A record schema, possibly using named types from other files (``references``); ``strict``: only
    what the catalog's validation accepts."""
    builder = _Builder(draw, max_depth=max_depth, allow_recursion=allow_recursion, strict=strict)
    library: list[Any] = []
    if references:
        for _ in range(draw(st.integers(0, 2))):
            # another file sees only this file's top-level type, as a catalog's files see each other
            visible = list(builder.defined)
            kind = draw(st.sampled_from(["record", "enum", "fixed"]))
            if kind == "record":
                library.append(builder.record(1))
            elif kind == "enum":
                node: dict[str, Any] = {
                    "type": "enum",
                    "symbols": draw(
                        st.lists(st.sampled_from(SYMBOL_POOL), min_size=1, max_size=4, unique=True)
                    ),
                }
                builder.defined.append(builder.named(node, "enum"))
                library.append(node)
            else:
                node = {"type": "fixed", "size": draw(st.integers(0, 8))}
                builder.defined.append(builder.named(node, "fixed"))
                library.append(node)
            builder.defined = [*visible, full_name(library[-1])]
    root = builder.record(0)
    return SchemaCase(root, library)
