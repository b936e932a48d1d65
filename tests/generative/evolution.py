"""Hypothesis strategies for schema evolutions: a reader schema drawn from a writer schema by the
changes teams make (and some they should not), so resolution is exercised over compatible and
incompatible pairs alike; ``pipeline.compat.check`` says which pairs are compatible.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

from tests.generative.schemas import _NONE, FIELD_POOL, PRIMITIVES, SchemaCase, _default_for

_PROMOTE = {"int": ["long", "float", "double"], "long": ["float", "double"], "float": ["double"],
            "string": ["bytes"], "bytes": ["string"]}  # fmt: skip
_LOGICAL_FLIPS = {"int": "date", "long": "timestamp-millis"}


def _records(node: Any, out: list[dict[str, Any]]) -> None:
    """Every record definition in a schema's JSON, outermost first."""
    if isinstance(node, list):
        for branch in node:
            _records(branch, out)
    elif isinstance(node, dict):
        kind = node.get("type")
        if kind in ("record", "error"):
            out.append(node)
            for entry in node.get("fields", []):
                _records(entry["type"], out)
        elif kind == "array":
            _records(node["items"], out)
        elif kind == "map":
            _records(node["values"], out)


def _enums(node: Any, out: list[dict[str, Any]]) -> None:
    if isinstance(node, list):
        for branch in node:
            _enums(branch, out)
    elif isinstance(node, dict):
        if node.get("type") == "enum":
            out.append(node)
        for key in ("items", "values"):
            if key in node:
                _enums(node[key], out)
        for entry in node.get("fields", []):
            _enums(entry["type"], out)


def _defined_only(root: Any, simple: str) -> bool:
    """Whether a named type's simple name appears only where it is defined (no reference to rename)."""
    text = json.dumps(root)
    return text.count(f'"{simple}"') == 1 and f'.{simple}"' not in text


@st.composite
def evolved(draw: st.DrawFn, case: SchemaCase) -> SchemaCase:
    """``case`` with one to three changes to its root file (the referenced files stay as they are)."""
    root = copy.deepcopy(case.root)
    for _ in range(draw(st.integers(1, 3))):
        records: list[dict[str, Any]] = []
        _records(root, records)
        enums: list[dict[str, Any]] = []
        _enums(root, enums)
        change = draw(st.sampled_from(
            ["add", "add", "remove", "reorder", "rename", "promote", "promote", "optional", "logical",
             "enum_add", "enum_remove", "record_rename", "decimal_scale"]
        ))  # fmt: skip
        record = draw(st.sampled_from(records))
        fields = record["fields"]
        if change == "add":
            names = [n for n in FIELD_POOL if n not in {f["name"] for f in fields}]
            if not names:
                continue
            kind = draw(st.sampled_from([*PRIMITIVES, {"type": "long", "logicalType": "timestamp-millis"}]))
            entry: dict[str, Any] = {"name": draw(st.sampled_from(names)), "type": kind}
            default = _default_for(kind, draw)  # sometimes none: an incompatible change
            if default is not _NONE:
                entry["default"] = default
            fields.insert(draw(st.integers(0, len(fields))), entry)
        elif change == "remove" and fields:
            fields.pop(draw(st.integers(0, len(fields) - 1)))
        elif change == "reorder" and len(fields) > 1:
            fields[:] = draw(st.permutations(fields))
        elif change == "rename" and fields:
            entry = draw(st.sampled_from(fields))
            names = [n for n in FIELD_POOL if n not in {f["name"] for f in fields}]
            if names:
                old = entry["name"]
                entry["name"] = draw(st.sampled_from(names))
                if draw(st.integers(0, 4)):  # usually with the old name as an alias
                    entry["aliases"] = [old]
        elif change == "promote" and fields:
            entry = draw(st.sampled_from(fields))
            kind = entry["type"] if not isinstance(entry["type"], dict) else entry["type"].get("type")
            if (
                isinstance(kind, str)
                and kind in _PROMOTE
                and not (isinstance(entry["type"], dict) and "logicalType" in entry["type"])
            ):
                entry["type"] = draw(st.sampled_from(_PROMOTE[kind]))
                entry.pop("default", None)
        elif change == "optional" and fields:
            entry = draw(st.sampled_from(fields))
            if not isinstance(entry["type"], list):
                entry["type"] = ["null", entry["type"]]
                entry["default"] = None
        elif change == "logical" and fields:
            entry = draw(st.sampled_from(fields))
            kind = entry["type"]
            if isinstance(kind, str) and kind in _LOGICAL_FLIPS:
                entry["type"] = {"type": kind, "logicalType": _LOGICAL_FLIPS[kind]}
                entry.pop("default", None)
            elif isinstance(kind, dict) and kind.get("type") in ("int", "long") and "logicalType" in kind:
                entry["type"] = kind["type"]  # the logical type dropped
        elif change == "enum_add" and enums:
            enum = draw(st.sampled_from(enums))
            extra = draw(st.sampled_from(["NEW", "OTHER", "Z"]))
            if extra not in enum["symbols"]:
                enum["symbols"].append(extra)
        elif change == "enum_remove" and enums:
            enum = draw(st.sampled_from(enums))
            if len(enum["symbols"]) > 1:
                removed = enum["symbols"].pop(draw(st.integers(0, len(enum["symbols"]) - 1)))
                if enum.get("default") == removed:
                    enum["default"] = enum["symbols"][0]
        elif change == "record_rename" and record is not root and _defined_only(root, record["name"]):
            old = record["name"] if "namespace" not in record else f"{record['namespace']}.{record['name']}"
            record["name"] = record["name"] + "Renamed"
            if draw(st.integers(0, 3)):
                record["aliases"] = [*record.get("aliases", []), old]
        elif change == "decimal_scale" and fields:
            for entry in fields:
                kind = entry["type"]
                if (
                    isinstance(kind, dict)
                    and kind.get("logicalType") == "decimal"
                    and kind["type"] == "bytes"
                    and kind.get("precision", 0) > 0
                ):
                    kind["precision"] = kind["precision"] + 2
                    kind["scale"] = min(kind["precision"], kind.get("scale", 0) + 2)
                    break
    return SchemaCase(root, case.references)
