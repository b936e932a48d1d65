"""The catalog's values: levels, strategies, named types, subjects, topics and the catalog itself."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

import fastavro

from pipeline.avro import NAMED_KINDS, PRIMITIVE_TYPES
from pipeline.compat.levels import Level
from pipeline.schema.avsc import definition_namespace, resolve_name
from pipeline.schema.lint import LintOptions

__all__ = [
    "PLAIN_KEY_TYPES",
    "Catalog",
    "NamedType",
    "PipelineSpec",
    "ReferenceMode",
    "SchemaReference",
    "SubjectNameStrategy",
    "SubjectSpec",
    "TopicSpec",
    "canonical_json",
    "compose",
    "subject_name",
]

#: Keys that are not Avro: encoded as Kafka's standard serializers of the same name do (string: UTF-8;
#: bytes: as is; int, long, float, double: big-endian). They have no subject.
PLAIN_KEY_TYPES = ("string", "bytes", "int", "long", "float", "double")


class SubjectNameStrategy(StrEnum):
    """How a topic's key and value subjects are named (Confluent's three strategies)."""

    TOPIC = "TopicNameStrategy"
    RECORD = "RecordNameStrategy"
    TOPIC_RECORD = "TopicRecordNameStrategy"


class ReferenceMode(StrEnum):
    """How a schema that uses another file's type is registered.

    ``subjects``: the used type is registered as its own subject (named by its full name) and the
    schema refers to it with a Schema Registry *reference*. ``inline``: every subject gets the schema
    with all named types written out, for registries that cannot do references."""

    SUBJECTS = "subjects"
    INLINE = "inline"


def subject_name(strategy: SubjectNameStrategy, topic: str, role: str, full_name: str) -> str:
    """The subject of a topic's key or value (``role``) whose top-level type is ``full_name``."""
    if strategy is SubjectNameStrategy.TOPIC:
        return f"{topic}-{role}"
    if strategy is SubjectNameStrategy.RECORD:
        return full_name
    return f"{topic}-{full_name}"


def canonical_json(value: Any) -> str:
    """THE text the catalog registers: compact JSON of the schema, keys in file order, non-ASCII kept.
    Reformatting a file does not change it, so it does not make a new version."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class NamedType:
    """One ``<full name>.avsc`` file: its schema (read-only JSON), the named types it defines (its own
    first) and the other files' types it uses directly."""

    full_name: str
    path: Path
    schema: Any = field(compare=False, repr=False)
    defines: tuple[str, ...]
    references: tuple[str, ...]


@dataclass(frozen=True)
class SchemaReference:
    """A Schema Registry reference: the type's full name as the schema text uses it, and the subject
    that holds it. The version is the registry's business, resolved when registering."""

    name: str
    subject: str


@dataclass(frozen=True)
class SubjectSpec:
    """Everything registered under one subject.

    ``text`` and ``references`` are exactly what is registered (and what a serializer must present to
    look its schema up). ``resolved`` is the same schema with every named type written out, as JSON;
    ``parsed`` is that, parsed by fastavro. ``uses`` are all other files' types this schema needs,
    dependencies first."""

    subject: str
    full_name: str
    path: Path
    compatibility: Level
    text: str
    references: tuple[SchemaReference, ...]
    uses: tuple[NamedType, ...]
    resolved: Any = field(compare=False, repr=False)

    @property
    def resolved_text(self) -> str:
        """The fully inlined schema as canonical text."""
        return canonical_json(self.resolved)

    @cached_property
    def parsed(self) -> Any:
        """fastavro's parsed form of :attr:`resolved`, for writers and readers."""
        return fastavro.parse_schema(json.loads(self.resolved_text))


@dataclass(frozen=True)
class PipelineSpec:
    """A declared transform (``[pipelines.<name>]``): read ``input``, call ``handler`` on each typed
    record, write what it returns to ``output`` (None: the handler only has side effects), in the
    consumer group ``group``; with ``exactly_once`` in one Kafka transaction per batch."""

    name: str
    input: str
    output: str | None
    handler: str
    group: str
    exactly_once: bool = True
    batch: int = 500


@dataclass(frozen=True)
class TopicSpec:
    """One catalog topic and its dead-letter topic. ``key`` is None for a plain key (``key_type`` is
    then one of :data:`PLAIN_KEY_TYPES`); otherwise ``key_type`` is the key's full name.
    ``replication_factor`` -1 means the broker's default."""

    name: str
    partitions: int
    replication_factor: int
    dlq: str
    strategy: SubjectNameStrategy
    key_type: str
    key: SubjectSpec | None
    value: SubjectSpec
    more_values: tuple[SubjectSpec, ...] = ()  # the other value types of a topic with several

    @property
    def values(self) -> tuple[SubjectSpec, ...]:
        """Every value type's subject: one, or several event types on one topic."""
        return (self.value, *self.more_values)


