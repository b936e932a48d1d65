"""The gate's verdicts, as pure functions: a candidate and its earlier versions in, a verdict out.

Earlier versions come as stored text plus the named types they may use *as they were then* (the
files at that commit, or the registry's referenced versions); :func:`resolve` writes those types out
so that every version is judged with its own definitions, and the working tree's candidate with the
working tree's. :func:`judge` then applies Confluent Schema Registry's rules (see :mod:`pipeline.gate`)
through :func:`pipeline.compat.check`; :func:`reconcile` folds the registry's own answer in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.avro import NAMED_KINDS, Array, Map, Record, Schema, Union, describe, parse_schema
from pipeline.compat import Level, check
from pipeline.errors import SchemaLoadError
from pipeline.gate.locate import line_of_location
from pipeline.gate.model import Problem, RegistryView, Status, SubjectVerdict, Version
from pipeline.schema import NamedType, SubjectSpec, compose
from pipeline.schema.avsc import definition_namespace, walk_types

__all__ = ["Candidate", "PastVersion", "judge", "reconcile", "resolve", "schema_key"]


@dataclass(frozen=True)
class PastVersion:
    """An earlier version of a subject's schema: where it comes from (``commit 1a2b3c4d "..."``,
    ``registry version 3``), its text as committed or stored, and the text of every named type it may
    use, by full name, as they were then."""

    source: str
    text: str
    named_types: Mapping[str, str]


@dataclass(frozen=True)
class Candidate:
    """The schema the gate judges: a catalog subject's schema with every named type written out
    (``schema``), the level to judge it at, and its ``.avsc`` file's text (for line numbers)."""

    subject: str
    full_name: str
    file: str
    level: Level
    schema: Any
    file_text: str

    @classmethod
    def from_spec(cls, spec: SubjectSpec, file_text: str, schema: Any = None) -> Candidate:
        """The candidate for a catalog subject; ``schema`` defaults to the catalog's resolved one."""
        return cls(
            spec.subject,
            spec.full_name,
            str(spec.path),
            Level.parse(spec.compatibility.value),
            spec.resolved if schema is None else schema,
            file_text,
        )


def schema_key(schema: Any) -> str:
    """What makes two versions the same version: their JSON with keys sorted (formatting and key
    order do not make a new version; a doc does, as in Confluent)."""
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def resolve(text: str, named_types: Mapping[str, str], *, what: str) -> Any:
    """The schema in ``text`` with every type it names from ``named_types`` (full name -> schema
    text) written out at its first use, exactly as the catalog writes out the working tree's. Types
    whose text is not JSON are left out (the schema then fails to parse if it needs them). Raises
    SchemaLoadError naming ``what`` when ``text`` is not JSON."""
    root = _json(text)
    if root is None:
        raise SchemaLoadError(f"{what}: not valid JSON")
    root_name = "<root>"
    if isinstance(root, dict) and root.get("type") in NAMED_KINDS:
        root_name = definition_namespace(root, "")[1] or root_name
    types: dict[str, NamedType] = {}
    for name, type_text in named_types.items():
        schema = _json(type_text)
        if schema is not None and name != root_name:
            types[name] = _named(name, schema)
    types[root_name] = _named(root_name, root)
    resolved, _ = compose(types, root_name, keep=lambda _name: False)
    return resolved


