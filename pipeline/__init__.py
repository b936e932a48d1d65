"""Schema-first Avro event pipelines for Apache Kafka."""

__version__ = "0.1.0"
