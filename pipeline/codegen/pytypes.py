"""From Avro schemas (fastavro's parsed form: full names, named types defined once) to Python types and
the expressions that convert between typed objects and Avro datums. Pure."""

from __future__ import annotations

import keyword
from dataclasses import dataclass
from typing import Any

__all__ = ["NamedTypes", "collect", "enum_lookup", "field_name", "member_name"]

_PRIMITIVES = {
    "null": "None",
    "boolean": "bool",
    "int": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "bytes": "bytes",
    "string": "str",
}
_LOGICAL = {
    ("long", "timestamp-millis"): "datetime.datetime",
    ("long", "timestamp-micros"): "datetime.datetime",
    ("long", "local-timestamp-millis"): "datetime.datetime",
    ("long", "local-timestamp-micros"): "datetime.datetime",
    ("int", "date"): "datetime.date",
    ("int", "time-millis"): "datetime.time",
    ("long", "time-micros"): "datetime.time",
    ("bytes", "decimal"): "decimal.Decimal",
    ("fixed", "decimal"): "decimal.Decimal",
    ("string", "uuid"): "uuid.UUID",
}


def field_name(name: str) -> str:
    """A Python attribute for an Avro field name (keywords get a trailing underscore)."""
    return f"{name}_" if keyword.iskeyword(name) or keyword.issoftkeyword(name) else name


def enum_lookup(class_name: str) -> str:
    """The generated module-level dict from an enum's symbols to its members."""
    return f"_{class_name.upper()}_BY_SYMBOL"


def member_name(symbol: str) -> str:
    """A Python enum member for an Avro enum symbol."""
    return f"{symbol}_" if keyword.iskeyword(symbol) or symbol.startswith("_") else symbol