@lru_cache(maxsize=4096)
def _parsed_text(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(text)
    except json.JSONDecodeError:
        return False, None


def _json(text: str) -> Any:
    ok, value = _parsed_text(text)
    return value if ok else None


def _named(name: str, schema: Any) -> NamedType:
    defines = []
    for site in walk_types(schema):
        node = site.node
        if isinstance(node, dict) and node.get("type") in NAMED_KINDS:
            full = definition_namespace(node, site.namespace)[1]
            if full:
                defines.append(full)
    return NamedType(name, Path(f"{name}.avsc"), schema, tuple(defines), ())


@dataclass(frozen=True)
class _Distinct:
    source: str
    schema: Any
    key: str


def judge(candidate: Candidate, history: Sequence[PastVersion], *, tip_is_candidate: bool) -> SubjectVerdict:
    """The verdict on ``candidate`` after ``history`` (oldest first).

    Each earlier version is resolved with its own named types and parsed leniently; one that cannot
    be is skipped with a note (no registry could have held it). Versions are distinct by
    :func:`schema_key`, numbered oldest first, each named by the first source that introduced it. With
    ``tip_is_candidate`` (git history), versions at the end of the history identical to the candidate
    are the candidate itself, already committed, and not earlier versions. Then: no earlier version ->
    NEW; the candidate equal to one -> UNCHANGED (Confluent returns the existing version without a
    check); otherwise :func:`pipeline.compat.check` at the candidate's level decides, and each
    incompatibility gets the line of the candidate's file it points at. A candidate that does not
    parse strictly is INVALID."""
    base = SubjectVerdict(candidate.subject, candidate.full_name, candidate.file, candidate.level, Status.NEW)
    try:
        parse_schema(candidate.schema, validate_defaults=True, what=candidate.file)
    except SchemaLoadError as exc:
        return replace(base, status=Status.INVALID, notes=(str(exc),))
    notes: list[str] = []
    runs: list[_Distinct] = []
    for past in history:
        try:
            schema = resolve(past.text, past.named_types, what=past.source)
            parse_schema(schema, validate_defaults=False, what=past.source)
        except SchemaLoadError as exc:
            notes.append(f"skipped {past.source}: {exc} (no registry could hold it)")
            continue
        key = schema_key(schema)
        if not runs or runs[-1].key != key:
            runs.append(_Distinct(past.source, schema, key))
    wanted = schema_key(candidate.schema)
    if tip_is_candidate and runs and runs[-1].key == wanted:
        runs.pop()
    distinct: list[_Distinct] = []
    for run in runs:
        if all(run.key != seen.key for seen in distinct):
            distinct.append(run)
    versions = tuple(Version(number, item.source) for number, item in enumerate(distinct, start=1))
    base = replace(base, versions=versions, notes=tuple(notes))
    if not distinct:
        return base
    same = next((v for v, item in zip(versions, distinct, strict=True) if item.key == wanted), None)
    if same is not None:
        return replace(base, status=Status.UNCHANGED, same_as=same.number)
    try:
        result = check(candidate.schema, [item.schema for item in distinct], candidate.level)
    except SchemaLoadError as exc:
        return replace(base, status=Status.INVALID, notes=(*base.notes, str(exc)))
    problems = tuple(
        Problem(incompatibility, line_of_location(candidate.file_text, incompatibility.location))
        for incompatibility in result.incompatibilities
    )
    status = Status.COMPATIBLE if result.compatible else Status.INCOMPATIBLE
    meaning = _meaning_changes(
        parse_schema(distinct[-1].schema, validate_defaults=False), parse_schema(candidate.schema)
    )
    notes = [*base.notes, *(f"{change} (than version {len(distinct)})" for change in meaning)]
    return replace(
        base, status=status, checked=result.checked_versions, problems=problems, notes=tuple(notes)
    )


def _meaning_changes(old: Schema, new: Schema) -> list[str]:
    """Changes that registries accept, because they ignore logical types, but that change what the same
    bytes mean: a decimal's scale (the same digits, 10^n times larger or smaller)."""
    found: list[str] = []

    def walk(a: Schema, b: Schema, path: str, seen: set[tuple[int, int]]) -> None:
        if (id(a), id(b)) in seen:
            return
        seen.add((id(a), id(b)))
        la, lb = getattr(a, "logical", None), getattr(b, "logical", None)
        if la is not None and lb is not None and la.name == lb.name == "decimal" and la.scale != lb.scale:
            factor = 10 ** abs(la.scale - lb.scale)
            direction = "smaller" if lb.scale > la.scale else "larger"
            found.append(
                f"{path}: decimal scale {la.scale} -> {lb.scale}: registries allow it, but the same bytes "
                f"now read {factor:,}x {direction}"
            )
        if isinstance(a, Record) and isinstance(b, Record):
            fields = {f.name: f for f in a.fields}
            for field in b.fields:
                if field.name in fields:
                    walk(fields[field.name].type, field.type, f"{path}.{field.name}", seen)
        elif isinstance(a, Array) and isinstance(b, Array):
            walk(a.items, b.items, f"{path}[]", seen)
        elif isinstance(a, Map) and isinstance(b, Map):
            walk(a.values, b.values, f"{path}{{}}", seen)
        elif isinstance(a, Union) or isinstance(b, Union):
            olds = a.branches if isinstance(a, Union) else (a,)
            news = b.branches if isinstance(b, Union) else (b,)
            for x in olds:
                for y in news:
                    if type(x) is type(y) and getattr(x, "name", None) == getattr(y, "name", None):
                        walk(x, y, path, seen)

    walk(old, new, new.name.name if isinstance(new, Record) else describe(new), set())
    return found


def reconcile(
    verdict: SubjectVerdict,
    at_registry_level: SubjectVerdict,
    registry_level: Level,
    compatible: bool | None,
    messages: Sequence[str] = (),
    *,
    transitively_incompatible: bool = False,
) -> SubjectVerdict:
    """Fold the registry's answer into the checker's ``verdict`` (at the catalog's level).

    ``at_registry_level`` is the checker's verdict at the level the registry applies (the same as
    ``verdict`` when the levels agree); ``compatible`` is the registry's answer, None when it could not
    judge (``messages`` then say why). A registry answer that differs from the checker's at the
    same level is a DISAGREEMENT; ``transitively_incompatible`` (the checker fails the transitive form
    of a non-transitive level) explains Apicurio's known deviation. When the registry could not
    judge, an incompatible verdict stays INCOMPATIBLE and any other becomes UNJUDGED."""
    notes = list(verdict.notes)
    if registry_level is not verdict.level:
        notes.append(
            f"the registry applies {registry_level.value} to {verdict.subject}, the catalog says "
            f"{verdict.level.value}: the verdict is at the catalog's level (registration sets it first); "
            f"the registry's answer is compared with the checker's at {registry_level.value}"
        )
    local = at_registry_level.status is Status.COMPATIBLE
    status = verdict.status
    if compatible is None:
        reason = "; ".join(messages) or "no reason given"
        notes.append(f"the registry could not judge the candidate: {reason}")
        if status is not Status.INCOMPATIBLE:
            status = Status.UNJUDGED
    elif compatible != local:
        said = "compatible" if compatible else "incompatible"
        notes.append(
            f"the registry's compatibility endpoint says {said} at {registry_level.value}, the local "
            f"checker says {at_registry_level.status.value}"
            + "".join(f"; registry: {message}" for message in messages)
        )
        if transitively_incompatible and not compatible:
            notes.append(
                f"the registry answered as {registry_level.value}_TRANSITIVE would: Apicurio Registry's "
                "POST /compatibility/subjects/{subject}/versions checks every version even at "
                "non-transitive levels (Confluent's, and registration, check the latest only)"
            )
        status = Status.DISAGREEMENT
    view = RegistryView(registry_level, compatible, tuple(messages))
    return replace(verdict, status=status, notes=tuple(notes), registry=view)
