"""``pipeline dlq inspect | replay``: read and re-drive dead-letter topics."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.catalog import load_catalog
from pipeline.cluster import ensure_cluster
from pipeline.dlq_tools import matches, read_entries, replay
from pipeline.errors import ConfigError, PipelineError
from pipeline.registry import RegistryClient

__all__ = ["register"]


def _dlq_topic(name: str, schemas: Path) -> str:
    """``name`` itself, or the dead-letter topic of the catalog topic called ``name``."""
    if (schemas / "catalog.toml").is_file():
        try:
            return load_catalog(schemas).topic(name).dlq
        except (KeyError, PipelineError):
            pass
    return name


def _filters(args: argparse.Namespace) -> dict[str, str]:
    filters: dict[str, str] = {}
    for item in args.filter or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(
                f"--filter {item!r}: expected FIELD=VALUE, e.g. error_class=SchemaMismatchError"
            )
        filters[key.replace("-", "_").replace(".", "_")] = value
    if args.error_class:
        filters["error_class"] = args.error_class
    if args.stage:
        filters["stage"] = args.stage
    return filters


def _inspect(args: argparse.Namespace) -> int:
    topic = _dlq_topic(args.topic, args.schemas)
    settings = ensure_cluster(progress=lambda msg: print(f"  {msg}", file=sys.stderr))
    filters = _filters(args)
    entries = sorted(
        (e for e in read_entries(settings, topic) if matches(e, filters)), key=lambda e: e.letter.time
    )
    if args.limit:
        entries = entries[-args.limit :]
    if args.format == "json":
        print(json.dumps([e.as_json() for e in entries], indent=2))
        return 0
    print(
        f"{topic}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
        + (f" matching {filters}" if filters else "")
    )
    header = f"{'time (UTC)':<20} {'source':<34} {'stage':<11} {'error':<22} message"
    print(header)
    print("-" * len(header))
    for e in entries:
        when = e.letter.time.strftime("%Y-%m-%d %H:%M:%S")
        message = " ".join(e.letter.error_message.split())
        if e.letter.field_path:
            message = f"[{e.letter.field_path}] {message}"
        print(f"{when:<20} {e.source:<34} {e.letter.stage:<11} {e.letter.error_class:<22} {message[:90]}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    topic = _dlq_topic(args.topic, args.schemas)
    settings = ensure_cluster(progress=lambda msg: print(f"  {msg}", file=sys.stderr))
    with RegistryClient(settings.registry) as registry:
        report = replay(
            settings,
            topic,
            registry,
            filters=_filters(args),
            dry_run=args.dry_run,
            reset=args.reset,
            say=(lambda msg: print(f"  {msg}")) if args.verbose or args.dry_run else (lambda _msg: None),
        )
    verb = "would re-drive" if args.dry_run else "re-drove"
    print(
        f"{topic}: read {report.read}, {verb} {report.replayed}, filtered out {report.filtered_out}, "
        f"still invalid {len(report.still_invalid)} (replay group {report.group})"
    )
    for problem in report.still_invalid:
        print(f"  still invalid: {problem}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dlq = sub.add_parser("dlq", help="inspect and replay dead-letter topics")
    dlq_sub = dlq.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("topic", help="a dead-letter topic, or a catalog topic (its DLQ is used)")
    common.add_argument("--schemas", type=Path, default=Path("schemas"), help="the catalog folder")
    common.add_argument("--error-class", help="only entries with this error class")
    common.add_argument("--stage", choices=["serialize", "deserialize", "process"], help="only this stage")
    common.add_argument("--filter", action="append", metavar="FIELD=VALUE", help="envelope field filter")

    inspect = dlq_sub.add_parser("inspect", parents=[common], help="a table of the DLQ's entries")
    inspect.add_argument("--format", choices=["table", "json"], default="table")
    inspect.add_argument("--limit", type=int, help="only the last N entries")
    inspect.set_defaults(handler=_inspect)

    rep = dlq_sub.add_parser("replay", parents=[common], help="re-drive entries to their original topics")
    rep.add_argument("--dry-run", action="store_true", help="say what would be re-driven; change nothing")
    rep.add_argument("--reset", action="store_true", help="start again from the DLQ's beginning")
    rep.add_argument("-v", "--verbose", action="store_true", help="one line per entry")
    rep.set_defaults(handler=_replay)
