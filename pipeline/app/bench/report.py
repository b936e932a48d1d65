"""The benchmark's arithmetic and its report: samples in, medians, ratios, tables and JSON out.

Pure: no Kafka, no clock, no files. ``pipeline.app.bench.runner`` measures; this module only summarises, so
the numbers a run prints can be checked by unit tests without timing anything.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FAMILIES",
    "PHASES",
    "SCALE_OUT",
    "SCALE_OUT_WORKERS",
    "TARGETS",
    "BenchReport",
    "Figure",
    "Machine",
    "Sample",
    "ScaleOut",
    "SchemaReport",
    "render_table",
    "summarise",
    "workers_family",
]

PHASES = ("produce", "consume", "encode", "decode", "transform")
"""produce: key + value encoding and delivery (flushed); consume: fetch, decode, commit per batch;
encode/decode: the codec alone, no Kafka; transform: a declared pipeline's loop (read, decode, handler,
encode, write, commit) with an identity handler, from joining the group to the last input."""

FAMILIES = ("floor", "baseline", "ours", "at_least_once", "exactly_once")
"""floor: bare clients moving pre-encoded bytes; baseline: confluent-kafka's Serializing/Deserializing
clients with AvroSerializer/AvroDeserializer; ours: the generated typed pipelines; at_least_once and
exactly_once: the transform loop without and with one Kafka transaction per batch."""

SCALE_OUT = "scale_out"
"""A declared pipeline run as ``pipeline worker --workers N`` processes over pre-produced inputs, once per
entry of SCALE_OUT_WORKERS (families ``workers_N``); its samples name the pipeline where others name a
schema."""

SCALE_OUT_WORKERS = (1, 2)

TARGETS: Mapping[str, float] = {
    "consume_vs_baseline": 6.0,
    "produce_vs_baseline": 2.5,
    "rss_growth_mb": 50.0,
    "consume_vs_floor": 0.5,  # stretch goal
    "produce_vs_floor": 0.5,  # stretch goal
}

_MB = 1024 * 1024


_WORKERS = "workers_"


def workers_family(workers: int) -> str:
    """The family of a scale-out sample run by ``workers`` processes."""
    return f"{_WORKERS}{workers}"


@dataclass(frozen=True)
class Sample:
    """One timed phase of one repetition, on one schema's topics (or, for SCALE_OUT, one pipeline)."""

    schema: str
    phase: str
    family: str
    messages: int
    seconds: float
    rss_growth_bytes: int = 0

    @property
    def rate(self) -> float:
        """Messages per second."""
        return self.messages / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Figure:
    """One phase of one family over every repetition: the median rate, each run's rate, the worst RSS."""

    phase: str
    family: str
    rates: tuple[float, ...]
    rss_growth_bytes: int

    @property
    def key(self) -> str:
        return f"{self.phase}_{self.family}"

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def us_per_message(self) -> float:
        return 1e6 / self.rate if self.rate > 0 else float("inf")

    @property
    def spread(self) -> float:
        """(max - min) / median: how much the repetitions disagree."""
        return (max(self.rates) - min(self.rates)) / self.rate if self.rate > 0 else 0.0


@dataclass(frozen=True)
class Machine:
    """Where the numbers come from."""

    cpu: str
    cores: int
    memory_gib: float
    system: str
    python: str
    libraries: Mapping[str, str] = field(default_factory=dict)
    date: str = ""
    cluster: str = ""

    def describe(self) -> str:
        libs = ", ".join(f"{name} {version}" for name, version in self.libraries.items())
        return (
            f"{self.cpu}, {self.cores} cores, {self.memory_gib:.0f} GiB, {self.system}; Python {self.python}"
            + (f"; {libs}" if libs else "")
            + (f"; cluster {self.cluster}" if self.cluster else "")
            + (f"; {self.date}" if self.date else "")
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "cpu": self.cpu,
            "cores": self.cores,
            "memory_gib": round(self.memory_gib, 1),
            "system": self.system,
            "python": self.python,
            "libraries": dict(self.libraries),
            "date": self.date,
            "cluster": self.cluster,
        }


