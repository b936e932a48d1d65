"""``pipeline dlq inspect | replay``: read and re-drive dead-letter topics."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

from pipeline.cli.arguments import SCHEMAS, add_schemas_option, positive_int
from pipeline.dlq.envelope import PREFIX, envelope_field
from pipeline.dlq.tools import DlqEntry, ReplayReport, matches, read_entries, replay
from pipeline.errors import ConfigError
from pipeline.registry.client import RegistryClient
from pipeline.schema import load_catalog
from pipeline.stack.cluster import ensure_cluster

__all__ = ["filter_item", "register", "replay_summary", "shorten", "table_row"]

MESSAGE_WIDTH = 90
TABLE_HEADER = f"{'time (UTC)':<20} {'source':<34} {'stage':<11} {'error':<22} message"


def _dlq_topic(name: str, schemas: Path | None) -> str:
    """``name`` itself, or the dead-letter topic of the catalog topic called ``name``. Without
    ``--schemas`` the catalog in ``schemas/`` is used if there is one; a folder named with ``--schemas``
    must hold a valid catalog (SchemaValidationError or ConfigError naming it otherwise)."""
    if schemas is None:
        if not (SCHEMAS / "catalog.toml").is_file():
            return name
        schemas = SCHEMAS
    if not schemas.is_dir():
        raise ConfigError(f"--schemas {schemas}: no such schema folder")
    try:
        return load_catalog(schemas).topic(name).dlq
    except KeyError:
        return name  # not a catalog topic: a dead-letter topic's own name


def filter_item(text: str) -> tuple[str, str]:
    """``--filter NAME=VALUE``: the envelope field a dead-letter header names, and the value."""
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not NAME=VALUE, e.g. dlq.error.class=SchemaMismatchError"
        )
    try:
        return envelope_field(name), value
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _filters(args: argparse.Namespace) -> dict[str, str]:
    filters = dict(args.filter or [])
    if args.error_class:
        filters["error_class"] = args.error_class
    if args.stage:
        filters["stage"] = args.stage
    return filters


def _described(filters: dict[str, str]) -> str:
    return " ".join(f"{PREFIX}{name.replace('_', '.')}={value}" for name, value in filters.items())


def shorten(text: str, width: int = MESSAGE_WIDTH) -> str:
    """``text`` on one line and at most ``width`` characters, ending in an ellipsis when cut."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def table_row(entry: DlqEntry) -> str:
    letter = entry.letter
    when = letter.time.strftime("%Y-%m-%d %H:%M:%S")
    message = f"[{letter.field_path}] {letter.error_message}" if letter.field_path else letter.error_message
    return f"{when:<20} {entry.source:<34} {letter.stage:<11} {letter.error_class:<22} {shorten(message)}"


def _print_table(entries: Iterator[DlqEntry]) -> int:
    count = 0
    for entry in entries:
        if count == 0:
            print(TABLE_HEADER)
            print("-" * len(TABLE_HEADER))
        print(table_row(entry))
        count += 1
    return count


def _print_json(entries: Iterator[DlqEntry]) -> int:
    """One JSON array, written entry by entry."""
    count = 0
    for entry in entries:
        body = textwrap.indent(json.dumps(entry.as_json(), indent=2), "  ")
        print(("[\n" if count == 0 else ",\n") + body, end="")
        count += 1
    print("\n]" if count else "[]")
    return count


def _inspect(args: argparse.Namespace) -> int:
    topic = _dlq_topic(args.topic, args.schemas)
    filters = _filters(args)
    settings = ensure_cluster(progress=lambda msg: print(f"  {msg}", file=sys.stderr))
    with contextlib.closing(read_entries(settings, topic)) as entries:
        chosen = itertools.islice((e for e in entries if matches(e, filters)), args.limit)
        count = (_print_json if args.format == "json" else _print_table)(chosen)
    if args.format == "table":
        print(
            f"{topic}: {count} entr{'y' if count == 1 else 'ies'}"
            + (f" matching {_described(filters)}" if filters else "")
            + (f" (--limit {args.limit}: reading stopped there)" if count == args.limit else "")
        )
    return 0


