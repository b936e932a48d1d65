"""``pipeline bench`` (``make bench``): run the benchmark, print the tables, optionally write JSON."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from pipeline.cli.arguments import add_schemas_option
from pipeline.errors import ConfigError

__all__ = ["chosen_schemas", "register", "schema_names"]


def schema_names(text: str) -> list[str]:
    """One ``--schema`` value: a topic name, or several separated by commas."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"{text!r} has an empty name (expected e.g. orders,payments)")
    return names


def chosen_schemas(known: Sequence[str], asked: Iterable[Sequence[str]] | None) -> tuple[str, ...]:
    """The topics whose schemas run: every ``known`` one when none was asked for, else those asked (in
    the order asked, once each). ConfigError naming the unknown ones and listing the known ones."""
    if not asked:
        return tuple(known)
    names = tuple(dict.fromkeys(name for group in asked for name in group))
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(
            f"--schema: no topic {', '.join(map(repr, unknown))} in the catalog; its topics are "
            f"{', '.join(known)}"
        )
    return names


def _run(args: argparse.Namespace) -> int:
    from pipeline.app.bench.report import render_table
    from pipeline.app.bench.runner import SCALE_OUT_PIPELINE, BenchConfig, run_bench
    from pipeline.schema import load_catalog
    from pipeline.stack.cluster import ensure_cluster, ensure_reachable

    if args.count < 2 * args.batch or args.repeat < 1:
        raise ConfigError(f"--count must be at least twice --batch ({args.batch}) and --repeat at least 1")
    if args.profile and importlib.util.find_spec("pyinstrument") is None:
        raise ConfigError("--profile needs pyinstrument: pip install -e '.[bench]'")
    catalog = load_catalog(args.schemas)
    schemas = chosen_schemas([topic.name for topic in catalog.topics], args.schema)
    scale_out = None if args.no_scale_out else SCALE_OUT_PIPELINE
    if scale_out is not None:
        try:
            catalog.pipeline(scale_out)
        except KeyError as exc:
            raise ConfigError(
                f"{exc.args[0]}; the scale-out phase runs it (--no-scale-out skips it)"
            ) from None

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    settings = ensure_cluster(progress=say)
    ensure_reachable(settings)
    config = BenchConfig(
        count=args.count,
        repeat=args.repeat,
        batch_size=args.batch,
        partitions=args.partitions,
        schemas=schemas,
        scale_out=scale_out,
        profile_dir=args.profile,
    )
    report = run_bench(settings, catalog, config, say)
    print(render_table(report))
    if args.json:
        args.json.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
        say(f"wrote {args.json}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "bench",
        help="throughput of the generated pipelines vs confluent-kafka's serde and bare clients",
        description="Produce and consume the same records of each catalog topic's schema with bare "
        "clients (floor), confluent-kafka's Avro serde (baseline) and the generated pipelines (ours), each "
        "on fresh topics; then run the declared orders-to-activity pipeline as real worker processes with 1 "
        "and 2 workers. Print the codec in use, medians, ratios and RSS growth. A measurement, not a "
        "test: it asserts no time.",
    )
    bench.add_argument("-n", "--count", type=int, default=500_000, help="records per phase (default 500000)")
    bench.add_argument(
        "-r", "--repeat", type=int, default=3, help="repetitions; medians are reported (default 3)"
    )
    bench.add_argument("--batch", type=int, default=500, help="consumer batch size (default 500)")
    bench.add_argument("--partitions", type=int, default=3, help="partitions of each topic (default 3)")
    bench.add_argument(
        "--schema",
        type=schema_names,
        action="append",
        metavar="TOPIC",
        help="the catalog topic whose schema runs (repeat it, or separate names with commas); "
        "default: every topic of the catalog",
    )
    bench.add_argument(
        "--no-scale-out",
        action="store_true",
        help="skip the scale-out phase (pipeline worker with 1 and with 2 workers)",
    )
    bench.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    bench.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="after the timed repetitions, run our phases once more under pyinstrument and write its "
        "reports to DIR (needs the bench extra)",
    )
    add_schemas_option(bench)
    bench.set_defaults(handler=_run)
