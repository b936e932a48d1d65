"""The embedded stack: Apache Kafka (KRaft) and Apicurio Registry run as local processes from
artifacts resolved with Maven. Used when no cluster is named in the environment."""

from pipeline.stack.embedded import ComponentStatus, EmbeddedStack

__all__ = ["ComponentStatus", "EmbeddedStack"]
