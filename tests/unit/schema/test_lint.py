"""Validation of .avsc files: every error names its file, line and JSON path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.schema.lint import Diagnostic, LintOptions, validate_files

NO_LINT = LintOptions(docs=False, field_names="off")
FILE = "schemas/t.R.avsc"


def record(*fields: Any, name: str = "R", namespace: str = "t", **extra: Any) -> str:
    """A record file with field i on line 4 + i."""
    head = {"type": "record", "name": name, "namespace": namespace, **extra}
    lines = ["{", "  " + json.dumps(head)[1:-1] + ",", '  "fields": [']
    lines += [f"    {json.dumps(f)}{',' if i < len(fields) - 1 else ''}" for i, f in enumerate(fields)]
    return "\n".join([*lines, "  ]", "}"])


def field(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


MONEY = record(field("units", "long"), name="Money", namespace="t.common")
ENUM_E = {"type": "enum", "name": "E", "symbols": ["A", "B"]}

# (reason, files besides FILE, FILE's text, expected (file, line, path, fragment of the message))
ERRORS: list[tuple[str, dict[str, str], str, tuple[str, int | None, str, str]]] = [
    (
        "a union's default must fit its FIRST branch, not any branch",
        {},
        record(field("a", ["null", "string"], default="x")),
        (FILE, 4, "$.fields[0].default", "must fit its first branch"),
    ),
    (
        "a default of the wrong JSON type",
        {},
        record(field("a", "int", default="1")),
        (FILE, 4, "$.fields[0].default", "does not fit type 'int'"),
    ),
    (
        "an int default outside 32 bits",
        {},
        record(field("a", "int", default=2**31)),
        (FILE, 4, "$.fields[0].default", "does not fit type 'int'"),
    ),
    (
        "bytes defaults are strings of byte values (code points < 256)",
        {},
        record(field("a", "bytes", default="€")),
        (FILE, 4, "$.fields[0].default", "does not fit type 'bytes'"),
    ),
    (
        "a record default must give every field without a default",
        {},
        record(field("p", {"type": "record", "name": "P", "fields": [field("x", "int")]}, default={})),
        (FILE, 4, "$.fields[0].default", "field 'x' of record 'P' has no value and no default"),
    ),
    (
        "a field default naming a symbol the enum lacks",
        {},
        record(field("e", ENUM_E, default="C")),
        (FILE, 4, "$.fields[0].default", "\"C\" is not a symbol of enum 'E'"),
    ),
    (
        "a default checked through a type defined in another file",
        {"schemas/t.common.Money.avsc": MONEY},
        record(field("m", "t.common.Money", default={"units": "1"})),
        (FILE, 4, "$.fields[0].default", "at .units"),
    ),
    (
        "an enum symbol must be an Avro name",
        {},
        record(field("e", {"type": "enum", "name": "E", "symbols": ["A", "1B"]})),
        (FILE, 4, "$.fields[0].type.symbols[1]", "not a legal Avro name"),
    ),
    (
        "enum symbols are unique",
        {},
        record(field("e", {"type": "enum", "name": "E", "symbols": ["A", "A"]})),
        (FILE, 4, "$.fields[0].type.symbols[1]", "appears twice"),
    ),
    (
        "an enum's own default is one of its symbols",
        {},
        record(field("e", {"type": "enum", "name": "E", "symbols": ["A"], "default": "Z"})),
        (FILE, 4, "$.fields[0].type.default", "is not a symbol"),
    ),
    (
        "a nested type's name must be an Avro name",
        {},
        record(field("n", {"type": "record", "name": "my-rec", "fields": []})),
        (FILE, 4, "$.fields[0].type.name", "not a legal Avro name"),
    ),
    (
        "a namespace is dot-separated Avro names",
        {},
        record(field("n", {"type": "fixed", "name": "F", "namespace": "a..b", "size": 2})),
        (FILE, 4, "$.fields[0].type.namespace", "is not legal"),
    ),
    (
        "a type may not take a primitive's name",
        {},
        record(field("n", {"type": "fixed", "name": "string", "size": 2})),
        (FILE, 4, "$.fields[0].type.name", "primitive type's name"),
    ),
    (
        "field names must be Avro names",
        {},
        record(field("a-b", "int")),
        (FILE, 4, "$.fields[0].name", "not a legal Avro name"),
    ),
    (
        "field names are unique in a record",
        {},
        record(field("a", "int"), field("a", "long")),
        (FILE, 5, "$.fields[1].name", "appears twice"),
    ),
    (
        "a named type nobody defines",
        {},
        record(field("m", "t.Nope")),
        (FILE, 4, "$.fields[0].type", "unknown type 't.Nope'"),
    ),
    (
        "a short name resolves in the enclosing namespace only, with a hint",
        {"schemas/t.common.Money.avsc": MONEY},
        record(field("m", "Money")),
        (FILE, 4, "$.fields[0].type", "did you mean 't.common.Money'"),
    ),
    (
        "Avro needs a named type defined before it is used",
        {},
        record(field("a", "t.E"), field("b", ENUM_E)),
        (FILE, 4, "$.fields[0].type", "used before its definition"),
    ),
    (
        "only a file's top-level type can be shared",
        {"schemas/t.O.avsc": record(field("e", ENUM_E), name="O")},
        record(field("e", "t.E")),
        (FILE, 4, "$.fields[0].type", "defined inside schemas/t.O.avsc"),
    ),
    (
        "decimal scale may not exceed precision",
        {},
        record(field("d", {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 6})),
        (FILE, 4, "$.fields[0].type.scale", "from 0 to the precision 4"),
    ),
    (
        "decimal needs a precision",
        {},
        record(field("d", {"type": "bytes", "logicalType": "decimal"})),
        (FILE, 4, "$.fields[0].type", "decimal precision must be a whole number"),
    ),
    (
        "a decimal's precision must fit its fixed size",
        {},
        record(
            field("d", {"type": "fixed", "name": "D", "size": 2, "logicalType": "decimal", "precision": 5})
        ),
        (FILE, 4, "$.fields[0].type.precision", "does not fit in fixed(2); at most 4"),
    ),
    (
        "timestamps annotate long",
        {},
        record(field("t", {"type": "int", "logicalType": "timestamp-millis"})),
        (FILE, 4, "$.fields[0].type.logicalType", "annotates long, not 'int'"),
    ),
    (
        "date annotates int",
        {},
        record(field("d", {"type": "long", "logicalType": "date"})),
        (FILE, 4, "$.fields[0].type.logicalType", "annotates int, not 'long'"),
    ),
    (
        "uuid annotates string (or fixed 16)",
        {},
        record(field("u", {"type": "int", "logicalType": "uuid"})),
        (FILE, 4, "$.fields[0].type.logicalType", "annotates fixed or string"),
    ),
    (
        "a uuid fixed has 16 bytes",
        {},
        record(field("u", {"type": "fixed", "name": "U", "size": 8, "logicalType": "uuid"})),
        (FILE, 4, "$.fields[0].type.size", "size 16"),
    ),
    (
        "a duration is fixed(12)",
        {},
        record(field("d", {"type": "fixed", "name": "D", "size": 8, "logicalType": "duration"})),
        (FILE, 4, "$.fields[0].type.size", "size 12"),
    ),
    (
        "a misspelt logical type would silently be ignored by readers",
        {},
        record(field("t", {"type": "long", "logicalType": "timestamp-milis"})),
        (FILE, 4, "$.fields[0].type.logicalType", "unknown logicalType 'timestamp-milis'"),
    ),
    (
        "logicalType on the field, not its type, is ignored by Avro",
        {},
        record(field("t", "long", logicalType="timestamp-millis")),
        (FILE, 4, "$.fields[0].logicalType", "move it into the type"),
    ),
    (
        "unions may not nest",
        {},
        record(field("u", ["null", ["int", "long"]])),
        (FILE, 4, "$.fields[0].type[1]", "may not directly contain a union"),
    ),
    (
        "a union may not hold one type twice",
        {},
        record(field("u", ["null", "string", "string"])),
        (FILE, 4, "$.fields[0].type[2]", "two branches of type 'string'"),
    ),
    (
        "a named type is referred to by a string, not {'type': name}",
        {"schemas/t.common.Money.avsc": MONEY},
        record(field("m", {"type": "t.common.Money"})),
        (FILE, 4, "$.fields[0].type.type", "writing its name as a string"),
    ),
    (
        "fixed size is a whole number",
        {},
        record(field("f", {"type": "fixed", "name": "F", "size": -1})),
        (FILE, 4, "$.fields[0].type.size", "whole number"),
    ),
    (
        "arrays need items",
        {},
        record(field("a", {"type": "array"})),
        (FILE, 4, "$.fields[0].type", "array needs 'items'"),
    ),
    ("every field has a type", {}, record({"name": "a"}), (FILE, 4, "$.fields[0]", "has no 'type'")),
    (
        "the file name is the type's full name",
        {},
        record(field("a", "int"), name="Other"),
        (FILE, 2, "$.name", "file is named 't.R'"),
    ),
    (
        "one named type per file, not an array",
        {},
        '[\n  "int"\n]',
        (FILE, 1, "$", "the top level must be one named type"),
    ),
    (
        "malformed JSON is located by line and column",
        {},
        '{\n  "type": "record",\n  "name": R\n}',
        (FILE, 3, "$", "not valid JSON"),
    ),
    (
        "strict JSON: a duplicate key is an error, not last-one-wins",
        {},
        '{\n  "type": "record",\n  "type": "enum"\n}',
        (FILE, 3, "$", "duplicate key 'type'"),
    ),
    (
        "full names are unique across files",
        {"schemas/t.A.avsc": record(field("e", ENUM_E), name="A")},
        record(field("e", ENUM_E)),
        (FILE, 4, "$.fields[0].type.name", "already defined in schemas/t.A.avsc"),
    ),
    (
        "files may not name each other in a cycle (registry references cannot)",
        {"schemas/t.S.avsc": record(field("r", "t.R"), name="S")},
        record(field("s", "t.S")),
        ("schemas/t.S.avsc", 4, "$.fields[0].type", "t.R -> t.S -> t.R"),
    ),
]


@pytest.mark.parametrize(("reason", "others", "text", "expected"), ERRORS, ids=[row[0] for row in ERRORS])
def test_each_error_names_file_line_and_path(
    reason: str, others: dict[str, str], text: str, expected: tuple[str, int | None, str, str]
) -> None:
    result = validate_files({FILE: text, **others}, NO_LINT)
    file, line, path, fragment = expected
    matching = [d for d in result.diagnostics if fragment in d.message]
    assert matching, (
        f"{reason}: no diagnostic contains {fragment!r}; got {[str(d) for d in result.diagnostics]}"
    )
    found = matching[0]
    assert (found.file, found.line, found.path) == (file, line, path), reason
    assert str(found).startswith(f"{file}:{line}: {path}: ") if line else str(found).startswith(f"{file}: ")
    assert not result.ok


VALID: list[tuple[str, dict[str, str]]] = [
    (
        "the shipped Order schema",
        {
            "schemas/com.example.orders.Order.avsc": Path("schemas/com.example.orders.Order.avsc").read_text(
                encoding="utf-8"
            )
        },
    ),
    ("null first with a null default", {FILE: record(field("a", ["null", "string"], default=None))}),
    (
        "a union default fitting the first, non-null branch",
        {FILE: record(field("a", ["string", "null"], default="x"))},
    ),
    ("ints may default a double", {FILE: record(field("a", "double", default=1))}),
    (
        "a decimal on a fixed that holds its precision",
        {
            FILE: record(
                field(
                    "d", {"type": "fixed", "name": "D", "size": 8, "logicalType": "decimal", "precision": 18}
                )
            )
        },
    ),
    ("a self-recursive record", {FILE: record(field("next", ["null", "t.R"], default=None))}),
    (
        "a type from another file, used twice",
        {
            FILE: record(field("a", "t.common.Money"), field("b", ["null", "t.common.Money"], default=None)),
            "schemas/t.common.Money.avsc": MONEY,
        },
    ),
    (
        "a complete record default",
        {
            FILE: record(
                field(
                    "p",
                    {
                        "type": "record",
                        "name": "P",
                        "fields": [field("x", "int"), field("y", "int", default=0)],
                    },
                    default={"x": 1},
                )
            )
        },
    ),
    (
        "a nested type used by its short name in the same namespace",
        {FILE: record(field("a", ENUM_E), field("b", "E", default="A"))},
    ),
    (
        "local timestamps and time-micros",
        {
            FILE: record(
                field("a", {"type": "long", "logicalType": "local-timestamp-micros"}),
                field("b", {"type": "long", "logicalType": "time-micros"}),
            )
        },
    ),
]


@pytest.mark.parametrize(("reason", "files"), VALID, ids=[row[0] for row in VALID])
def test_valid_files_have_no_diagnostics(reason: str, files: dict[str, str]) -> None:
    result = validate_files(files, NO_LINT)
    assert result.diagnostics == (), reason
    assert set(result.documents) == {Path(name).name.removesuffix(".avsc") for name in files}


LINT: list[tuple[str, LintOptions, str, tuple[int, str, str] | None]] = [
    (
        "records need a doc",
        LintOptions(docs=True, field_names="off"),
        record(field("a", "int", doc="A.")),
        (1, "$", "record 'R' has no doc"),
    ),
    (
        "fields need a doc",
        LintOptions(docs=True, field_names="off"),
        record(field("a", "int"), doc="R."),
        (4, "$.fields[0]", "field 'a' has no doc"),
    ),
    (
        "a blank doc is no doc",
        LintOptions(docs=True, field_names="off"),
        record(field("a", "int", doc="  "), doc="R."),
        (4, "$.fields[0]", "field 'a' has no doc"),
    ),
    (
        "snake_case rejects camelCase",
        LintOptions(docs=False, field_names="snake_case"),
        record(field("orderId", "int")),
        (4, "$.fields[0].name", "field name 'orderId' is not snake_case"),
    ),
    (
        "camelCase rejects snake_case",
        LintOptions(docs=False, field_names="camelCase"),
        record(field("order_id", "int")),
        (4, "$.fields[0].name", "field name 'order_id' is not camelCase"),
    ),
    (
        "switched off, neither applies",
        LintOptions(docs=False, field_names="off"),
        record(field("Order_ID", "int")),
        None,
    ),
    (
        "documented snake_case passes",
        LintOptions(),
        record(field("order_id", "int", doc="Id."), doc="R."),
        None,
    ),
]


@pytest.mark.parametrize(("reason", "options", "text", "expected"), LINT, ids=[row[0] for row in LINT])
def test_lint_findings_are_marked_and_switchable(
    reason: str, options: LintOptions, text: str, expected: tuple[int, str, str] | None
) -> None:
    result = validate_files({FILE: text}, options)
    if expected is None:
        assert result.diagnostics == (), reason
        return
    line, path, message = expected
    assert [(d.line, d.path, d.message, d.lint) for d in result.diagnostics] == [(line, path, message, True)]
    assert str(result.diagnostics[0]).endswith("[lint]")


def test_document_records_what_it_defines_and_uses() -> None:
    text = record(field("e", ENUM_E), field("m", "t.common.Money"), field("n", ["null", "t.common.Money"]))
    result = validate_files({FILE: text, "schemas/t.common.Money.avsc": MONEY}, NO_LINT)
    doc = result.documents["t.R"]
    assert doc.defines == ("t.R", "t.E")
    assert doc.uses == ("t.common.Money",)
    assert doc.file == FILE


def test_diagnostics_are_sorted_by_file_then_line() -> None:
    text = record(field("a", "t.X"), field("b", "t.Y"))
    result = validate_files({"schemas/t.Z.avsc": "{", FILE: text}, NO_LINT)
    assert [(d.file, d.line) for d in result.diagnostics] == [(FILE, 4), (FILE, 5), ("schemas/t.Z.avsc", 1)]


def test_diagnostic_without_line_names_file_and_path() -> None:
    assert str(Diagnostic("f.avsc", None, "$", "boom")) == "f.avsc: $: boom"
