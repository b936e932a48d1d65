"""The Kafka runtime: the reliable producer, the consumer loop, typed topics, bindings, topics."""

from pipeline.kafka import clientlog  # noqa: F401  (librdkafka lines go to logging from the first client on)