@dataclass(frozen=True)
class SchemaReport:
    """One schema's figures (its catalog topic's records through every phase). ``baseline_problem`` says
    why confluent-kafka's serdes could not take this schema, when they could not (no baseline figures)."""

    schema: str
    figures: Mapping[str, Figure]
    baseline_problem: str | None = None

    def rate(self, phase: str, family: str) -> float:
        figure = self.figures.get(f"{phase}_{family}")
        return figure.rate if figure is not None else 0.0

    def us_per_message(self, phase: str, family: str) -> float | None:
        figure = self.figures.get(f"{phase}_{family}")
        return figure.us_per_message if figure is not None else None

    def ratio(self, phase: str, family: str, other: str) -> float | None:
        """``family``'s median rate over ``other``'s, for one phase; None when either is missing."""
        mine, theirs = self.rate(phase, family), self.rate(phase, other)
        return mine / theirs if mine and theirs else None

    def ratios(self) -> dict[str, float | None]:
        """Ours against the others: ``consume_vs_baseline``, ``produce_vs_floor`` (the floor's µs over
        ours: our share of the floor), ``decode_vs_baseline``…"""
        found: dict[str, float | None] = {}
        for phase in PHASES:
            for other in ("baseline", "floor"):
                if f"{phase}_{other}" in self.figures and f"{phase}_ours" in self.figures:
                    found[f"{phase}_vs_{other}"] = self.ratio(phase, "ours", other)
        if "transform_exactly_once" in self.figures and "transform_at_least_once" in self.figures:
            found["transform_exactly_once_vs_at_least_once"] = self.ratio(
                "transform", "exactly_once", "at_least_once"
            )
        return found

    def ours_rss_growth_mb(self) -> float:
        """The largest RSS growth of any of our phases."""
        ours = [f.rss_growth_bytes for f in self.figures.values() if f.family == "ours"]
        return max(ours, default=0) / _MB

    def breakdown(self) -> dict[str, dict[str, float]]:
        """Microseconds per message for produce and consume: the transport (the floor), the codec
        (timed alone), and the rest (the runtime around them: delivery accounting, the loop, commits)."""
        found: dict[str, dict[str, float]] = {}
        for phase, codec in (("produce", "encode"), ("consume", "decode")):
            for family in ("ours", "baseline"):
                total, floor = self.figures.get(f"{phase}_{family}"), self.figures.get(f"{phase}_floor")
                alone = self.figures.get(f"{codec}_{family}")
                if total is None or floor is None or alone is None:
                    continue
                found[f"{phase}_{family}"] = {
                    "total_us": round(total.us_per_message, 3),
                    "transport_us": round(floor.us_per_message, 3),
                    "codec_us": round(alone.us_per_message, 3),
                    "other_us": round(total.us_per_message - floor.us_per_message - alone.us_per_message, 3),
                }
        return found

    def targets_met(self) -> dict[str, bool]:
        ratios = self.ratios()
        met: dict[str, bool] = {}
        for name, threshold in TARGETS.items():
            if name == "rss_growth_mb":
                met[name] = self.ours_rss_growth_mb() < threshold
            elif ratios.get(name) is not None:
                met[name] = (ratios[name] or 0.0) >= threshold
        return met

    def to_json(self) -> dict[str, Any]:
        """Every figure under a key that says what it is."""
        return {
            "msgs_per_s_median": {k: round(f.rate, 1) for k, f in self.figures.items()},
            "msgs_per_s_runs": {k: [round(r, 1) for r in f.rates] for k, f in self.figures.items()},
            "us_per_msg_median": {k: round(f.us_per_message, 3) for k, f in self.figures.items()},
            "spread_fraction": {k: round(f.spread, 3) for k, f in self.figures.items()},
            "rss_growth_mb_max": {k: round(f.rss_growth_bytes / _MB, 1) for k, f in self.figures.items()},
            "ours_rss_growth_mb": round(self.ours_rss_growth_mb(), 1),
            **{k: (round(v, 3) if v is not None else None) for k, v in self.ratios().items()},
            "breakdown_us_per_msg": self.breakdown(),
            "targets_met": self.targets_met(),
            "baseline_problem": self.baseline_problem,
        }


