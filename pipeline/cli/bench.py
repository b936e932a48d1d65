"""``pipeline bench`` (``make bench``): run the benchmark, print the table, optionally write JSON."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

from pipeline.app.bench.report import render_table
from pipeline.app.bench.runner import BenchConfig, run_bench
from pipeline.errors import ConfigError
from pipeline.stack.cluster import ensure_cluster, ensure_reachable

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    if args.count < 2 * args.batch or args.repeat < 1:
        raise ConfigError(f"--count must be at least twice --batch ({args.batch}) and --repeat at least 1")
    if args.profile and importlib.util.find_spec("pyinstrument") is None:
        raise ConfigError("--profile needs pyinstrument: pip install -e '.[bench]'")

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    settings = ensure_cluster(progress=say)
    ensure_reachable(settings)
    config = BenchConfig(
        count=args.count,
        repeat=args.repeat,
        batch_size=args.batch,
        partitions=args.partitions,
        profile_dir=args.profile,
    )
    report = run_bench(settings, config, say)
    print(render_table(report))
    if args.json:
        args.json.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
        say(f"wrote {args.json}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "bench",
        help="throughput of the generated Order pipelines vs confluent-kafka's serde and bare clients",
        description="Produce and consume the same Order records with bare clients (floor), "
        "confluent-kafka's Avro serde (baseline) and the generated pipelines (ours), each on fresh "
        "topics; print medians, ratios and RSS growth. A measurement, not a test: it asserts no time.",
    )
    bench.add_argument("-n", "--count", type=int, default=500_000, help="records per phase (default 500000)")
    bench.add_argument(
        "-r", "--repeat", type=int, default=3, help="repetitions; medians are reported (default 3)"
    )
    bench.add_argument("--batch", type=int, default=500, help="consumer batch size (default 500)")
    bench.add_argument("--partitions", type=int, default=3, help="partitions of each topic (default 3)")
    bench.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    bench.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="after the timed repetitions, run our phases once more under pyinstrument and write its "
        "reports to DIR (needs the bench extra)",
    )
    bench.set_defaults(handler=_run)
