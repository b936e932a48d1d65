"""Benchmarks (``pipeline bench``, ``make bench``): each catalog topic's schema through the generated
pipelines, confluent-kafka's Avro serde and bare clients, and a declared pipeline's workers scaled out, on a
real cluster. ``report`` is the pure arithmetic; ``runner`` measures, on ``topics`` of its own, and
``scale_out`` runs the workers."""

from pipeline.app.bench.report import (
    BenchReport,
    Figure,
    Machine,
    Sample,
    ScaleOut,
    SchemaReport,
    render_table,
    summarise,
)

__all__ = [
    "BenchReport",
    "Figure",
    "Machine",
    "Sample",
    "ScaleOut",
    "SchemaReport",
    "render_table",
    "summarise",
]
