"""Avro schema documents (``.avsc`` files) as values: strict JSON with the line of every node, Avro
names and namespaces, and a walk over the type positions of a schema.

Pure: no I/O. :mod:`pipeline.schema.lint` and :mod:`pipeline.schema` build on it.

A *node path* is a tuple of object keys and array indexes from the document root, e.g.
``("fields", 4, "type", "symbols", 2)``; :func:`json_path` renders it as ``$.fields[4].type.symbols[2]``.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from pipeline.avro import MAX_JSON_DEPTH, NAMED_KINDS

__all__ = [
    "JsonSyntaxError",
    "NodePath",
    "ParsedJson",
    "TypeSite",
    "definition_namespace",
    "is_legal_full_name",
    "is_legal_name",
    "json_path",
    "parse_json",
    "qualify",
    "resolve_name",
    "split_full_name",
    "walk_types",
]

NodePath = tuple[str | int, ...]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_WHITESPACE = " \t\n\r"
# The stdlib's own string scanner (C-accelerated); typeshed does not declare it.
_scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


class JsonSyntaxError(ValueError):
    """The text is not strict JSON (RFC 8259, no duplicate keys, no NaN)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.reason = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class ParsedJson:
    """A JSON value and the 1-based line on which each of its nodes starts."""

    value: Any
    lines: Mapping[NodePath, int]

    def line_of(self, path: NodePath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def json_path(path: NodePath) -> str:
    """``("fields", 4, "type")`` -> ``$.fields[4].type``."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _NAME.fullmatch(part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def parse_json(text: str) -> ParsedJson:
    """Parse strict JSON, recording the line of every node. Raises JsonSyntaxError (with line and
    column) on malformed text, duplicate object keys, non-finite numbers or nesting deeper than
    MAX_JSON_DEPTH."""
    parser = _Parser(text)
    try:
        return parser.parse()
    except RecursionError:
        raise parser._fail(f"nested too deeply to read (the limit is {MAX_JSON_DEPTH} levels)", 0) from None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        self.lines: dict[NodePath, int] = {}

    def _position(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, index)
        return line, index - self.line_starts[line - 1] + 1

    def _fail(self, message: str, index: int) -> JsonSyntaxError:
        return JsonSyntaxError(message, *self._position(index))

    def _skip(self, index: int) -> int:
        while index < len(self.text) and self.text[index] in _WHITESPACE:
            index += 1
        return index

    def parse(self) -> ParsedJson:
        index = self._skip(0)
        value, index = self._value(index, ())
        index = self._skip(index)
        if index != len(self.text):
            raise self._fail("extra data after the JSON value", index)
        return ParsedJson(value, self.lines)

    def _value(self, index: int, path: NodePath) -> tuple[Any, int]:
        if index >= len(self.text):
            raise self._fail("unexpected end of file; expected a value", index)
        self.lines[path] = self._position(index)[0]
        ch = self.text[index]
        if ch in "{[" and len(path) >= MAX_JSON_DEPTH:
            raise self._fail(f"nested more than {MAX_JSON_DEPTH} levels deep", index)
        if ch == "{":
            return self._object(index + 1, path)
        if ch == "[":
            return self._array(index + 1, path)
        if ch == '"':
            return self._string(index)
        for literal, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(literal, index):
                return value, index + len(literal)
        match = _NUMBER.match(self.text, index)
        if match:
            number = match.group()
            is_float = match.group(1) is not None or match.group(2) is not None
            return (float(number) if is_float else int(number)), match.end()
        raise self._fail(f"unexpected character {ch!r}; expected a value", index)

    def _string(self, index: int) -> tuple[str, int]:
        try:
            return _scanstring(self.text, index + 1, True)
        except json.JSONDecodeError as exc:
            raise self._fail(exc.msg, exc.pos) from None

    def _object(self, index: int, path: NodePath) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        index = self._skip(index)
        if index < len(self.text) and self.text[index] == "}":
            return result, index + 1
        while True:
            index = self._skip(index)
            if index >= len(self.text) or self.text[index] != '"':
                raise self._fail("expected a double-quoted property name", index)
            key_index = index
            key, index = self._string(index)
            if key in result:
                raise self._fail(f"duplicate key {key!r}", key_index)
            index = self._skip(index)
            if index >= len(self.text) or self.text[index] != ":":
                raise self._fail("expected ':' after a property name", index)
            result[key], index = self._value(self._skip(index + 1), (*path, key))
            index = self._skip(index)
            if index < len(self.text) and self.text[index] == ",":
                index += 1
                continue
            if index < len(self.text) and self.text[index] == "}":
                return result, index + 1
            raise self._fail("expected ',' or '}' in an object", index)

    def _array(self, index: int, path: NodePath) -> tuple[list[Any], int]:
        result: list[Any] = []
        index = self._skip(index)
        if index < len(self.text) and self.text[index] == "]":
            return result, index + 1
        while True:
            item, index = self._value(self._skip(index), (*path, len(result)))
            result.append(item)
            index = self._skip(index)
            if index < len(self.text) and self.text[index] == ",":
                index += 1
                continue
            if index < len(self.text) and self.text[index] == "]":
                return result, index + 1
            raise self._fail("expected ',' or ']' in an array", index)


def is_legal_name(name: object) -> TypeGuard[str]:
    """An Avro simple name: ``[A-Za-z_][A-Za-z0-9_]*``."""
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def is_legal_full_name(name: object) -> TypeGuard[str]:
    """Dot-separated legal simple names (an empty namespace is allowed only as ``""``)."""
    return isinstance(name, str) and all(_NAME.fullmatch(part) for part in name.split("."))


def qualify(name: str, namespace: str) -> str:
    """The full name of ``name`` used inside ``namespace`` (a dotted name is already full)."""
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def resolve_name(name: str, namespace: str, known: Callable[[str], bool]) -> str:
    """The full name a type reference means where it is used: ``name`` in ``namespace`` when that type is
    ``known`` (defined by then), else ``name`` as written when that is known -- Avro Java 1.12's rule,
    which lets a bare name reach a type of the null namespace -- else ``name`` in ``namespace``."""
    qualified = qualify(name, namespace)
    if qualified != name and not known(qualified) and known(name):
        return name
    return qualified


def split_full_name(full_name: str) -> tuple[str, str]:
    """``"com.example.Money"`` -> ``("com.example", "Money")``."""
    namespace, _, name = full_name.rpartition(".")
    return namespace, name


def definition_namespace(node: Mapping[str, Any], enclosing: str) -> tuple[str, str]:
    """(namespace, full name) of a named-type definition inside ``enclosing``. Follows the Avro
    specification: a dotted ``name`` wins, then ``namespace``, then the enclosing namespace."""
    name = node.get("name")
    if not isinstance(name, str):
        return enclosing, ""
    if "." in name:
        return split_full_name(name)[0], name
    namespace = node.get("namespace", enclosing)
    if not isinstance(namespace, str):
        namespace = enclosing
    return namespace, qualify(name, namespace)


@dataclass(frozen=True)
class TypeSite:
    """One place where a schema appears: the node, its path, and the namespace in force there."""

    node: Any
    path: NodePath
    namespace: str


def walk_types(
    node: Any, path: NodePath = (), namespace: str = "", *, enter: Callable[[TypeSite], bool] | None = None
) -> Iterator[TypeSite]:
    """Every schema position under ``node`` in document order: the node itself, record field types,
    array items, map values and union branches. Named definitions switch the namespace for what they
    contain. ``enter(site)`` may return False to skip what lies below a site."""
    site = TypeSite(node, path, namespace)
    yield site
    if enter is not None and not enter(site):
        return
    if isinstance(node, list):
        for index, branch in enumerate(node):
            yield from walk_types(branch, (*path, index), namespace, enter=enter)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type") if isinstance(node.get("type"), str) else None
    if kind in NAMED_KINDS:
        namespace = definition_namespace(node, namespace)[0]
    if kind in ("record", "error") and isinstance(node.get("fields"), list):
        for index, field in enumerate(node["fields"]):
            if isinstance(field, dict) and "type" in field:
                yield from walk_types(field["type"], (*path, "fields", index, "type"), namespace, enter=enter)
    elif kind == "array" and "items" in node:
        yield from walk_types(node["items"], (*path, "items"), namespace, enter=enter)
    elif kind == "map" and "values" in node:
        yield from walk_types(node["values"], (*path, "values"), namespace, enter=enter)
