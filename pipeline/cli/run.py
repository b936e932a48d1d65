"""``pipeline run`` (``make run-pipeline``): the main job's command line, its live display and its
summary (the job itself is :mod:`pipeline.app.run`)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from pipeline.app.run import Progress, RunSummary, run_pipeline
from pipeline.cli.arguments import (
    add_schemas_option,
    free_port,
    group_id,
    new_file,
    non_negative_rate,
    positive_int,
    share,
)

__all__ = ["register"]


def _print_summary(summary: RunSummary, console: Console) -> None:
    console.print()
    table = Table(title="summary", title_justify="left")
    for column in (
        "topic",
        "produced",
        "consumed",
        "dlq (rejected / consumer)",
        "lag",
        "earlier backlog",
        "holds",
    ):
        table.add_column(column, justify="right" if column != "topic" else "left")
    for name, s in summary.topics.items():
        dlq = f"{s.dlq:,} ({s.dlq_producer_side} / {s.dlq_consumer_side})"
        backlog = f"{s.backlog_processed + s.backlog_dlq:,}"
        table.add_row(
            name,
            f"{s.produced:,}",
            f"{s.consumed:,}",
            dlq,
            f"{s.lag:,}",
            backlog,
            "yes" if s.balanced else "NO",
        )
    console.print(table)
    console.print(
        f"{summary.produced:,} produced in {summary.seconds:.1f} s "
        f"({summary.produce_msgs_per_s:,.0f} msg/s), "
        f"{summary.consumed:,} consumed ({summary.consume_msgs_per_s:,.0f} msg/s); orders revenue "
        f"{summary.revenue}, by status {summary.by_status}"
    )
    if summary.transforms:
        stages = Table(title="transforms", title_justify="left")
        for column in (
            "pipeline",
            "input -> output",
            "mode",
            "inputs",
            "outputs",
            "dlq",
            "aborted",
            "lag",
            "holds",
        ):
            stages.add_column(
                column, justify="left" if column in ("pipeline", "input -> output", "mode") else "right"
            )
        for name, t in summary.transforms.items():
            stages.add_row(
                name,
                f"{t.input} -> {t.output or '-'}",
                "exactly once" if t.exactly_once else "at least once",
                f"{t.inputs:,}",
                f"{t.outputs:,}",
                f"{t.dlq:,}",
                f"{t.aborted:,}",
                f"{t.lag:,}",
                "yes" if t.balanced else "NO",
            )
        console.print(stages)
    verdict = "holds" if summary.balanced else "DOES NOT hold"
    stages_rule = "; per transform, lag 0" if summary.transforms else ""
    console.print(f"per topic, produced == consumed + dlq and lag 0{stages_rule}: {verdict}")
    for note in summary.notes:  # unwrapped: one sentence a line, whatever the terminal's width
        console.print(f"[bold]why:[/bold] {escape(note)}", highlight=False, soft_wrap=True)


def _table(progress: Progress) -> Table:
    table = Table(title=f"pipeline run {progress.run_id}", title_justify="left")
    for column in ("topic", "produced", "consumed", "dlq", "lag", "backlog", "produce/s", "elapsed"):
        table.add_column(column, justify="right" if column != "topic" else "left")
    for name, s in progress.topics.items():
        table.add_row(
            name,
            f"{s.produced:,}",
            f"{s.consumed:,}",
            f"{s.dlq_producer_side + s.dlq_consumer_side:,}",
            f"{s.lag:,}",
            f"{s.backlog_processed + s.backlog_dlq:,}",
            f"{progress.produce_rates[name]:,.0f}",
            f"{progress.elapsed:.1f} s",
        )
    return table


def _run(args: argparse.Namespace) -> int:
    console = Console()
    stop = threading.Event()
    caught: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        if caught:  # the second signal: leave now
            os._exit(128 + signum)
        caught.append(signum)
        stop.set()
        console.print(
            f"{signal.Signals(signum).name}: stopping: producers stop, consumers drain; again to quit now"
        )

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Live(console=console, refresh_per_second=4, transient=False) as live:
            summary = run_pipeline(
                args.count,
                rate=args.rate,
                seed=args.seed,
                poison_rate=args.poison_rate,
                group=args.group,
                schemas=args.schemas,
                metrics_port=args.metrics_port,
                say=console.print,
                on_progress=lambda progress: live.update(_table(progress)),
                stop=stop,
            )
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    _print_summary(summary, console)
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary.as_json(), indent=2) + "\n")
    if caught:
        return 128 + caught[0]
    return 0 if summary.balanced else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run",
        help="the main job: generate, produce, consume and summarise records for every catalog topic",
        description="The main job on the real stack: bootstrap the catalog, then for every topic produce "
        "realistic records through its generated producer and consume them through its generated consumer, "
        "with a live display and a per-topic summary. Exit 0 when every topic balances "
        "(produced == consumed + dlq, lag 0), 1 otherwise.",
    )
    run.add_argument(
        "-n", "--count", type=positive_int, default=10000, help="records per topic (default 10000)"
    )
    run.add_argument(
        "--rate",
        type=non_negative_rate,
        default=0.0,
        help="records per second per topic; 0 = as fast as possible",
    )
    run.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    run.add_argument(
        "--poison-rate",
        type=share,
        default=0.001,
        help="share of deliberately invalid records (default 0.001)",
    )
    run.add_argument(
        "--group", type=group_id, default="pipeline-run", help="consumer group (default pipeline-run)"
    )
    add_schemas_option(run)
    run.add_argument("--metrics-port", type=free_port, help="serve Prometheus metrics on this port")
    run.add_argument("--summary-json", type=new_file, help="also write the summary as JSON to this file")
    run.set_defaults(handler=_run)
