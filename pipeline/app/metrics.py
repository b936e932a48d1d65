"""Prometheus metrics for a running pipeline, served with the standard client library.

Every pipeline process gets its own registry (no global state), exposed on ``--metrics-port``."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

__all__ = ["PipelineMetrics"]


@dataclass(frozen=True)
class PipelineMetrics:
    registry: CollectorRegistry
    produced: Counter
    consumed: Counter
    errors: Counter
    dead_lettered: Counter
    lag: Gauge
    batch_latency: Histogram

    @classmethod
    def create(cls) -> PipelineMetrics:
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            produced=Counter(
                "pipeline_messages_produced", "Messages sent to Kafka", ["topic"], registry=registry
            ),
            consumed=Counter(
                "pipeline_messages_consumed", "Messages consumed and processed", ["topic"], registry=registry
            ),
            errors=Counter(
                "pipeline_errors",
                "Failures by stage (serialize, deserialize, process)",
                ["topic", "stage"],
                registry=registry,
            ),
            dead_lettered=Counter(
                "pipeline_messages_dead_lettered",
                "Messages sent to the dead-letter queue",
                ["topic"],
                registry=registry,
            ),
            lag=Gauge(
                "pipeline_consumer_lag",
                "Messages not yet consumed by the group",
                ["topic"],
                registry=registry,
            ),
            batch_latency=Histogram(
                "pipeline_batch_processing_seconds",
                "Time to process one batch (decode, handle, commit)",
                ["topic"],
                registry=registry,
                buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            ),
        )

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Expose ``/metrics`` on ``host:port`` from a daemon thread."""
        start_http_server(port, addr=host, registry=self.registry)
