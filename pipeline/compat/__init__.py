"""Avro schema compatibility with Confluent Schema Registry's semantics, as pure functions.

``check(new_schema, previous_schemas, level)`` answers what Confluent Schema Registry would answer for
registering ``new_schema`` after ``previous_schemas`` (oldest first) under one of its seven levels, and
explains every incompatibility::

    result = check(new, [v1, v2, v3], "BACKWARD_TRANSITIVE")
    result.compatible            # False
    result.incompatibilities[0]  # Incompatibility(kind=MISSING_ENUM_SYMBOLS, location="Order.status",
                                 #   version=3, direction=BACKWARD, message="Order.status: reader enum has
                                 #   no symbol REFUNDED that version 3 writes; add it or give the enum a
                                 #   default")

Levels. BACKWARD: the new schema, as reader, reads data written with the latest version. FORWARD: the
latest version, as reader, reads data written with the new schema. FULL: both. ``*_TRANSITIVE``: the same
against every previous version (latest first), not just the latest. NONE: nothing is checked.

Rules. Each reader/writer pair is judged by Avro Java's ``SchemaCompatibility`` algorithm, which is what
Confluent calls (see :mod:`pipeline.compat.resolution`). Where that differs from a literal reading of
the Avro specification, we follow Confluent:

* named types (records, enums, fixed) match on their *unqualified* names; namespaces are ignored, and a
  rename needs the writer's full name among the reader's aliases (aliases are qualified with the
  reader type's namespace). Writer aliases are never used.
* a field matches by its name or one of its *reader* aliases; a reader field that would match two
  writer fields makes Java throw, which Confluent reports as incompatible (kind AMBIGUOUS_FIELD_ALIAS).
* an enum default lets the reader accept unknown writer symbols; it does not stand in for a missing
  field's default.
* logical types are ignored (``long`` with ``timestamp-millis`` reads a plain ``long`` and vice versa);
  a decimal on ``fixed`` still obeys the fixed's name and size.
* the new schema's field defaults must be valid for their type (Confluent parses new schemas strictly);
  previous versions are parsed leniently, as stored schemas are.

Apache Avro's Python package ships a port, ``avro.compatibility``; we do not use it because it compares a
reader's aliases unqualified with the writer's full name (rejecting a namespaced rename Java accepts),
silently takes the first of several matching writer fields where Java refuses, and fails on ``error``
records. ``tests/unit/compat/test_avro_python_port.py`` pins each difference.

Locations. ``Incompatibility.location`` is a path through the *reader* schema of the failing pair: the
reader root's simple name (or its type keyword when the root is unnamed), then ``.field`` for each record
field, ``[]`` for array items and ``{}`` for map values; union branches add nothing (the message names
the branch). E.g. ``Order.lines[].sku``, ``Order.attributes{}``, ``Order.status``.

Errors. Invalid input raises :class:`pipeline.errors.SchemaLoadError` naming the schema ("new schema",
"version 2", or a file); an unknown level raises :class:`pipeline.errors.ConfigError`.
"""

from pipeline.compat.checker import check
from pipeline.compat.levels import Direction, Level
from pipeline.compat.result import CompatibilityResult, Incompatibility, Kind

__all__ = [
    "CompatibilityResult",
    "Direction",
    "Incompatibility",
    "Kind",
    "Level",
    "check",
]
