"""How deep a schema may nest is measured without recursion, and every step that reads schemas refuses
deeper ones with a sentence instead of a RecursionError."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.avro import MAX_JSON_DEPTH, MAX_NESTING, nesting_problem, parse_schema
from pipeline.errors import SchemaLoadError


def records(depth: int) -> Any:
    schema: Any = "int"
    for level in range(depth):
        schema = {"type": "record", "name": f"R{level}", "fields": [{"name": "f", "type": schema}]}
    return schema


def arrays(depth: int) -> Any:
    schema: Any = "int"
    for _ in range(depth):
        schema = {"type": "array", "items": schema}
    return schema


def unions(depth: int) -> Any:
    schema: Any = "int"
    for _ in range(depth):
        schema = ["null", {"type": "map", "values": schema}]
    return schema


@pytest.mark.parametrize("shape", [records, arrays])
def test_the_limit_is_exact(shape: Any) -> None:
    assert nesting_problem(shape(MAX_NESTING - 1)) is None
    assert "128" in (nesting_problem(shape(MAX_NESTING)) or "")
    parse_schema(shape(MAX_NESTING - 1))
    with pytest.raises(SchemaLoadError, match="nest more than 128"):
        parse_schema(shape(MAX_NESTING + 5))


def test_any_depth_is_measured_without_recursion() -> None:
    deep: Any = 1
    for _ in range(100_000):
        deep = [deep]
    assert "512" in (nesting_problem(deep) or "")
    assert nesting_problem(unions(10_000)) is not None
    with pytest.raises(SchemaLoadError, match="nests too deeply"):
        parse_schema("[" * 100_000)


@given(st.integers(1, 300), st.sampled_from([records, arrays, unions]))
def test_deep_schemas_are_parsed_or_refused_with_a_sentence(depth: int, shape: Any) -> None:
    text = json.dumps(shape(depth))
    try:
        parse_schema(text)
    except SchemaLoadError as exc:
        assert "levels deep" in str(exc)
        assert nesting_problem(json.loads(text)) is not None


def test_custom_properties_count_as_json_depth() -> None:
    prop: Any = 1
    for _ in range(MAX_JSON_DEPTH + 1):
        prop = {"x": prop}
    schema = {"type": "record", "name": "R", "fields": [], "p": prop}
    assert "512" in (nesting_problem(schema) or "")
