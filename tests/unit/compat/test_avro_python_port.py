"""Why ``pipeline.compat`` does not use Apache Avro's Python port (``avro.compatibility``, avro 1.12.2).

Each row is a reader/writer pair where the port's answer differs from Avro Java's ``SchemaCompatibility``
(which Confluent Schema Registry runs). The Java verdicts were confirmed against the embedded registry,
whose checker is Avro Java's (see tests/integration/test_compat_registry.py for the cases). If a row's
first assertion starts failing, the port was fixed and this judgement should be revisited.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from pipeline.compat import Direction, Kind, Level, check


def _port(reader: Any, writer: Any) -> str:
    """The port's verdict, or the exception it raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed_reader, parsed_writer = (
            avro.schema.parse(json.dumps(reader)),
            avro.schema.parse(json.dumps(writer)),
        )
    try:
        result = ReaderWriterCompatibilityChecker().get_compatibility(parsed_reader, parsed_writer)
    except Exception as exc:
        return f"raises {type(exc).__name__}"
    return "compatible" if result.compatibility is SchemaCompatibilityType.compatible else "incompatible"


def _rec(name: str, *fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **extra}


ROWS = [
    pytest.param(
        _rec("Buyer", namespace="com.example.crm", aliases=["Customer"]),
        _rec("Customer", namespace="com.example.crm"),
        "incompatible",
        True,
        None,
        id="namespaced-alias",
        # Java qualifies the alias with the reader's namespace (com.example.crm.Customer) before comparing
        # it with the writer's full name; the port compares the bare alias "Customer" and reports a
        # NAME_MISMATCH: every rename inside a namespace fails.
    ),
    pytest.param(
        _rec("R", {"name": "a", "type": "int", "aliases": ["b"]}),
        _rec("R", {"name": "a", "type": "int"}, {"name": "b", "type": "int"}),
        "compatible",
        False,
        Kind.AMBIGUOUS_FIELD_ALIAS,
        id="field-matches-two-writer-fields",
        # Java's lookupWriterField throws when the name and an alias both match; Confluent reports that
        # as incompatible. The port silently takes the field with the same name.
    ),
    pytest.param(
        _rec("R", {"name": "a", "type": "int", "aliases": ["a"]}),
        _rec("R", {"name": "a", "type": "int"}),
        "compatible",
        False,
        Kind.AMBIGUOUS_FIELD_ALIAS,
        id="field-alias-equal-to-its-name",
        # The same Java exception: the field is found once by name and once by alias.
    ),
    pytest.param(
        {"type": "error", "name": "Failure", "fields": [{"name": "code", "type": "long"}]},
        _rec("Failure", {"name": "code", "type": "int"}),
        "raises AvroRuntimeException",
        True,
        None,
        id="error-type",
        # Java parses "error" as a RECORD; the port fails with "Unknown schema type: error".
    ),
]


@pytest.mark.parametrize(("reader", "writer", "port_says", "java_compatible", "kind"), ROWS)
def test_the_port_differs_from_avro_java(
    reader: Any, writer: Any, port_says: str, java_compatible: bool, kind: Kind | None
) -> None:
    assert _port(reader, writer) == port_says
    result = check(reader, [writer], "BACKWARD")
    assert result.compatible is java_compatible
    if kind is not None:
        assert [incompatibility.kind for incompatibility in result.incompatibilities] == [kind]


def test_the_port_agrees_on_the_peer_corpus() -> None:
    """Outside such pairs the port gives Java's answers: run under Confluent's level rules it matches
    every verdict of the peer corpus, as we do. The corpus has no pair from the rows above."""
    from tests.unit.compat.test_corpus import CASES

    for case in CASES:
        level = Level.parse(case["level"])
        pairs = [
            (case["new"], old) if direction is Direction.BACKWARD else (old, case["new"])
            for version in level.versions_to_check(len(case["previous"]))
            for old in [case["previous"][version - 1]]
            for direction in level.directions
        ]
        port_verdict = all(_port(reader, writer) == "compatible" for reader, writer in pairs)
        assert port_verdict is case["compatible"], case["id"]
