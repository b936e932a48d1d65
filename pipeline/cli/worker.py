"""``pipeline worker NAME``: a declared pipeline as a long-running service (:mod:`pipeline.app.worker`)."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from pipeline.cli.arguments import add_schemas_option, port_number, positive_int

__all__ = ["register"]

REPORT_SECONDS = 10.0


def _worker(args: argparse.Namespace) -> int:
    from pipeline.app.worker import WorkerStatus, lag_of, open_worker, report_line, serve_status
    from pipeline.errors import ConfigError
    from pipeline.schema import load_catalog
    from pipeline.stack.cluster import ensure_cluster, ensure_reachable

    catalog = load_catalog(args.schemas)
    try:
        spec = catalog.pipeline(args.name)
    except KeyError as exc:
        raise ConfigError(exc.args[0]) from None
    if args.workers > 1 and args.instance is None:
        return _supervise(args)
    instance = args.first_instance if args.instance is None else args.instance
    settings = ensure_cluster(progress=lambda msg: print(msg, file=sys.stderr))
    ensure_reachable(settings)
    loop = open_worker(settings, catalog, spec.name, instance)
    status = WorkerStatus(spec.name, instance, ready=lambda: bool(loop.assignment()))
    if args.metrics_port is not None:
        serve_status(status, args.metrics_port)

    caught: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        caught.append(signum)
        loop.stop()

    def report() -> None:
        """Metrics every second, a progress line every REPORT_SECONDS."""
        last_line = time.monotonic()
        while not done.wait(1.0):
            status.update(loop.stats)
            if time.monotonic() - last_line >= REPORT_SECONDS:
                last_line = time.monotonic()
                lag = lag_of(settings, spec)
                if lag is not None:
                    status.lag.labels(pipeline=spec.name, instance=str(instance)).set(lag)
                print(report_line(spec.name, instance, loop.stats, lag), file=sys.stderr, flush=True)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    done = threading.Event()
    mode = "exactly once" if spec.exactly_once else "at least once"
    print(
        f"pipeline {spec.name}[{instance}]: {spec.input} -> {spec.output or '(no output)'} in group "
        f"{spec.group}, {mode}",
        file=sys.stderr,
        flush=True,
    )
    status.alive = True
    reporter = threading.Thread(target=report, daemon=True)
    reporter.start()
    try:
        stats = loop.run(max_inputs=args.max_inputs, idle_timeout=args.idle_timeout)
    finally:
        status.alive = False
        done.set()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print(report_line(spec.name, instance, stats, lag_of(settings, spec)), file=sys.stderr, flush=True)
    return 128 + caught[0] if caught else 0


def _supervise(args: argparse.Namespace) -> int:
    """Start ``--workers`` processes of this command, one per instance; pass them SIGTERM or SIGINT;
    exit with the worst of their codes."""
    argv = [sys.executable, "-m", "pipeline.cli", "worker", args.name, "--schemas", str(args.schemas)]
    if args.max_inputs is not None:
        argv += ["--max-inputs", str(args.max_inputs)]
    if args.idle_timeout is not None:
        argv += ["--idle-timeout", str(args.idle_timeout)]
    first = args.first_instance
    children = []
    for i in range(args.workers):
        port = [] if args.metrics_port is None else ["--metrics-port", str(args.metrics_port + i)]
        children.append(subprocess.Popen([*argv, *port, "--instance", str(first + i)]))
    caught: list[int] = []

    def forward(signum: int, _frame: Any) -> None:
        caught.append(signum)
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        codes = [child.wait() for child in children]
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if caught:
        return 128 + caught[0]
    return max((code for code in codes if code >= 0), default=0) or (1 if any(c < 0 for c in codes) else 0)


def _instance(text: str) -> int:
    if not text.isdigit() or int(text) > 100_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a worker slot (0 to 100000)")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = sub.add_parser(
        "worker",
        help="run a declared pipeline ([pipelines.NAME] in the catalog) as a service",
        description="Run the declared pipeline NAME ([pipelines.NAME] in catalog.toml) as a long-running "
        "service: read its input topic in its consumer group, call its handler on each typed record and "
        "write what the handler returns to its output topic; with exactly_once, one Kafka transaction per "
        "batch holds the outputs, the dead letters and the input offsets (read them with "
        "isolation.level=read_committed). --workers N starts N processes in the group. SIGTERM or Ctrl-C: "
        "each worker finishes its batch, commits and exits (143 or 130). Each worker prints a JSON line "
        "every 10 s (inputs, outputs, dlq, aborted, lag) to stderr. Exit 0 when it stops by itself "
        "(--max-inputs, --idle-timeout); 1 when its transactions fail (e.g. fenced by another worker in "
        "its slot); 2 for a pipeline, handler or cluster problem.",
    )
    worker.add_argument("name", metavar="NAME", help="the pipeline, as declared in the catalog")
    worker.add_argument(
        "--workers", type=positive_int, default=1, help="processes to run in the pipeline's group (default 1)"
    )
    worker.add_argument(
        "--metrics-port",
        type=port_number,
        help="serve /metrics, /healthz and /readyz on this port (--workers N: worker i on this port + i)",
    )
    worker.add_argument(
        "--max-inputs", type=positive_int, help="stop after this many inputs (each worker); default: never"
    )
    worker.add_argument(
        "--idle-timeout", type=_seconds, help="stop after this many seconds without input; default: never"
    )
    worker.add_argument(
        "--first-instance",
        type=_instance,
        default=0,
        metavar="K",
        help="the first worker's slot (default 0); workers are K..K+N-1. Another machine in the same group "
        "takes other slots: two workers in one slot fence each other",
    )
    worker.add_argument("--instance", type=_instance, default=None, help=argparse.SUPPRESS)
    add_schemas_option(worker)
    worker.set_defaults(handler=_worker)
