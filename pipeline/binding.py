"""Binding a topic's schemas to a live cluster and registry: the one place that turns a topic
description (what a generated module embeds) into a ready TopicProducer or TopicConsumer."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient

from pipeline.config import Settings, registry_client_config
from pipeline.consumer import DeadLetterPublisher, consumer_config
from pipeline.producer import ReliableProducer, producer_config
from pipeline.retry import RetryPolicy
from pipeline.serde import AvroDecoder, AvroEncoder, SchemaResolver, parse
from pipeline.topic import AvroKeyCodec, KeyCodec, StringKeyCodec, TopicConsumer, TopicProducer

__all__ = ["SchemaBinding", "TopicBinding", "open_consumer", "open_producer", "registry_client"]

T = TypeVar("T")

_REGISTRY_RETRIES = {"max.retries": 5, "retries.wait.ms": 500, "retries.max.wait.ms": 10000}


@dataclass(frozen=True)
class SchemaBinding:
    """One subject's schema exactly as registered: its text, its references, and the named types
    (full name -> schema JSON) needed to parse it locally."""

    subject: str
    schema_text: str
    references: Sequence[tuple[str, str, int]] = ()  # (name, subject, version)
    named_types: Sequence[str] = ()  # dependency order

    def parsed(self) -> Any:
        named: dict[str, Any] = {}
        for text in self.named_types:
            parse(text, named)  # fills ``named`` with each type, in order
        return parse(self.schema_text, named)

    def registry_schema(self) -> Schema:
        refs = [SchemaReference(name, subject, version) for name, subject, version in self.references]
        return Schema(self.schema_text, "AVRO", refs)


@dataclass(frozen=True)
class TopicBinding:
    topic: str
    value: SchemaBinding
    dlq_topic: str
    key: SchemaBinding | None = None  # None: UTF-8 string keys
    producer_overrides: Mapping[str, Any] = field(default_factory=dict)


def registry_client(settings: Settings) -> SchemaRegistryClient:
    """A registry client that retries transient failures with backoff."""
    return SchemaRegistryClient({**registry_client_config(settings.registry), **_REGISTRY_RETRIES})


def _key_codec(binding: TopicBinding, resolver: SchemaResolver) -> KeyCodec:
    if binding.key is None:
        return StringKeyCodec()
    parsed = binding.key.parsed()
    schema_id = resolver.schema_id(binding.key.subject, binding.key.registry_schema())
    return AvroKeyCodec(
        AvroEncoder(parsed, schema_id, binding.key.subject),
        AvroDecoder(resolver, parsed, topic=binding.topic),
    )


def open_producer(
    settings: Settings,
    binding: TopicBinding,
    to_datum: Callable[[T], Any],
    *,
    app: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    client: SchemaRegistryClient | None = None,
) -> TopicProducer[T]:
    """A TopicProducer for ``binding``. Looks up the schema id once (RegistryError if unregistered)."""
    resolver = SchemaResolver(client or registry_client(settings))
    schema_id = resolver.schema_id(binding.value.subject, binding.value.registry_schema())
    encoder = AvroEncoder(binding.value.parsed(), schema_id, binding.value.subject)
    producer = ReliableProducer(
        producer_config(settings.kafka, {**binding.producer_overrides, **(overrides or {})})
    )
    dlq = DeadLetterPublisher(producer, lambda _topic: binding.dlq_topic, app=app or _app_name())
    return TopicProducer(
        producer, binding.topic, encoder, to_datum, key_codec=_key_codec(binding, resolver), dlq=dlq
    )


def open_consumer(
    settings: Settings,
    binding: TopicBinding,
    from_datum: Callable[[Any], T],
    group_id: str,
    *,
    retry: RetryPolicy | None = None,
    batch_size: int = 500,
    batch_timeout: float = 0.5,
    overrides: Mapping[str, Any] | None = None,
    client: SchemaRegistryClient | None = None,
) -> TopicConsumer[T]:
    """A TopicConsumer for ``binding`` in ``group_id``, dead-lettering to the binding's DLQ topic."""
    resolver = SchemaResolver(client or registry_client(settings))
    decoder = AvroDecoder(resolver, binding.value.parsed(), topic=binding.topic)
    dlq_producer = ReliableProducer(producer_config(settings.kafka, {"linger.ms": 5}))
    dlq = DeadLetterPublisher(dlq_producer, lambda _topic: binding.dlq_topic, consumer_group=group_id)
    return TopicConsumer(
        consumer_config(settings.kafka, group_id, overrides),
        binding.topic,
        decoder,
        from_datum,
        key_codec=_key_codec(binding, resolver),
        dlq=dlq,
        retry=retry,
        batch_size=batch_size,
        batch_timeout=batch_timeout,
    )


def _app_name() -> str:
    return os.environ.get("PIPELINE_APP_NAME") or f"pipeline@{os.uname().nodename}"
