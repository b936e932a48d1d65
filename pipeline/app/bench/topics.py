"""The benchmark's own topics: a catalog topic's binding moved onto a fresh topic (every subject it uses
renamed after that topic, references included, so nothing the benchmark registers or deletes is the
catalog's), created, registered and deleted; the records it sends there, keyed as ``pipeline run`` keys
them; and confluent-kafka's Avro serdes for it (the baseline).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import SerializationContext, StringDeserializer, StringSerializer

from pipeline.app.samples import SampleGenerator
from pipeline.codec import AVRO_NAME
from pipeline.codec.convert import Converter
from pipeline.codec.values import type_name
from pipeline.config import deserializer_config, serde_config
from pipeline.errors import PipelineError
from pipeline.kafka.binding import SchemaBinding, TopicBinding
from pipeline.registry.client import Reference, RegisteredVersion, RegistryClient
from pipeline.registry.serde import SchemaResolver

__all__ = [
    "Baseline",
    "baseline",
    "create_topics",
    "delete",
    "rebind",
    "register",
    "sample_records",
    "subjects",
]

Serialize = Callable[[Any, SerializationContext], bytes | None]
Deserialize = Callable[[bytes | None, SerializationContext], Any]


def rebind(binding: TopicBinding, topic: str) -> TopicBinding:
    """``binding`` on ``topic``: each subject it uses is named ``<topic>-<the rest>``, the rest being the
    subject less the catalog topic's name (``orders-value`` -> ``<topic>-value``) or, for a subject not
    named after the topic (a referenced type's), all of it."""

    def moved(schema: SchemaBinding) -> SchemaBinding:
        return dataclasses.replace(
            schema,
            subject=f"{topic}-{schema.subject.removeprefix(f'{binding.topic}-')}",
            references=tuple((name, moved(ref)) for name, ref in schema.references),
        )

    return dataclasses.replace(
        binding,
        topic=topic,
        value=moved(binding.value),
        more_values=tuple(moved(v) for v in binding.more_values),
        key=moved(binding.key) if binding.key is not None else None,
        dlq_topic=f"{topic}.dlq",
    )


def subjects(binding: TopicBinding) -> list[SchemaBinding]:
    """Every subject ``binding`` uses, once each, each after the subjects it refers to."""
    found: dict[str, SchemaBinding] = {}

    def visit(schema: SchemaBinding) -> None:
        for _name, ref in schema.references:
            visit(ref)
        found.setdefault(schema.subject, schema)

    for schema in (*binding.values, *([binding.key] if binding.key is not None else [])):
        visit(schema)
    return list(found.values())


def sample_records(
    binding: TopicBinding, name: str, count: int, seed: int, run_id: str
) -> tuple[list[Any], list[Any]]:
    """``count`` records of ``binding``'s topic and their keys, as ``pipeline run`` makes them: an Avro key
    from a generator of its own, else ``<topic>-<index>``."""
    values = SampleGenerator(binding.value_schema(), binding.classes, seed, run_id)
    records = [values.record(i) for i in range(count)]
    if binding.key is None:
        return records, [f"{name}-{i:07d}" for i in range(count)]
    keys = SampleGenerator(binding.key.parsed(), binding.classes, seed + 1, run_id)
    return records, [keys.record(i) for i in range(count)]


def create_topics(admin: AdminClient, names: Sequence[str], partitions: int) -> None:
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions) for name in names])
    for name, future in futures.items():
        try:
            future.result(timeout=30)
        except Exception as exc:
            raise PipelineError(f"topic {name}: could not create the benchmark topic: {exc}") from exc


def register(registry: RegistryClient, binding: TopicBinding) -> None:
    """Register every subject of ``binding``, references first, as the catalog's registration does."""
    versions: dict[str, RegisteredVersion] = {}
    for schema in subjects(binding):
        refs = [
            Reference(name, ref.subject, versions[ref.subject].version) for name, ref in schema.references
        ]
        versions[schema.subject] = registry.register(schema.subject, schema.schema_text, refs)


def delete(
    admin: AdminClient, registry: RegistryClient, topics: Sequence[str], subjects: Sequence[str]
) -> None:
    """Delete ``topics`` and ``subjects`` (referencing subjects first), best effort: the names carry
    the run id."""
    for future in admin.delete_topics(list(topics)).values():
        with contextlib.suppress(Exception):
            future.result(timeout=30)
    for subject in subjects:
        with contextlib.suppress(Exception):
            registry.delete_subject(subject)
            registry.delete_subject(subject, permanent=True)


@dataclass(frozen=True)
class Baseline:
    """confluent-kafka's serdes for one topic's keys and values, typed through ``to_dict`` / ``from_dict``
    with :class:`pipeline.codec.convert.Converter`."""

    value: Serialize
    value_reader: Deserialize
    key: Serialize
    key_reader: Deserialize


def baseline(client: SchemaRegistryClient, registry: RegistryClient, binding: TopicBinding) -> Baseline:
    """The baseline's serdes for ``binding`` (registered): an AvroSerializer per value type, each of its
    own subject, picked by the record's type; one AvroDeserializer reading any of them; the key's as
    ``pipeline run`` keys the topic (an Avro key, or a UTF-8 string)."""
    resolver = SchemaResolver(registry)
    classes = binding.classes or {}
    writers = {type_name(v.parsed()): _serializer(client, resolver, v, classes) for v in binding.values}

    def by_type(record: Any, ctx: SerializationContext) -> bytes | None:
        return writers[getattr(type(record), AVRO_NAME)](record, ctx)

    value: Serialize = next(iter(writers.values())) if len(writers) == 1 else by_type
    reader = _deserializer(client, Converter(binding.value_schema(), classes))
    if binding.key is None:
        return Baseline(value, reader, StringSerializer("utf_8"), StringDeserializer("utf_8"))
    key = _serializer(client, resolver, binding.key, classes)
    return Baseline(value, reader, key, _deserializer(client, Converter(binding.key.parsed(), classes)))


def _serializer(
    client: SchemaRegistryClient, resolver: SchemaResolver, schema: SchemaBinding, classes: Any
) -> AvroSerializer:
    registered, refs = schema.registered(resolver)
    to_generic = Converter(schema.parsed(), classes).to_generic
    text = Schema(schema.schema_text, "AVRO", [SchemaReference(r.name, r.subject, r.version) for r in refs])
    # One serializer per subject: name it outright (what confluent-kafka's strategy for the catalog's
    # subject-name strategy gives on this topic).
    conf = {**serde_config(), "subject.name.strategy": lambda _ctx, _name: registered.subject}
    return AvroSerializer(client, text, to_dict=lambda value, _ctx: to_generic(value), conf=conf)


def _deserializer(client: SchemaRegistryClient, converter: Converter) -> AvroDeserializer:
    from_generic = converter.from_generic
    return AvroDeserializer(
        client, from_dict=lambda datum, _ctx: from_generic(datum), conf=deserializer_config()
    )
