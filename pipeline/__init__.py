"""Schema-first Avro event pipelines for Apache Kafka.

The public API, by layer (each name is imported from its module the first time it is used, so that a
running pipeline that imports a generated module loads none of the tooling)::

    from pipeline import load_catalog, register_schemas, open_producer, open_consumer

- settings: ``load_settings``, ``Settings``, ``ProducerTuning``, ``ConsumerTuning``, ``Secret``,
  ``load_stack_settings``, ``StackSettings``;
- schema contracts and compatibility: ``load_catalog``, ``Catalog``, ``TopicSpec``, ``SubjectSpec``,
  ``check``, ``Level``, ``check_against_git``, ``check_against_registry``, ``generate``;
- the codec: ``Encoder``, ``Decoder``, ``Converter``;
- the registry: ``RegistryClient``, ``register_schemas``;
- the Kafka runtime: ``ensure_cluster``, ``open_producer``, ``open_consumer``, ``TopicBinding``,
  ``SchemaBinding``, ``TopicProducer``, ``TopicConsumer``, ``Received``, ``SendResult``, ``RetryPolicy``,
  ``ensure_topics``;
- the dead-letter queue: ``DeadLetter``, ``read_entries``, ``replay``;
- the embedded stack and the main job: ``EmbeddedStack``, ``run_pipeline``;
- the error tree: ``PipelineError`` and its branches (:mod:`pipeline.errors`).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from pipeline import errors

__version__ = "0.1.0"

# A library logs; the application decides where to (the CLI: a file). Never Python's last-resort stderr.
logging.getLogger("pipeline").addHandler(logging.NullHandler())

_WHERE = {
    "load_settings": "pipeline.config",
    "Settings": "pipeline.config",
    "ProducerTuning": "pipeline.config",
    "ConsumerTuning": "pipeline.config",
    "Secret": "pipeline.config",
    "load_stack_settings": "pipeline.config",
    "StackSettings": "pipeline.config",
    "load_catalog": "pipeline.schema",
    "Catalog": "pipeline.schema",
    "TopicSpec": "pipeline.schema",
    "SubjectSpec": "pipeline.schema",
    "check": "pipeline.compat",
    "Level": "pipeline.compat",
    "check_against_git": "pipeline.gate",
    "check_against_registry": "pipeline.gate",
    "generate": "pipeline.codegen",
    "Encoder": "pipeline.codec",
    "Decoder": "pipeline.codec",
    "Converter": "pipeline.codec.convert",
    "RegistryClient": "pipeline.registry.client",
    "register_schemas": "pipeline.registry.register",
    "ensure_cluster": "pipeline.stack.cluster",
    "open_producer": "pipeline.kafka.binding",
    "open_consumer": "pipeline.kafka.binding",
    "TopicBinding": "pipeline.kafka.binding",
    "SchemaBinding": "pipeline.kafka.binding",
    "TopicProducer": "pipeline.kafka.typed",
    "TopicConsumer": "pipeline.kafka.typed",
    "Received": "pipeline.kafka.typed",
    "SendResult": "pipeline.kafka.typed",
    "RetryPolicy": "pipeline.retry",
    "ensure_topics": "pipeline.kafka.topics",
    "DeadLetter": "pipeline.dlq.envelope",
    "read_entries": "pipeline.dlq.tools",
    "replay": "pipeline.dlq.tools",
    "EmbeddedStack": "pipeline.stack",
    "run_pipeline": "pipeline.app.run",
}

__all__ = sorted([*_WHERE, *errors.__all__, "__version__"])


def __getattr__(name: str) -> Any:
    if name in errors.__all__:
        return getattr(errors, name)
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