def replay_summary(topic: str, report: ReplayReport, *, dry_run: bool, verbose: bool) -> list[str]:
    """What ``replay`` prints at the end: totals, counts by outcome, stage and error class, and (without
    ``-v``, which has listed every entry) a few example lines."""
    verb = "would re-drive" if dry_run else "re-drove"
    lines = [
        f"{topic}: read {report.read}, {verb} {report.replayed}, still invalid {report.still_invalid}, "
        f"filtered out {report.filtered_out} (replay group {report.group})"
    ]
    if report.earlier:
        lines.append(f"  skipped {report.earlier} entries an earlier replay handled")
    if report.not_dead_letters:
        lines.append(f"  skipped {report.not_dead_letters} messages that are not dead letters")
    for (outcome, stage, error_class), count in sorted(report.kinds.items()):
        label = verb if outcome == "re-drive" else outcome
        lines.append(f"  {label} {count}: stage {stage}, {error_class}")
    if not verbose:
        for _outcome, examples in sorted(report.examples.items()):
            lines.extend(f"  e.g. {line}" for line in examples)
        if report.replayed + report.still_invalid > sum(len(e) for e in report.examples.values()):
            lines.append("  (-v lists every entry)")
    lines.extend(f"  {stop}" for stop in report.stopped)
    if report.still_invalid:
        lines.append("  still-invalid entries are not committed past: the next replay tries them again")
    return lines


def _replay(args: argparse.Namespace) -> int:
    topic = _dlq_topic(args.topic, args.schemas)
    filters = _filters(args)
    settings = ensure_cluster(progress=lambda msg: print(f"  {msg}", file=sys.stderr))
    with RegistryClient(settings.registry) as registry:
        report = replay(
            settings,
            topic,
            registry,
            filters=filters,
            dry_run=args.dry_run,
            reset=args.reset,
            say=(lambda line: print(f"  {line}")) if args.verbose else (lambda _line: None),
        )
    print("\n".join(replay_summary(topic, report, dry_run=args.dry_run, verbose=args.verbose)))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dlq = sub.add_parser(
        "dlq",
        help="inspect and replay dead-letter topics",
        description="Read dead-letter topics (what was rejected, where it came from and why) and re-drive "
        "their entries to the topics they came from.",
    )
    dlq_sub = dlq.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("topic", help="a dead-letter topic, or a catalog topic (its DLQ is used)")
    add_schemas_option(
        common,
        help="the schema folder whose catalog names the topics (default: schemas, if present)",
        default=None,
    )
    common.add_argument("--error-class", help="only entries with this error class")
    common.add_argument("--stage", choices=["serialize", "deserialize", "process"], help="only this stage")
    common.add_argument(
        "--filter",
        action="append",
        type=filter_item,
        metavar="NAME=VALUE",
        help="only entries whose dlq.* header NAME (e.g. dlq.field.path, or field_path) is VALUE",
    )

    inspect = dlq_sub.add_parser(
        "inspect",
        parents=[common],
        help="a table of the DLQ's entries",
        description="Print a dead-letter topic's entries, oldest first, as a table (time, source position, "
        "stage, error and message) or as JSON; the filters keep only the entries that match.",
    )
    inspect.add_argument("--format", choices=["table", "json"], default="table")
    inspect.add_argument(
        "--limit", type=positive_int, metavar="N", help="only the first N entries (reading stops there)"
    )
    inspect.set_defaults(handler=_inspect)

    rep = dlq_sub.add_parser(
        "replay",
        parents=[common],
        help="re-drive entries to their original topics",
        description="Send a dead-letter topic's entries back to their original topics with their original "
        "key, bytes and headers; entries kept as JSON are re-encoded if they now fit the subject's latest "
        "schema and reported as still invalid otherwise. A replay remembers how far it got (one consumer "
        "group per topic and filter), so running it again re-drives nothing new; --reset starts over.",
    )
    rep.add_argument("--dry-run", action="store_true", help="say what would be re-driven; change nothing")
    rep.add_argument("--reset", action="store_true", help="start again from the DLQ's beginning")
    rep.add_argument("-v", "--verbose", action="store_true", help="one line per entry, not a summary")
    rep.set_defaults(handler=_replay)
