"""``pipeline schemas validate | check | register`` and ``pipeline bootstrap``.

Exit codes: 0 done; 1 the catalog is invalid, a schema is incompatible or a topic's partition count
differs from the catalog's; 2 the registry or the cluster cannot be reached (mapped in pipeline.cli).
``check`` (the compatibility gate, :mod:`pipeline.gate`) also exits 2 when the git history cannot be
read, the registry fails or cannot judge a subject, or the options make no sense.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from confluent_kafka.admin import AdminClient

from pipeline.cli.arguments import add_schemas_option
from pipeline.config import Settings, librdkafka_config
from pipeline.errors import HistoryError, RegistryError
from pipeline.gate import FORMATS, GateReport, check_against_git, check_against_registry, format_failure
from pipeline.kafka.topics import TopicReport, TopicStatus, ensure_topics
from pipeline.registry.client import RegistryClient
from pipeline.registry.register import RegistrationReport, Status, register_schemas
from pipeline.schema import Catalog, check_catalog, read_sources
from pipeline.schema.lint import Diagnostic
from pipeline.stack.cluster import ensure_cluster

__all__ = ["format_registration", "format_topics", "register"]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [headers, *rows]]  # fmt: skip
    return "\n".join(lines)


def format_registration(
    report: RegistrationReport, explained: Mapping[str, Sequence[str]] | None = None
) -> str:
    """The summary table (subject, version, schema id, level, status) and what happened; an
    incompatible subject's reasons are ``explained``'s sentences for it when it has them (the checker's,
    naming file and line), else the registry's own."""
    rows = []
    for result in report.results:
        level = str(result.spec.compatibility)
        if result.level_changed:
            level = f"{result.previous_level or 'unset'} -> {level}"
        rows.append(
            [
                result.subject,
                str(result.version) if result.version is not None else "-",
                str(result.schema_id) if result.schema_id is not None else "-",
                level,
                str(result.status),
            ]
        )
    out = [_table(["SUBJECT", "VERSION", "SCHEMA ID", "LEVEL", "STATUS"], rows), ""]
    for result in report.incompatible:
        against = f" with version {result.compared_with}" if result.compared_with is not None else ""
        out.append(
            f"{result.subject} ({result.spec.path}) is not {result.spec.compatibility}-compatible{against}:"
        )
        reasons = (explained or {}).get(result.subject) or result.reasons
        out.extend(f"  - {reason}" for reason in reasons)
    counts = {status: sum(r.status is status for r in report.results) for status in Status}
    total = len(report.results)
    if report.incompatible:
        out.append("nothing was registered and no compatibility level was changed.")
    elif counts[Status.UNCHANGED] == total and not any(r.level_changed for r in report.results):
        out.append(f"all {total} subjects unchanged.")
    else:
        verb = "would register" if report.dry_run else "registered"
        out.append(f"{verb} {counts[Status.NEW]} of {total} subjects; {counts[Status.UNCHANGED]} unchanged.")
    if report.dry_run:
        out.append("dry run: the registry was not changed.")
    return "\n".join(out)


def format_topics(report: TopicReport) -> str:
    """The topic table and what happened."""
    rows = []
    for result in report.results:
        status = str(result.status)
        if result.status is TopicStatus.MISMATCH:
            status += f": the cluster has {result.actual_partitions}, the catalog says {result.partitions}"
        elif result.status is TopicStatus.ABSENT:
            status += " (would be created)"
        rows.append([result.topic, str(result.partitions), result.dlq_of or "", status])
    out = [_table(["TOPIC", "PARTITIONS", "DLQ OF", "STATUS"], rows)]
    if report.mismatches:
        out.append(
            "partition counts differ: change the catalog, or recreate the topic deliberately; "
            "the bootstrap never alters an existing topic's partitions (it would reorder keys)."
        )
    return "\n".join(out)


def _print_diagnostics(problems: Sequence[Diagnostic], root: Path) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)
    lint = sum(p.lint for p in problems)
    detail = f" ({lint} from lint, which [lint] in catalog.toml can switch off)" if lint else ""
    print(f"{root}: {len(problems)} problem(s){detail}", file=sys.stderr)


def _load(root: Path) -> Catalog | None:
    catalog, problems = check_catalog(read_sources(root))
    if catalog is None:
        _print_diagnostics(problems, root)
    return catalog


def _settings() -> Settings:
    return ensure_cluster(progress=lambda msg: print(f"  {msg}", file=sys.stderr))


def _register_step(catalog: Catalog, settings: Settings, dry_run: bool) -> RegistrationReport:
    with RegistryClient(settings.registry) as registry:
        report = register_schemas(catalog, registry, dry_run=dry_run)
        print(f"registry: {registry.url} ({registry.server})")
        explained: dict[str, list[str]] = {}
        if report.incompatible:  # the checker's sentences, with file and line, not the registry's text
            gate = check_against_registry(catalog, read_sources(catalog.root), registry)
            explained = {
                v.subject: [f"{v.file}:{p.line}: {p.message}" if p.line else p.message for p in v.problems]
                for v in gate.verdicts
                if v.problems
            }
    print(format_registration(report, explained))
    return report