@dataclass(frozen=True)
class ScaleOut:
    """A declared pipeline run by 1 and by more worker processes over the same inputs."""

    pipeline: str
    partitions: int  # of the input topic
    figures: Mapping[int, Figure]  # by number of workers

    def ratio(self) -> float | None:
        """The most workers' median rate over one worker's; None when either is missing."""
        most, one = self.figures.get(max(self.figures, default=0)), self.figures.get(1)
        if most is None or one is None or most is one or not one.rate:
            return None
        return most.rate / one.rate

    def ratio_key(self) -> str:
        return f"{workers_family(max(self.figures, default=0))}_vs_{workers_family(1)}"

    def to_json(self) -> dict[str, Any]:
        ratio = self.ratio()
        return {
            "pipeline": self.pipeline,
            "input_partitions": self.partitions,
            "msgs_per_s_median": {workers_family(n): round(f.rate, 1) for n, f in self.figures.items()},
            "msgs_per_s_runs": {
                workers_family(n): [round(r, 1) for r in f.rates] for n, f in self.figures.items()
            },
            "us_per_msg_median": {
                workers_family(n): round(f.us_per_message, 3) for n, f in self.figures.items()
            },
            self.ratio_key(): round(ratio, 3) if ratio is not None else None,
        }


@dataclass(frozen=True)
class BenchReport:
    count: int
    repeat: int
    batch_size: int
    machine: Machine
    codec: str  # pipeline.codec.backend(): the codec our phases ran
    schemas: Mapping[str, SchemaReport]
    scale_out: ScaleOut | None = None
    run_rss_growth_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "repeat": self.repeat,
            "batch_size": self.batch_size,
            "codec": self.codec,
            "machine": self.machine.to_json(),
            "schemas": {name: schema.to_json() for name, schema in self.schemas.items()},
            "scale_out": self.scale_out.to_json() if self.scale_out is not None else None,
            "run_rss_growth_mb": round(self.run_rss_growth_bytes / _MB, 1),
            "targets": dict(TARGETS),
        }


def summarise(
    samples: Iterable[Sample],
    *,
    count: int,
    repeat: int,
    batch_size: int,
    machine: Machine,
    codec: str,
    run_rss_growth_bytes: int = 0,
    baseline_problems: Mapping[str, str] | None = None,
    scale_out_partitions: int = 0,
) -> BenchReport:
    """Group samples by schema (in the order they first come), then by phase and family (in PHASES x
    FAMILIES order) into medians; SCALE_OUT samples into the report's scale-out, by workers."""
    grouped: dict[str, dict[str, list[Sample]]] = {}
    scaled: dict[str, dict[int, list[Sample]]] = {}
    for sample in samples:
        if sample.phase == SCALE_OUT:
            workers = int(sample.family.removeprefix(_WORKERS))
            scaled.setdefault(sample.schema, {}).setdefault(workers, []).append(sample)
        else:
            by_key = grouped.setdefault(sample.schema, {})
            by_key.setdefault(f"{sample.phase}_{sample.family}", []).append(sample)
    problems = baseline_problems or {}
    schemas = {
        name: SchemaReport(name, _figures(by_key), problems.get(name)) for name, by_key in grouped.items()
    }
    scale_out = None
    for pipeline, by_workers in scaled.items():
        figures = {n: _figure(SCALE_OUT, workers_family(n), by_workers[n]) for n in sorted(by_workers)}
        scale_out = ScaleOut(pipeline, scale_out_partitions, figures)
    return BenchReport(count, repeat, batch_size, machine, codec, schemas, scale_out, run_rss_growth_bytes)


def _figures(by_key: Mapping[str, list[Sample]]) -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    for phase in PHASES:
        for family in FAMILIES:
            group = by_key.get(f"{phase}_{family}")
            if group:
                figures[f"{phase}_{family}"] = _figure(phase, family, group)
    return figures


def _figure(phase: str, family: str, group: list[Sample]) -> Figure:
    return Figure(phase, family, tuple(s.rate for s in group), max(s.rss_growth_bytes for s in group))


