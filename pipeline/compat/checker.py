"""``check()``: a new schema against the previous versions of a subject, at a Confluent level."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pipeline.avro.parsing import SchemaInput, parse_schema
from pipeline.compat.explain import explain
from pipeline.compat.levels import Direction, Level
from pipeline.compat.resolution import check_pair
from pipeline.compat.result import CompatibilityResult, Incompatibility
from pipeline.errors import SchemaLoadError

__all__ = ["check"]


def check(
    new_schema: SchemaInput,
    previous_schemas: Sequence[SchemaInput],
    level: Level | str = Level.BACKWARD,
    *,
    named_types: Mapping[str, SchemaInput] | None = None,
) -> CompatibilityResult:
    """Decide whether ``new_schema`` may follow ``previous_schemas`` (oldest first; the last is the
    latest version) under ``level``, as Confluent Schema Registry would, and say why not.

    Schemas are parsed JSON (object, union list, type name) or JSON text. ``named_types`` maps the full
    names of types defined in other files to their schemas, for references the schemas do not define
    themselves. The new schema is parsed strictly (field defaults must be valid), previous versions
    leniently, as Confluent parses new and stored schemas. Every schema is parsed, even those the level
    does not compare against, so bad input never passes unnoticed.

    Raises :class:`~pipeline.errors.SchemaLoadError` naming "new schema" or "version N" when a schema is
    not valid JSON or not a valid Avro schema (or is nested more than ~150 records deep, beyond what the
    recursive walk handles), and :class:`~pipeline.errors.ConfigError` for an unknown level name.
    Exists so every part of the pipeline (CLI, catalog, registration) shares one verdict with the same
    explanations, without asking the registry.
    """
    if isinstance(previous_schemas, str | Mapping):
        raise TypeError("previous_schemas must be a sequence of schemas, oldest first")
    level = Level.parse(level)
    new = parse_schema(new_schema, named_types=named_types, validate_defaults=True, what="new schema")
    previous = [
        parse_schema(schema, named_types=named_types, validate_defaults=False, what=f"version {number}")
        for number, schema in enumerate(previous_schemas, start=1)
    ]
    versions = level.versions_to_check(len(previous))
    incompatibilities: list[Incompatibility] = []
    for version in versions:
        old = previous[version - 1]
        for direction in level.directions:
            reader, writer = (new, old) if direction is Direction.BACKWARD else (old, new)
            try:
                problems = check_pair(reader, writer)
            except RecursionError as exc:
                raise SchemaLoadError(
                    f"new schema and version {version}: nested too deeply to check"
                ) from exc
            incompatibilities.extend(explain(problem, reader, version, direction) for problem in problems)
    return CompatibilityResult(
        level=level,
        compatible=not incompatibilities,
        incompatibilities=tuple(incompatibilities),
        checked_versions=tuple(versions),
    )