@dataclass
class NamedTypes:
    """Every record and enum a schema reaches, in definition order, with unique Python class names."""

    schemas: dict[str, dict[str, Any]]  # full name -> definition (records, enums, fixed)
    class_names: dict[str, str]  # full name -> Python class (records and enums)

    def definition(self, name: str) -> dict[str, Any]:
        return self.schemas[name]

    # -- annotations -------------------------------------------------------------------------

    def annotation(self, schema: Any) -> str:
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return _PRIMITIVES[schema]
            return (
                self.annotation(self.schemas[schema])
                if self.schemas[schema]["type"] == "fixed"
                else self.class_names[schema]
            )
        if isinstance(schema, list):
            members = [self.annotation(branch) for branch in schema if branch != "null"]
            unique = list(dict.fromkeys(members))
            text = " | ".join(unique) if unique else "None"
            return f"{text} | None" if "null" in schema and unique else text
        kind = schema["type"]
        logical = _LOGICAL.get((kind, schema.get("logicalType")))
        if logical:
            return logical
        if kind in ("record", "error", "enum"):
            return self.class_names[schema["name"]]
        if kind == "fixed":
            return "bytes"
        if kind == "array":
            return f"list[{self.annotation(schema['items'])}]"
        if kind == "map":
            return f"dict[str, {self.annotation(schema['values'])}]"
        return self.annotation(kind)

    # -- conversions -------------------------------------------------------------------------

    def _kind(self, schema: Any) -> str:
        """record / enum / array / map / union / plain (no conversion needed)."""
        if isinstance(schema, list):
            return "union"
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return "plain"
            return self._kind(self.schemas[schema])
        kind = schema["type"]
        if kind in ("record", "error"):
            return "record"
        if kind in ("enum", "array", "map"):
            return kind
        return "plain"

    def _named(self, schema: Any) -> str:
        return schema if isinstance(schema, str) else schema["name"]

    def needs_conversion(self, schema: Any) -> bool:
        kind = self._kind(schema)
        if kind in ("array",):
            return self.needs_conversion(self._resolve(schema)["items"])
        if kind == "map":
            return self.needs_conversion(self._resolve(schema)["values"])
        return kind != "plain"

    def _resolve(self, schema: Any) -> Any:
        return self.schemas[schema] if isinstance(schema, str) and schema not in _PRIMITIVES else schema

    def to_avro(self, schema: Any, expr: str) -> str:
        """An expression turning the typed value ``expr`` into its Avro datum."""
        kind = self._kind(schema)
        if kind == "plain":
            return expr
        if kind == "record":
            return f"{expr}.to_avro()"
        if kind == "enum":
            return f"{expr}.value"
        schema = self._resolve(schema)
        if kind == "array":
            items = schema["items"]
            return f"[{self.to_avro(items, 'v')} for v in {expr}]" if self.needs_conversion(items) else expr
        if kind == "map":
            values = schema["values"]
            return (
                f"{{k: {self.to_avro(values, 'v')} for k, v in {expr}.items()}}"
                if self.needs_conversion(values)
                else expr
            )
        return self._union_to(schema, expr)

    def from_avro(self, schema: Any, expr: str) -> str:
        """An expression turning the Avro datum ``expr`` (named union members tagged) into a typed value."""
        kind = self._kind(schema)
        if kind == "plain":
            return expr
        if kind in ("record", "enum"):
            cls = self.class_names[self._named(schema)]
            # Enums through a dict: calling the Enum class costs ten times the lookup.
            return f"{cls}.from_avro({expr})" if kind == "record" else f"{enum_lookup(cls)}[{expr}]"
        schema = self._resolve(schema)
        if kind == "array":
            items = schema["items"]
            return f"[{self.from_avro(items, 'v')} for v in {expr}]" if self.needs_conversion(items) else expr
        if kind == "map":
            values = schema["values"]
            return (
                f"{{k: {self.from_avro(values, 'v')} for k, v in {expr}.items()}}"
                if self.needs_conversion(values)
                else expr
            )
        return self._union_from(schema, expr)

    def _named_branches(self, union: list[Any]) -> list[str]:
        return [
            self._named(b)
            for b in union
            if not (isinstance(b, str) and b in _PRIMITIVES)
            and self._resolve(b)["type"] in ("record", "error", "enum", "fixed")
        ]

    def _union_to(self, union: list[Any], expr: str) -> str:
        named = self._named_branches(union)
        others = [b for b in union if b != "null" and self._named(b) not in named] if named else union
        if len(named) == 1 and not [b for b in others if b != "null"] and "null" in union:
            (name,) = named
            inner = self.to_avro(name, expr)
            return f"None if {expr} is None else ({name!r}, {inner})"
        entries = []
        for name in named:
            kind = self._kind(name)
            if kind in ("record", "enum"):
                converter = "lambda v: v.to_avro()" if kind == "record" else "lambda v: v.value"
                entries.append(f"{self.class_names[name]}: ({name!r}, {converter})")
        if not entries:
            return expr
        return f"support.union_to_avro({expr}, {{{', '.join(entries)}}})"

    def _union_from(self, union: list[Any], expr: str) -> str:
        named = self._named_branches(union)
        if len(named) == 1 and len(union) == 2 and "null" in union:
            (name,) = named
            return f"None if {expr} is None else {self.from_avro(name, f'{expr}[1]')}"
        if not named and all(not self.needs_conversion(b) for b in union):
            return expr
        entries = ", ".join(f"{name!r}: lambda v: {self.from_avro(name, 'v')}" for name in named)
        args = [expr, f"{{{entries}}}"]
        arrays = [b for b in union if self._kind(b) == "array"]
        maps = [b for b in union if self._kind(b) == "map"]
        if arrays and self.needs_conversion(arrays[0]):
            args.append(f"array=lambda a: {self.from_avro(arrays[0], 'a')}")
        if maps and self.needs_conversion(maps[0]):
            args.append(f"map_=lambda m: {self.from_avro(maps[0], 'm')}")
        return f"support.union_from_avro({', '.join(args)})"


def _walk(schema: Any, seen: dict[str, dict[str, Any]]) -> None:
    if isinstance(schema, list):
        for branch in schema:
            _walk(branch, seen)
        return
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    if kind in ("record", "error", "enum", "fixed"):
        if schema["name"] in seen:
            return
        seen[schema["name"]] = schema
        for entry in schema.get("fields", []):
            _walk(entry["type"], seen)
    elif kind == "array":
        _walk(schema["items"], seen)
    elif kind == "map":
        _walk(schema["values"], seen)
    elif isinstance(kind, dict | list):
        _walk(kind, seen)


def collect(*schemas: Any) -> NamedTypes:
    """Every named type the schemas define, in the order they are first defined, with class names:
    the simple name, or namespace-qualified CamelCase where two full names share a simple name."""
    seen: dict[str, dict[str, Any]] = {}
    for schema in schemas:
        _walk(schema, seen)
    classes = [name for name, s in seen.items() if s["type"] in ("record", "error", "enum")]
    simple = [name.rsplit(".", 1)[-1] for name in classes]
    class_names = {}
    for name, short in zip(classes, simple, strict=True):
        if simple.count(short) > 1:
            short = "".join(part[:1].upper() + part[1:] for part in name.split("."))
        class_names[name] = short
    return NamedTypes(seen, class_names)