def _ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def _share(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "-"


def _us(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def render_table(report: BenchReport) -> str:
    """The results as Markdown (what the README shows): the codec, a summary across schemas, one block
    per schema (every figure, the breakdown, the targets), then the scale-out."""
    lines = [
        f"{report.count:,} records per schema, median of {report.repeat} repetitions, batches of "
        f"{report.batch_size}; codec: {report.codec}; {report.machine.describe()}",
    ]
    if report.schemas:
        lines += ["", *_summary(report)]
    for schema in report.schemas.values():
        lines += ["", f"### {schema.schema}", "", *_schema_block(schema, report.batch_size)]
    if report.scale_out is not None:
        lines += ["", *_scale_out_block(report.scale_out, report.count)]
    return "\n".join(lines)


def _summary(report: BenchReport) -> list[str]:
    lines = [
        "µs per message, ours / baseline / floor; vs baseline: our throughput over the baseline's; "
        "share of floor: the floor's µs over ours",
        "",
        "| schema | produce µs | produce vs baseline | produce share of floor "
        "| consume µs | consume vs baseline | consume share of floor |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for schema in report.schemas.values():
        cells = [schema.schema]
        for phase in ("produce", "consume"):
            us = " / ".join(_us(schema.us_per_message(phase, f)) for f in ("ours", "baseline", "floor"))
            cells += [
                us,
                _ratio(schema.ratio(phase, "ours", "baseline")),
                _share(schema.ratio(phase, "ours", "floor")),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _schema_block(schema: SchemaReport, batch_size: int) -> list[str]:
    lines = [
        "| phase | family | msgs/s (median) | µs/msg | runs (msgs/s) | vs baseline | vs floor | RSS growth |",
        "|---|---|---:|---:|---|---:|---:|---:|",
    ]
    for figure in schema.figures.values():
        runs = ", ".join(f"{r:,.0f}" for r in figure.rates)
        vs_base = (
            schema.ratio(figure.phase, figure.family, "baseline") if figure.family != "baseline" else None
        )
        vs_floor = schema.ratio(figure.phase, figure.family, "floor") if figure.family != "floor" else None
        lines.append(
            f"| {figure.phase} | {figure.family} | {figure.rate:,.0f} | {figure.us_per_message:.2f} "
            f"| {runs} | {_ratio(vs_base)} | {_ratio(vs_floor)} | {figure.rss_growth_bytes / _MB:.1f} MB |"
        )
    breakdown = schema.breakdown()
    if breakdown:
        lines += [
            "",
            "| µs per message | total | transport (floor) | codec alone | rest (runtime) |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, parts in breakdown.items():
            lines.append(
                f"| {name.replace('_', ' ')} | {parts['total_us']:.2f} | {parts['transport_us']:.2f} | "
                f"{parts['codec_us']:.2f} | {parts['other_us']:.2f} |"
            )
    lines.append("")
    if schema.baseline_problem is not None:
        lines.append(
            f"baseline: confluent-kafka's Avro serdes cannot take this schema ({schema.baseline_problem}); "
            "no baseline figures"
        )
    else:
        lines.append("baseline: writes the same bytes as ours and each reads the other's (checked first)")
    transform = schema.ratios().get("transform_exactly_once_vs_at_least_once")
    if transform is not None:
        lines.append(
            f"transform: exactly once runs at {_ratio(transform)} the throughput of at least once "
            f"(batches of {batch_size}, one transaction each)"
        )
    lines.append(_targets_line(schema))
    return lines


def _targets_line(schema: SchemaReport) -> str:
    ratios, met = schema.ratios(), schema.targets_met()
    parts: list[str] = []
    for name, threshold in TARGETS.items():
        if name not in met:
            continue
        verdict = "met" if met[name] else "MISSED"
        if name == "rss_growth_mb":
            parts.append(f"RSS growth {schema.ours_rss_growth_mb():.1f} MB < {threshold:.0f} MB: {verdict}")
        else:
            stretch = " (stretch)" if name.endswith("_vs_floor") else ""
            parts.append(f"{name} {_ratio(ratios.get(name))} ≥ {threshold:g}x{stretch}: {verdict}")
    return "targets: " + "; ".join(parts)


def _scale_out_block(scale_out: ScaleOut, count: int) -> list[str]:
    lines = [
        f"### scale-out: pipeline {scale_out.pipeline}, `pipeline worker --workers N` over {count:,} "
        f"pre-produced inputs on {scale_out.partitions} partitions",
        "",
        "| workers | msgs/s (median) | µs/msg | runs (msgs/s) |",
        "|---:|---:|---:|---|",
    ]
    for workers, figure in scale_out.figures.items():
        runs = ", ".join(f"{r:,.0f}" for r in figure.rates)
        lines.append(f"| {workers} | {figure.rate:,.0f} | {figure.us_per_message:.2f} | {runs} |")
    ratio = scale_out.ratio()
    if ratio is not None:
        most = max(scale_out.figures)
        lines += [
            "",
            f"scale-out: {most} workers run at {_ratio(ratio)} the throughput of 1 (each run timed from the "
            "moment its inputs are committed, once every worker owns partitions, to its last output)",
        ]
    return lines