def _validate(args: argparse.Namespace) -> int:
    catalog = _load(args.schemas)
    if catalog is None:
        return 1
    print(
        f"{args.schemas}: valid: {len(catalog.types)} types, {len(catalog.topics)} topics, "
        f"{len(catalog.subjects)} subjects ({catalog.references} references)"
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    if args.base is not None and args.against == "registry":
        print("error: --base applies to --against git only", file=sys.stderr)
        return 2
    if not args.schemas.is_dir():
        print(f"error: {args.schemas}: no such schema directory (see --schemas)", file=sys.stderr)
        return 2
    sources = read_sources(args.schemas)
    catalog, problems = check_catalog(sources)
    if catalog is None:
        _print_diagnostics(problems, args.schemas)
        return 1
    report: GateReport
    try:
        if args.against == "git":
            report = check_against_git(catalog, sources, args.base)
        else:
            with RegistryClient(_settings().registry) as registry:
                report = check_against_registry(catalog, sources, registry)
    except (HistoryError, RegistryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        if args.format != "table":  # tools read stdout: the failure goes there too, in their format
            print(format_failure(args.format, str(exc)))
        return 2
    print(FORMATS[args.format](report))
    return report.exit_code


def _register(args: argparse.Namespace) -> int:
    catalog = _load(args.schemas)
    if catalog is None:
        return 1
    report = _register_step(catalog, _settings(), args.dry_run)
    return 0 if report.ok else 1


def _bootstrap(args: argparse.Namespace) -> int:
    catalog = _load(args.schemas)
    if catalog is None:
        return 1
    settings = _settings()
    report = _register_step(catalog, settings, args.dry_run)
    if not report.ok:
        print("topics were not touched.")
        return 1
    print()
    topics = ensure_topics(catalog, AdminClient(librdkafka_config(settings.kafka)), dry_run=args.dry_run)
    print(format_topics(topics))
    return 0 if topics.ok else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    add_schemas_option(common, old="--catalog")
    dry = argparse.ArgumentParser(add_help=False)
    dry.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")

    schemas = sub.add_parser(
        "schemas",
        help="validate and register the schema catalog",
        description="The schema catalog (catalog.toml and one .avsc file per named type): validate it, "
        "judge its changes against their history, and register it with the Schema Registry.",
    )
    schemas_sub = schemas.add_subparsers(dest="schemas_command", required=True, metavar="ACTION")
    validate = schemas_sub.add_parser(
        "validate",
        parents=[common],
        help="check every .avsc file and catalog.toml (exit 1 on any problem)",
        description="Check every .avsc file and catalog.toml strictly, printing each problem as "
        "file:line: path: message. Exit 0 when the catalog is valid, 1 on any problem.",
    )
    validate.set_defaults(handler=_validate)
    check = schemas_sub.add_parser(
        "check",
        parents=[common],
        help="the compatibility gate: each schema against its git history or the registry "
        "(exit 0 compatible, 1 incompatible, 2 cannot tell)",
        description="Judge each catalog subject's working-tree schema against its earlier versions at the "
        "subject's level, with Confluent Schema Registry's rules: by default the distinct versions "
        "committed on the first-parent history of --base (renames followed); with --against registry, "
        "the registered versions, asking the registry's own endpoint too (a disagreement fails). "
        "Exit 0: all compatible; 1: incompatible, invalid or a disagreement; 2: usage error, unreadable "
        "history (e.g. a shallow clone), or the registry failed or could not judge.",
    )
    check.add_argument(
        "--against",
        choices=["git", "registry"],
        default="git",
        help="git: earlier versions from the git history (default, no registry needed); registry: the "
        "registered versions, asking the registry too",
    )
    check.add_argument("--format", choices=sorted(FORMATS), default="table", help="output (default: table)")
    check.add_argument(
        "--base",
        metavar="REV",
        help="with --against git: the history up to REV (default HEAD; e.g. origin/main on a branch)",
    )
    check.set_defaults(handler=_check)
    reg = schemas_sub.add_parser(
        "register",
        parents=[common, dry],
        help="register every subject, or none if any is incompatible; set compatibility levels",
        description="Register every subject of the catalog, shared types first and referenced, and set "
        "each subject's compatibility level; if any subject is incompatible, nothing is registered. "
        "Exit 0 done, 1 invalid or incompatible, 2 the registry cannot be reached.",
    )
    reg.set_defaults(handler=_register)

    boot = sub.add_parser(
        "bootstrap",
        parents=[common, dry],
        help="register the schemas, then create topics and DLQ topics",
        description="Register the catalog's schemas as 'schemas register' does, then create every "
        "catalog topic and its dead-letter topic with the catalog's partitions; an existing topic's "
        "partitions are never changed. Exit 0 done, 1 invalid, incompatible or a partition count that "
        "differs, 2 the registry or the cluster cannot be reached.",
    )
    boot.set_defaults(handler=_bootstrap)
