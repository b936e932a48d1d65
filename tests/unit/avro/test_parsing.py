"""Parsing follows Avro Java's Schema.Parser, which Confluent uses: what is rejected, what is accepted,
how names, namespaces, aliases and references resolve. Rows marked "registry" were checked against the
embedded registry (Avro Java 1.12) while writing them."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.avro import parse_schema
from pipeline.avro.model import Enum, Primitive, Record, Union
from pipeline.compat import check
from pipeline.errors import SchemaLoadError


def _rec(*fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": "R", "fields": list(fields), **extra}


def _f(type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": "f", "type": type_, **extra}


INVALID = [
    ("{nope", "not valid JSON", "JSON text that does not parse"),
    (5, "expected a type name", "a number is not a schema"),
    (
        {"type": {"type": "int"}},
        '"type" naming a type',
        "nested type object is rejected by Java (registry 422)",
    ),
    ("lng", "unknown type 'lng'", "an unknown name"),
    (
        {
            "type": "record",
            "name": "R",
            "fields": [_f({"type": "record", "name": "S", "namespace": "a", "fields": [_f(["null", "R"])]})],
        },
        "unknown type 'R' (read as a.R)",
        "a bare name used before it is defined names the current namespace (Avro Java 1.12.2)",
    ),
    ({"type": "record", "name": "R"}, 'no "fields" array', "a record needs fields"),
    ({"type": "record", "fields": []}, 'has no "name"', "a named type needs a name"),
    (
        {"type": "record", "name": "1R", "fields": []},
        "not a valid Avro name",
        "names start with a letter or _",
    ),
    ({"type": "record", "name": "R", "namespace": "com.1x", "fields": []}, "namespace", "registry 422"),
    ({"type": "record", "name": "int", "fields": []}, "may not be called 'int'", "registry 422"),
    (_rec({"name": "f"}), 'has no "type"', "a field needs a type"),
    (_rec(_f("int"), _f("long")), "appears twice", "field names are unique (registry 422)"),
    (_rec(_f("int", order="up")), "order must be", "registry 422"),
    (
        _rec(
            _f({"type": "enum", "name": "E", "symbols": ["A"]}),
            _f("E") | {"name": "g"},
            {"name": "h", "type": {"type": "enum", "name": "E", "symbols": ["B"]}},
        ),
        "defined twice",
        "no redefinition",
    ),
    ({"type": "enum", "name": "E", "symbols": ["A", "A"]}, "lists a symbol twice", "symbols are unique"),
    ({"type": "enum", "name": "E", "symbols": ["1A"]}, "enum symbol '1A'", "registry 422"),
    (
        {"type": "enum", "name": "E", "symbols": ["A"], "default": "Z"},
        "is not one of its symbols",
        "enum default",
    ),
    ({"type": "fixed", "name": "F", "size": -1}, "non-negative int", "fixed size"),
    ({"type": "fixed", "name": "F", "size": "16"}, "non-negative int", "fixed size must be a number"),
    ({"type": "array"}, 'no "items"', "array items"),
    ({"type": "map"}, 'no "values"', "map values"),
    (["int", "int"], "lists int twice", "union branches are unique"),
    (["null", ["int"]], "may not contain a union", "no nested unions"),
    ({"type": "record", "name": "R", "aliases": ["1x"], "fields": []}, "alias '1x'", "registry 422"),
    ({"type": "record", "name": "R", "aliases": "Q", "fields": []}, "array of strings", "aliases is a list"),
    (_rec(_f("int", default="x")), "not a valid int", "registry 422"),
    (_rec(_f("int", default=1.0)), "not a valid int", "Jackson reads 1.0 as a double (registry 422)"),
    (_rec(_f("int", default=3_000_000_000)), "not a valid int", "out of int range (registry 422)"),
    (_rec(_f("bytes", default=1)), "not a valid bytes", "registry 422"),
    (_rec(_f("boolean", default=0)), "not a valid boolean", "0 is not false"),
    (_rec(_f(_rec(_f("int")) | {"name": "S"}, default={})), "not a valid record S", "registry 422"),
    (_rec(_f({"type": "array", "items": "int"}, default=["a"])), "not a valid array of int", "array items"),
]

VALID = [
    ("int", "a bare primitive name"),
    (
        _rec(_f(["null", "Later"]), {"name": "g", "type": {"type": "fixed", "name": "Later", "size": 1}}),
        "a name may be used before its definition (Avro Java 1.12.2 resolves it at the end)",
    ),
    (
        {"type": "record", "name": "R", "namespace": "a", "fields": [_f(["null", "R"])]},
        "a record refers to itself",
    ),
    ('"string"', "JSON text of a name"),
    ("null", "the null type, not JSON null"),
    ({"type": "error", "name": "E", "fields": []}, "an error is a record (registry 200)"),
    ({"type": "record", "name": "Größe", "fields": []}, "Java accepts Unicode letters (registry 200)"),
    (
        {"type": "record", "name": "int", "namespace": "a", "fields": []},
        "a.int is not a primitive (registry 200)",
    ),
    ([], "an empty union (registry 200)"),
    ({"type": "fixed", "name": "F", "size": 0}, "size 0 (registry 200)"),
    (_rec(_f("int", aliases=["1x"])), "field aliases are not validated (registry 200)"),
    (
        _rec(_f(["null", "string"], default="x")),
        "union default may match any branch (registry 200, Avro 1.12)",
    ),
    (_rec(_f("float", default=1)), "an integer is a valid float default (registry 200)"),
    (_rec(_f({"type": "enum", "name": "E", "symbols": ["A"]}, default="Z")), "enum field default: text only"),
    ({"type": "bytes", "logicalType": "decimal", "precision": 0}, "invalid logical types are ignored"),
    ({"type": "enum", "name": "E", "symbols": ["A"], "default": 5}, "a non-text enum default is ignored"),
    ({"type": "record", "name": "R", "namespace": 5, "fields": []}, "a non-text namespace is ignored"),
    (
        _rec(
            _f(
                {"type": "record", "name": "S", "fields": [{"name": "x", "type": "int", "default": 0}]},
                default={},
            )
        ),
        "a record default may leave out fields that have defaults",
    ),
]


@pytest.mark.parametrize(("schema", "error", "reason"), INVALID, ids=[row[2] for row in INVALID])
def test_invalid_schemas_are_rejected_with_a_clear_message(schema: Any, error: str, reason: str) -> None:
    with pytest.raises(SchemaLoadError, match=r"^orders\.avsc: ") as raised:
        parse_schema(schema, what="orders.avsc")
    assert error in str(raised.value), reason


@pytest.mark.parametrize(("schema", "reason"), VALID, ids=[row[1] for row in VALID])
def test_valid_schemas_parse(schema: Any, reason: str) -> None:
    parse_schema(schema)


def test_defaults_are_only_validated_for_new_schemas() -> None:
    stored = _rec(_f("int", default="x"))
    parse_schema(stored, validate_defaults=False)
    assert check(_rec(_f("int")), [stored]).compatible
    with pytest.raises(SchemaLoadError, match=r"^new schema: .*not a valid int"):
        check(stored, [_rec(_f("int"))])


def test_the_error_names_the_json_path() -> None:
    with pytest.raises(SchemaLoadError, match=r"at /fields/0/type/1/fields/0/type: unknown type 'lng'"):
        parse_schema(_rec(_f(["null", _rec({"name": "x", "type": "lng"}) | {"name": "S"}])))


def test_names_namespaces_and_aliases() -> None:
    schema = parse_schema(
        {
            "type": "record",
            "name": "Order",
            "namespace": "com.example",
            "aliases": ["Purchase", "other.Sale"],
            "fields": [
                _f({"type": "enum", "name": "Status", "symbols": ["A"]}),
                {"name": "g", "type": {"type": "fixed", "name": "x.y.Hash", "size": 4}},
                {"name": "h", "type": "Status"},
                {"name": "i", "type": {"type": "enum", "name": "Bare", "namespace": "", "symbols": ["B"]}},
            ],
        }
    )
    assert isinstance(schema, Record)
    assert schema.name.fullname == "com.example.Order"
    assert schema.aliases == {"com.example.Purchase", "other.Sale"}, "aliases take the type's namespace"
    status, hashed, again, bare = (field.type for field in schema.fields)
    assert isinstance(status, Enum) and status.name.fullname == "com.example.Status", "inherited namespace"
    assert hashed.name.fullname == "x.y.Hash", "a dotted name carries its own namespace"  # type: ignore[union-attr]
    assert again is status, "a reference is the same node"
    assert bare.name.fullname == "Bare", "an empty namespace is the null namespace"  # type: ignore[union-attr]


def test_a_bare_name_falls_back_to_the_null_namespace() -> None:
    schema = parse_schema(
        _rec(
            _f({"type": "fixed", "name": "Hash", "size": 4}),
            {"name": "inner", "type": _rec({"name": "h", "type": "Hash"}) | {"name": "In", "namespace": "n"}},
        )
    )
    assert isinstance(schema, Record)
    inner = schema.fields[1].type
    assert isinstance(inner, Record) and inner.fields[0].type is schema.fields[0].type


NAMED: dict[str, Any] = {
    "com.example.common.Money": {
        "type": "record",
        "name": "Money",
        "namespace": "com.example.common",
        "fields": [{"name": "units", "type": "long"}, {"name": "currency", "type": "Currency"}],
    },
    "com.example.common.Currency": '{"type": "enum", "name": "Currency", "namespace": "com.example.common", '
    '"symbols": ["EUR"]}',
}


def test_named_types_resolve_references_including_their_own() -> None:
    schema = parse_schema(
        _rec(_f("com.example.common.Money"), {"name": "g", "type": "com.example.common.Currency"}),
        named_types=NAMED,
    )
    assert isinstance(schema, Record)
    money, currency = schema.fields[0].type, schema.fields[1].type
    assert isinstance(money, Record) and money.fields[1].type is currency, "Currency is parsed once"


def test_a_schema_that_defines_a_type_uses_its_own_definition() -> None:
    own = {"type": "enum", "name": "Currency", "namespace": "com.example.common", "symbols": ["CHF"]}
    schema = parse_schema(
        _rec(_f(own), {"name": "g", "type": "com.example.common.Currency"}), named_types=NAMED
    )
    assert isinstance(schema, Record)
    currency = schema.fields[1].type
    assert isinstance(currency, Enum) and currency.symbols == ("CHF",)


@pytest.mark.parametrize(
    ("named", "error", "reason"),
    [
        (
            {"com.example.common.Money": {"type": "enum", "name": "Other", "symbols": ["A"]}},
            "does not define it",
            "the schema under a name must define that name",
        ),
        ({"com.example.common.Money": "com.example.common.Money"}, "refers to itself", "no endless lookup"),
        (
            {"com.example.common.Money": "{broken"},
            "named type com.example.common.Money: not valid JSON",
            "the message names the named type",
        ),
    ],
)
def test_bad_named_types(named: dict[str, Any], error: str, reason: str) -> None:
    with pytest.raises(SchemaLoadError, match=r"^new schema") as raised:
        check(_rec(_f("com.example.common.Money")), [_rec()], named_types=named)
    assert error in str(raised.value), reason


def test_inputs_are_json_values_or_json_text() -> None:
    assert isinstance(parse_schema('  {"type": "int", "logicalType": "date"}'), Primitive)
    assert isinstance(parse_schema(["null", "int"]), Union)
    assert isinstance(parse_schema('["null", "int"]'), Union)
    assert parse_schema("null").type == "null"
