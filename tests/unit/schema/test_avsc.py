"""Strict JSON with line numbers, JSON paths, and the walk over Avro type positions."""

from __future__ import annotations

import json

import pytest

from pipeline.schema.avsc import JsonSyntaxError, json_path, parse_json, walk_types

TEXT = """{
  "a": [1,
        {"b": true}],
  "c": {
    "d": null
  }
}"""


def test_every_node_has_the_line_it_starts_on() -> None:
    parsed = parse_json(TEXT)
    assert parsed.value == json.loads(TEXT)
    assert parsed.lines[()] == 1
    assert parsed.lines[("a",)] == 2
    assert parsed.lines[("a", 1, "b")] == 3
    assert parsed.lines[("c", "d")] == 5
    assert parsed.line_of(("c", "d", "missing")) == 5


@pytest.mark.parametrize(
    ("reason", "text", "line", "fragment"),
    [
        ("a duplicate key is refused, not overwritten", '{\n"a": 1,\n"a": 2}', 3, "duplicate key 'a'"),
        ("a bare word", '{\n"a": nope}', 2, "unexpected character 'n'"),
        ("a trailing comma", "[1,\n]", 2, "unexpected character ']'"),
        ("NaN is not JSON", '{"a": NaN}', 1, "unexpected character 'N'"),
        ("an unterminated string", '{"a": "x\n}', 1, "Invalid control character"),
        ("something after the value", "{}\n{}", 2, "extra data"),
        ("nothing at all", "", 1, "unexpected end of file"),
    ],
)
def test_malformed_json_is_located(reason: str, text: str, line: int, fragment: str) -> None:
    with pytest.raises(JsonSyntaxError) as caught:
        parse_json(text)
    assert caught.value.line == line, reason
    assert fragment in caught.value.reason, reason


def test_numbers_keep_their_json_kind() -> None:
    assert parse_json("[1, -2, 1.5, 1e3, 0]").value == [1, -2, 1.5, 1000.0, 0]
    assert isinstance(parse_json("1e3").value, float)


@pytest.mark.parametrize(
    ("path", "expected"),
    [((), "$"), (("fields", 4, "type"), "$.fields[4].type"), (("types", "a.b"), '$.types["a.b"]')],
)
def test_json_path(path: tuple[str | int, ...], expected: str) -> None:
    assert json_path(path) == expected


def test_walk_types_tracks_the_namespace_in_force() -> None:
    schema = {
        "type": "record",
        "name": "R",
        "namespace": "a",
        "fields": [
            {
                "name": "x",
                "type": {"type": "record", "name": "b.Inner", "fields": [{"name": "y", "type": "Deep"}]},
            },
            {"name": "z", "type": {"type": "array", "items": ["null", "Other"]}},
        ],
    }
    sites = {site.path: site.namespace for site in walk_types(schema)}
    assert sites[("fields", 0, "type", "fields", 0, "type")] == "b"
    assert sites[("fields", 1, "type", "items", 1)] == "a"
    assert sites[()] == ""  # where the record itself appears; its namespace applies inside it
