"""Benchmarks (``pipeline bench``, ``make bench``): the generated Order pipelines against confluent-kafka's
Avro serde and against bare clients, on a real cluster. ``report`` is the pure arithmetic; ``runner``
measures."""

from pipeline.app.bench.report import BenchReport, Figure, Machine, Sample, render_table, summarise

__all__ = ["BenchReport", "Figure", "Machine", "Sample", "render_table", "summarise"]
