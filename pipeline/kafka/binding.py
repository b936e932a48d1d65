"""Binding a topic's schemas to a live cluster and registry: the one place that turns a topic
description (what a generated module embeds) into a ready TopicProducer or TopicConsumer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from pipeline.avro import Schema as AvroSchema
from pipeline.avro import Union
from pipeline.config import ConsumerTuning, ProducerTuning, Settings, consumer_config, producer_config
from pipeline.dlq.publisher import DeadLetterPublisher
from pipeline.kafka.producer import ReliableProducer
from pipeline.kafka.typed import AvroKeyCodec, KeyCodec, StringKeyCodec, TopicConsumer, TopicProducer
from pipeline.registry.client import OUTAGE_RETRY, Reference, RegisteredVersion, RegistryClient
from pipeline.registry.serde import AvroDecoder, AvroEncoder, OneOfEncoder, SchemaResolver, parse
from pipeline.retry import RetryPolicy

__all__ = [
    "SchemaBinding",
    "TopicBinding",
    "key_codec",
    "open_consumer",
    "open_producer",
    "registry_client",
    "value_decoder",
    "value_encoder",
]

T = TypeVar("T")


@dataclass(frozen=True)
class SchemaBinding:
    """One subject's schema exactly as registered: its text and its references (each the referenced
    subject's own binding), plus the fully inlined schema to parse locally.

    Reference versions are the registry's business: they are found by content when the binding is
    opened, so the schema used is exactly this text, whatever version numbers the registry gave it."""

    subject: str
    schema_text: str
    resolved_text: str | None = None  # None: schema_text needs no references
    references: Sequence[tuple[str, SchemaBinding]] = ()

    def parsed(self) -> AvroSchema:
        """The schema with every named type written out, as the codec reads it."""
        return parse(self.resolved_text or self.schema_text, what=f"subject {self.subject}")

    def registered(self, resolver: SchemaResolver) -> tuple[RegisteredVersion, tuple[Reference, ...]]:
        """This schema's id and version, and its references with the versions the registry gave them,
        each looked up by content (RegistryError when something is not registered)."""
        refs = tuple(
            Reference(name, ref.subject, ref.registered(resolver)[0].version) for name, ref in self.references
        )
        return resolver.registered(self.subject, self.schema_text, refs), refs


@dataclass(frozen=True)
class TopicBinding:
    """A topic, its value type or types (several event types on one topic, each its own subject), its
    key, its dead-letter topic and the generated classes."""

    topic: str
    value: SchemaBinding
    dlq_topic: str
    key: SchemaBinding | None = None  # None: UTF-8 string keys
    classes: Mapping[str, type] | None = None  # full name -> generated class; None: dicts and symbols
    more_values: tuple[SchemaBinding, ...] = ()  # the topic's other value types, if it has several

    @property
    def values(self) -> tuple[SchemaBinding, ...]:
        return (self.value, *self.more_values)

    def value_schema(self) -> AvroSchema:
        """What a consumer reads values as: the value's schema, or a union of the topic's types (each
        writer then resolves to the type of its full name, as Avro Java resolves into a union)."""
        if not self.more_values:
            return self.value.parsed()
        return Union(tuple(binding.parsed() for binding in self.values))


def value_decoder(binding: TopicBinding, resolver: SchemaResolver) -> AvroDecoder:
    """The decoder of ``binding``'s values, into its generated classes."""
    return AvroDecoder(resolver, binding.value_schema(), topic=binding.topic, model=binding.classes)


def value_encoder(binding: TopicBinding, resolver: SchemaResolver) -> AvroEncoder | OneOfEncoder:
    """The encoder of ``binding``'s values: its schema's, or one per event type of a topic with several.
    Looks up each schema id once (RegistryError if unregistered)."""
    encoders = []
    for value in binding.values:
        registered, _ = value.registered(resolver)
        encoders.append(
            AvroEncoder(
                value.parsed(),
                registered.schema_id,
                value.subject,
                binding.classes,
                version=registered.version,
            )
        )
    return encoders[0] if len(encoders) == 1 else OneOfEncoder(encoders, binding.classes)


def registry_client(settings: Settings) -> RegistryClient:
    """The registry client of a running pipeline: its lookups wait out an outage (OUTAGE_RETRY)."""
    return RegistryClient(settings.registry, retry=OUTAGE_RETRY)


def key_codec(binding: TopicBinding, resolver: SchemaResolver) -> KeyCodec:
    if binding.key is None:
        return StringKeyCodec()
    parsed = binding.key.parsed()
    schema_id = binding.key.registered(resolver)[0].schema_id
    decoder = AvroDecoder(resolver, parsed, topic=binding.topic, model=binding.classes)
    return AvroKeyCodec(AvroEncoder(parsed, schema_id, binding.key.subject, binding.classes), decoder)


def open_producer(
    settings: Settings,
    binding: TopicBinding,
    *,
    app: str | None = None,
    tuning: ProducerTuning | None = None,
    client: RegistryClient | None = None,
) -> TopicProducer[T]:
    """A TopicProducer for ``binding``. Looks up the schema id once (RegistryError if unregistered)."""
    resolver = SchemaResolver(client or registry_client(settings))
    encoder = value_encoder(binding, resolver)
    producer = ReliableProducer(producer_config(settings.kafka, tuning or settings.producer))
    dlq = DeadLetterPublisher(producer, lambda _topic: binding.dlq_topic, app=app or settings.app_name)
    return TopicProducer(
        producer,
        binding.topic,
        encoder,
        key_codec=key_codec(binding, resolver),
        dlq=dlq,
    )


def open_consumer(
    settings: Settings,
    binding: TopicBinding,
    group_id: str,
    *,
    retry: RetryPolicy | None = None,
    batch_size: int = 500,
    batch_timeout: float = 0.5,
    tuning: ConsumerTuning | None = None,
    client: RegistryClient | None = None,
) -> TopicConsumer[T]:
    """A TopicConsumer for ``binding`` in ``group_id``, dead-lettering to the binding's DLQ topic."""
    resolver = SchemaResolver(client or registry_client(settings))
    decoder = value_decoder(binding, resolver)
    dlq_producer = ReliableProducer(producer_config(settings.kafka, replace(settings.producer, linger_ms=5)))
    dlq = DeadLetterPublisher(dlq_producer, lambda _topic: binding.dlq_topic, consumer_group=group_id)
    return TopicConsumer(
        consumer_config(settings.kafka, group_id, tuning or settings.consumer),
        binding.topic,
        decoder,
        key_codec=key_codec(binding, resolver),
        dlq=dlq,
        retry=retry,
        batch_size=batch_size,
        batch_timeout=batch_timeout,
    )