@dataclass(frozen=True)
class Catalog:
    """The loaded, valid catalog.

    ``types``: every named type by full name, dependencies first. ``subjects``: every subject to
    register, in registration order (shared types before the schemas that refer to them).
    ``topics``: in catalog order."""

    root: Path
    references: ReferenceMode
    lint: LintOptions
    types: Mapping[str, NamedType]
    subjects: tuple[SubjectSpec, ...]
    topics: tuple[TopicSpec, ...]
    pipelines: tuple[PipelineSpec, ...] = ()

    def pipeline(self, name: str) -> PipelineSpec:
        """The declared pipeline called ``name``; KeyError naming the ones there are."""
        for pipeline in self.pipelines:
            if pipeline.name == name:
                return pipeline
        known = ", ".join(p.name for p in self.pipelines) or "none"
        raise KeyError(f"pipeline {name!r} is not declared in {self.root}/catalog.toml (declared: {known})")

    def topic(self, name: str) -> TopicSpec:
        """The topic called ``name``; KeyError if the catalog has none."""
        for topic in self.topics:
            if topic.name == name:
                return topic
        raise KeyError(f"topic {name!r} is not in the catalog at {self.root}")

    def subject(self, name: str) -> SubjectSpec:
        """The subject called ``name``; KeyError if the catalog registers none."""
        for spec in self.subjects:
            if spec.subject == name:
                return spec
        raise KeyError(f"subject {name!r} is not in the catalog at {self.root}")

    def compose(self, full_name: str, keep: Callable[[str], bool]) -> tuple[Any, tuple[str, ...]]:
        """``full_name``'s schema with each other file's type written out at its first use, except
        those for which ``keep(type)`` is true, which stay names. Returns the schema (JSON) and the
        kept types it names, dependencies first: the references that schema needs."""
        return compose(self.types, full_name, keep)


def compose(
    types: Mapping[str, NamedType], full_name: str, keep: Callable[[str], bool]
) -> tuple[Any, tuple[str, ...]]:
    """See :meth:`Catalog.compose`; ``types`` holds every named type by full name."""
    return _Composer(types, keep).compose(full_name)


class _Composer:
    def __init__(self, types: Mapping[str, NamedType], keep: Callable[[str], bool]) -> None:
        self.types = types
        self.keep = keep
        self.written: set[str] = set()
        self.kept: list[str] = []

    def compose(self, full_name: str) -> tuple[Any, tuple[str, ...]]:
        named = self.types[full_name]
        self.written.update(named.defines)
        schema = self.rewrite(named.schema, "")
        # References in dependency order (``types`` is), so a registry can resolve them in turn.
        return schema, tuple(name for name in self.types if name in self.kept)

    def rewrite(self, node: Any, namespace: str) -> Any:
        if isinstance(node, str):
            return self.rewrite_name(node, namespace)
        if isinstance(node, list):
            return [self.rewrite(branch, namespace) for branch in node]
        if not isinstance(node, dict):
            return node
        kind = node.get("type")
        out = dict(node)
        if kind in ("record", "error") and isinstance(node.get("fields"), list):
            inner = definition_namespace(node, namespace)[0]
            out["fields"] = [
                {**entry, "type": self.rewrite(entry["type"], inner)}
                if isinstance(entry, dict) and "type" in entry
                else entry
                for entry in node["fields"]
            ]
        elif kind == "array" and "items" in node:
            out["items"] = self.rewrite(node["items"], namespace)
        elif kind == "map" and "values" in node:
            out["values"] = self.rewrite(node["values"], namespace)
        return out

    def rewrite_name(self, name: str, namespace: str) -> Any:
        if name in PRIMITIVE_TYPES:
            return name
        full = resolve_name(name, namespace, lambda n: n in self.types or n in self.written)
        if full not in self.types or full in self.written:
            return name
        if self.keep(full):
            if full not in self.kept:
                self.kept.append(full)
            return name
        named = self.types[full]
        self.written.update(named.defines)
        definition = dict(named.schema)
        if definition.get("type") in NAMED_KINDS and "." not in str(definition.get("name")):
            # Pin the namespace so the definition means the same wherever it is written out.
            definition.setdefault("namespace", "")
        return self.rewrite(definition, "")
