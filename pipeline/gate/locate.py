"""Where an incompatibility's location is in a ``.avsc`` file: the line to annotate.

A location is a path through a reader schema (see :mod:`pipeline.compat`): the root's simple name,
then ``.field``, ``[]`` (array items) and ``{}`` (map values); union branches add nothing. It is
followed through the file's own JSON, into union branches and into named types the file defines. It
stops at a name defined in another file, or at a step the file does not have (e.g. a field only an
earlier version has); the line is then that of the deepest node reached. Pure.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.avro import NAMED_KINDS
from pipeline.schema.avsc import (
    JsonSyntaxError,
    NodePath,
    definition_namespace,
    parse_json,
    qualify,
    walk_types,
)

__all__ = ["line_of_location", "node_of_location"]

_ROOT_NAME = re.compile(r"[^.\[\]{}]*")
_STEP = re.compile(r"\.([^.\[\]{}]+)|\[\]|\{\}")

# A schema position while walking: its node path, its JSON, and the namespace in force inside it.
_Site = tuple[NodePath, Any, str]


def line_of_location(text: str, location: str) -> int | None:
    """The 1-based line in ``text`` (an ``.avsc`` file) of ``location``; None when ``text`` is not
    JSON."""
    try:
        parsed = parse_json(text)
    except JsonSyntaxError:
        return None
    return parsed.line_of(node_of_location(parsed.value, location))


def node_of_location(document: Any, location: str) -> NodePath:
    """The path of the deepest node of ``document`` (a schema file's JSON) that ``location`` reaches:
    a record field's ``name`` for a ``.field`` step, the items or values schema for ``[]`` and ``{}``.
    ``()`` (the root) when not even the first step is there."""
    return _Walker(document).walk(location)


class _Walker:
    def __init__(self, document: Any) -> None:
        self.document = document
        self.definitions: dict[str, tuple[NodePath, str]] = {}
        for site in walk_types(document):
            node = site.node
            if isinstance(node, dict) and node.get("type") in NAMED_KINDS:
                inner, full = definition_namespace(node, site.namespace)
                if full:
                    self.definitions.setdefault(full, (site.path, inner))

    def walk(self, location: str) -> NodePath:
        root = _ROOT_NAME.match(location)
        rest = location[root.end() if root else 0 :]
        site: _Site = ((), self.document, "")
        reached: NodePath = ()
        for match in _STEP.finditer(rest):
            found = self.step(site, match.group(1) if match.group(1) is not None else match.group(0))
            if found is None:
                break
            site, reached = found
        return reached

    def step(self, site: _Site, step: str) -> tuple[_Site, NodePath] | None:
        """Follow one step from ``site``: the next site, and the node path to report for it."""
        for path, schema, namespace in self.schemas(site):
            kind = schema.get("type")
            if step == "[]" and kind == "array" and "items" in schema:
                inner = (*path, "items")
                return (inner, schema["items"], namespace), inner
            if step == "{}" and kind == "map" and "values" in schema:
                inner = (*path, "values")
                return (inner, schema["values"], namespace), inner
            if kind in ("record", "error") and isinstance(schema.get("fields"), list):
                for index, field in enumerate(schema["fields"]):
                    if isinstance(field, dict) and field.get("name") == step and "type" in field:
                        field_path = (*path, "fields", index)
                        return ((*field_path, "type"), field["type"], namespace), (*field_path, "name")
        return None

    def schemas(self, site: _Site) -> list[_Site]:
        """The object schemas ``site`` may stand for: itself, its union branches, the definition a
        name refers to (if this file defines it), or what a ``{"type": ...}`` wrapper holds."""
        path, node, namespace = site
        if isinstance(node, list):
            return [s for i, branch in enumerate(node) for s in self.schemas(((*path, i), branch, namespace))]
        if isinstance(node, str):
            defined = self.definitions.get(qualify(node, namespace)) or self.definitions.get(node)
            if defined is None:
                return []
            where, inner = defined
            return [(where, self.at(where), inner)]
        if not isinstance(node, dict):
            return []
        kind = node.get("type")
        if kind in NAMED_KINDS:
            return [(path, node, definition_namespace(node, namespace)[0])]
        if kind in ("array", "map"):
            return [site]
        return self.schemas(((*path, "type"), kind, namespace))

    def at(self, path: NodePath) -> Any:
        node = self.document
        for part in path:
            node = node[part]
        return node
