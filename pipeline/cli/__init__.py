"""The ``pipeline`` command line: every argparse parser and every line printed to the user live in this
package, one module per command (each adds its subcommands in ``register(subparsers)``); this module
wires them and turns PipelineErrors into a clear message and an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pipeline.errors import (
    ClusterUnavailableError,
    ConfigError,
    PipelineError,
    RegistryUnavailableError,
    StackError,
)

__all__ = ["Terminated", "build_parser", "main", "start_logging"]

Handler = Callable[[argparse.Namespace], int]


def _commands() -> list[Any]:
    """The modules that add subcommands, in the order ``--help`` lists them (imported when needed)."""
    from pipeline.cli import bench, compat, dlq, generate, run, schemas, stack, worker

    return [run, worker, dlq, generate, stack, schemas, compat, bench]


def _version() -> str:
    try:
        return version("avro-pipeline")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipeline",
        description="Schema-first Avro event pipelines for Apache Kafka: the embedded stack, the schema "
        "catalog and its compatibility gate, typed pipelines, the main job and the dead-letter queue.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in _commands():
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Exit codes: 0 done; 1 invalid input, an incompatibility or a failed check; 2 a
    usage error, bad configuration, or a service unreachable or failing; 3 a bug (details in the log
    file); 130 interrupted (SIGINT); 143 terminated (SIGTERM)."""
    # Schemas may nest MAX_NESTING types deep, a few Python frames each in the recursive steps.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 6000))
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    log_file = start_logging()
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143
    except (RegistryUnavailableError, ClusterUnavailableError, StackError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        logging.getLogger("pipeline").exception("pipeline %s failed unexpectedly", args.command)
        print(
            f"error: this is a bug in pipeline ({type(exc).__name__} in `pipeline {args.command}`); "
            f"details in {log_file}",
            file=sys.stderr,
        )
        return 3
    finally:
        signal.signal(signal.SIGTERM, previous)


class Terminated(BaseException):
    """SIGTERM, raised where the command is, so that it unwinds (and cleans up) as for Ctrl-C."""


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated


def start_logging() -> Path:
    """Send the package's log (librdkafka's lines included) to a file, never to the terminal; the file
    is ``$PIPELINE_LOG_FILE``, else ``$XDG_STATE_HOME/avro-pipeline/pipeline.log``."""
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    path = Path(os.environ.get("PIPELINE_LOG_FILE") or state / "avro-pipeline" / "pipeline.log")
    logger = logging.getLogger("pipeline")
    logger.setLevel(logging.INFO)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        path = Path(tempfile.gettempdir()) / f"avro-pipeline-{os.getuid()}.log"
        handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"))
    logger.handlers = [h for h in logger.handlers if not isinstance(h, logging.FileHandler)] + [handler]
    return path


if __name__ == "__main__":
    sys.exit(main())
