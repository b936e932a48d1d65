"""The ``pipeline`` command line. Each concept's module contributes its subcommands through a
``register(subparsers)`` function; this module only wires them and turns PipelineErrors into a clear
message and an exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from pipeline.errors import (
    ClusterUnavailableError,
    ConfigError,
    PipelineError,
    RegistryUnavailableError,
    StackError,
)

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


def _stack_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pipeline.stack import cli as stack_cli

    stack_cli.register(sub)


def _schemas_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pipeline import schemas_cli

    schemas_cli.register(sub)


def _generate_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pipeline.codegen import cli as codegen_cli

    codegen_cli.register(sub)


def _run_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pipeline import run

    run.register(sub)


def _dlq_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pipeline import dlq_cli

    dlq_cli.register(sub)


def _compat_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pipeline.compat import cli as compat_cli

    compat_cli.register(sub)


def _bench_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pipeline.bench import cli as bench_cli

    bench_cli.register(sub)


_REGISTRARS = [
    _run_commands,
    _dlq_commands,
    _generate_commands,
    _stack_commands,
    _schemas_commands,
    _compat_commands,
    _bench_commands,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipeline",
        description="Schema-first Avro event pipelines for Apache Kafka: the embedded stack, the schema "
        "catalog and its compatibility gate, typed pipelines, the main job and the dead-letter queue.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for registrar in _REGISTRARS:
        registrar(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (RegistryUnavailableError, ClusterUnavailableError, StackError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
