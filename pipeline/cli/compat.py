"""``pipeline compat NEW.avsc PREV.avsc [PREV2.avsc ...] --level LEVEL [--schemas DIR]``.

Exit status: 0 compatible, 1 incompatible (one explanation per line on stdout), 2 bad input (a file
that cannot be read, is not JSON or is not a valid Avro schema; the message names it)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.avro.parsing import parse_schema
from pipeline.cli.arguments import add_schemas_option
from pipeline.cli.schema_files import SchemaDirectory, read_schema_file
from pipeline.compat.checker import check
from pipeline.compat.levels import Level
from pipeline.errors import ConfigError, SchemaLoadError

__all__ = ["register"]


def _level(value: str) -> Level:
    try:
        return Level.parse(value)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _load(args: argparse.Namespace) -> tuple[Any, list[Any], Mapping[str, Any]]:
    """Read and validate every file, so that an error names the file it is about."""
    named: Mapping[str, Any] = SchemaDirectory(args.schemas) if args.schemas else {}
    new = read_schema_file(args.new)
    parse_schema(new, named_types=named, validate_defaults=True, what=str(args.new))
    previous = []
    for number, path in enumerate(args.previous, start=1):
        schema = read_schema_file(path)
        parse_schema(schema, named_types=named, validate_defaults=False, what=f"{path} (version {number})")
        previous.append(schema)
    return new, previous, named


def _compat(args: argparse.Namespace) -> int:
    try:
        new, previous, named = _load(args)
    except SchemaLoadError as exc:
        hint = ""
        if args.schemas is None and "unknown type" in str(exc):
            hint = " (--schemas DIR reads named types from DIR/<full name>.avsc)"
        print(f"error: {exc}{hint}", file=sys.stderr)
        return 2
    result = check(new, previous, args.level, named_types=named)
    legend = ", ".join(f"version {number} = {path}" for number, path in enumerate(args.previous, start=1))
    against = ", ".join(f"version {version}" for version in result.checked_versions) or "nothing"
    if result.compatible:
        print(f"compatible: {args.new} passes {result.level.value} against {against}")
        return 0
    for message in result.messages:
        print(message)
    print(
        f"incompatible: {args.new} fails {result.level.value} ({len(result.incompatibilities)} "
        f"problem(s); {legend})",
        file=sys.stderr,
    )
    return 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "compat",
        help="check a new Avro schema against previous versions (Confluent levels)",
        description="Check a new Avro schema file against previous versions of it at a compatibility "
        "level, with Confluent Schema Registry's rules. Exit 0 compatible; 1 incompatible, one "
        "explanation per line; 2 bad input (a file that cannot be read, is not JSON or is not a valid "
        "Avro schema; the message names it).",
    )
    parser.add_argument("new", type=Path, metavar="NEW.avsc", help="the candidate schema")
    parser.add_argument(
        "previous", type=Path, nargs="+", metavar="PREV.avsc", help="previous versions, oldest first"
    )
    parser.add_argument(
        "--level",
        type=_level,
        default=Level.BACKWARD,
        metavar="LEVEL",
        help=f"one of {', '.join(level.value for level in Level)} (default BACKWARD)",
    )
    add_schemas_option(
        parser,
        help="resolve the named types the schemas use from DIR/<full name>.avsc (e.g. schemas)",
        default=None,
        old="--schemas-dir",
    )
    parser.set_defaults(handler=_compat)
