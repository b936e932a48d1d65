"""From files to a :class:`~pipeline.schema.catalog.Catalog`: read the directory (the only I/O here),
validate the ``.avsc`` files and ``catalog.toml`` together, then derive types, subjects and topics."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.compat import Level
from pipeline.errors import SchemaLoadError, SchemaValidationError
from pipeline.schema.catalog import (
    PLAIN_KEY_TYPES,
    Catalog,
    NamedType,
    PipelineSpec,
    ReferenceMode,
    SchemaReference,
    SubjectSpec,
    TopicSpec,
    canonical_json,
    compose,
    subject_name,
)
from pipeline.schema.catalog_toml import CatalogConfig, TopicConfig, catalog_diagnostic, parse_config
from pipeline.schema.lint import Diagnostic, LintOptions, SchemaDocument, validate_files

__all__ = [
    "CATALOG_FILE",
    "CatalogSources",
    "build_catalog",
    "check_catalog",
    "dependency_order",
    "load_catalog",
    "read_sources",
]

CATALOG_FILE = "catalog.toml"


@dataclass(frozen=True)
class CatalogSources:
    """The texts of a catalog directory: ``catalog.toml`` and every ``*.avsc`` (display path -> text),
    and the paths of schema files the catalog would not read (``stray``: in a subfolder, or ending in
    ``.AVSC`` or another casing)."""

    root: Path
    catalog_file: str
    catalog_text: str
    files: Mapping[str, str]
    stray: tuple[str, ...] = ()


def read_sources(root: Path | str = "schemas") -> CatalogSources:
    """Read ``root/catalog.toml`` and ``root/*.avsc``, and list the stray schema files. Raises
    SchemaLoadError when the directory, the catalog file or a schema file cannot be read as UTF-8 text."""
    root = Path(root)
    if not root.is_dir():
        raise SchemaLoadError(f"{root}: no such schema directory (expected {root}/{CATALOG_FILE} and *.avsc)")
    catalog_path = root / CATALOG_FILE
    files = {str(path): _read(path) for path in sorted(root.glob("*.avsc"))}
    return CatalogSources(root, str(catalog_path), _read(catalog_path), files, _stray_files(root))


def _stray_files(root: Path) -> tuple[str, ...]:
    """Files under ``root`` that look like schema files but are not ``root/*.avsc``."""
    found = []
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if path.suffix.lower() == ".avsc" and not (path.parent == root and path.suffix == ".avsc"):
                found.append(str(path))
    return tuple(sorted(found))


def _stray_problem(root: Path, path: str) -> Diagnostic:
    """The stray schema file ``path`` is an error: the catalog would go without it, silently."""
    stray = Path(path)
    if stray.parent != root:
        rule, fix = (
            f"schema files are read from the top of {root} only",
            f"move it to {root / stray.stem}.avsc",
        )
    else:
        rule, fix = "a schema file's name ends in .avsc, in lower case", f"rename it to {stray.stem}.avsc"
    return Diagnostic(path, None, "", f"not read ({rule}); {fix} or delete it")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SchemaLoadError(f"{path}: not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaLoadError(f"{path}: cannot read as UTF-8 text: {exc}") from exc


def load_catalog(root: Path | str = "schemas") -> Catalog:
    """Read, validate and build the catalog in ``root``. Raises SchemaLoadError (unreadable) or
    SchemaValidationError (carrying every diagnostic)."""
    return build_catalog(read_sources(root))


def build_catalog(sources: CatalogSources) -> Catalog:
    """Validate ``sources`` and build the catalog; SchemaValidationError lists every problem."""
    catalog, diagnostics = check_catalog(sources)
    if catalog is None:
        raise SchemaValidationError(diagnostics)
    return catalog


def check_catalog(sources: CatalogSources) -> tuple[Catalog | None, tuple[Diagnostic, ...]]:
    """Every problem in ``sources`` (schema files, catalog file, and how they fit together), and the
    catalog when there are none. Lint findings count as problems while the catalog enables them."""
    config, config_problems = parse_config(sources.catalog_text, sources.catalog_file)
    result = validate_files(sources.files, config.lint if config else LintOptions())
    strays = [_stray_problem(sources.root, path) for path in sources.stray]
    problems = [*strays, *result.diagnostics, *config_problems]
    if config is None:
        return None, tuple(problems)
    builder = _Builder(sources, config, result.documents)
    problems.extend(builder.check_names())
    if problems:
        return None, tuple(problems)
    catalog = builder.build()
    problems.extend(builder.problems)
    return (None if problems else catalog), tuple(problems)


def dependency_order(uses: Mapping[str, Sequence[str]]) -> list[str]:
    """Names ordered so that each comes after every name it uses (ties by name). Names that take
    part in a cycle are left out."""
    remaining = {name: {u for u in used if u in uses} for name, used in uses.items()}
    order: list[str] = []
    ready = sorted(name for name, used in remaining.items() if not used)
    while ready:
        name = ready.pop(0)
        order.append(name)
        del remaining[name]
        freed = [other for other, used in remaining.items() if name in used and len(used) == 1]
        for other in remaining.values():
            other.discard(name)
        ready = sorted({*ready, *freed})
    return order


class _Builder:
    def __init__(
        self, sources: CatalogSources, config: CatalogConfig, docs: Mapping[str, SchemaDocument]
    ) -> None:
        self.sources = sources
        self.config = config
        self.docs = docs
        self.problems: list[Diagnostic] = []
        self.file_types = {Path(name).name.removesuffix(".avsc") for name in sources.files}
        order = dependency_order({name: doc.uses for name, doc in docs.items()})
        self.types = {
            name: NamedType(
                name, Path(docs[name].file), docs[name].value, docs[name].defines, docs[name].uses
            )
            for name in order
        }

    def report(self, table: tuple[str, ...], key: str | None, message: str) -> None:
        sources = self.sources
        self.problems.append(
            catalog_diagnostic(sources.catalog_file, sources.catalog_text, table, key, message)
        )

    def check_names(self) -> list[Diagnostic]:
        """Types named in the catalog exist as files."""
        for topic in self.config.topics:
            wanted = [("value", value) for value in topic.values]
            if topic.key not in PLAIN_KEY_TYPES:
                wanted.append(("key", topic.key))
            for role, name in wanted:
                if name not in self.file_types:
                    self.report(("topics", topic.name), role, f"no schema file {name}.avsc for this {role}")
        for name in self.config.type_compatibility:
            if name not in self.file_types:
                self.report(("types", name), None, f"no schema file {name}.avsc for this type")
        return self.problems

    def build(self) -> Catalog:
        subjects: dict[str, SubjectSpec] = {}
        owners: dict[str, tuple[str, ...]] = {}
        topics: list[TopicSpec] = []
        for topic in self.config.topics:
            value, *more = (self.subject(topic, "value", v, topic.compatibility) for v in topic.values)
            key = None
            if topic.key not in PLAIN_KEY_TYPES:
                key = self.subject(topic, "key", topic.key, topic.key_compatibility)
            for role, spec in (("value", value), *(("value", m) for m in more), ("key", key)):
                if spec is not None:
                    self.add(subjects, owners, spec, ("topics", topic.name), role)
            topics.append(
                TopicSpec(
                    topic.name,
                    topic.partitions,
                    topic.replication_factor,
                    topic.dlq,
                    topic.strategy,
                    topic.key,
                    key,
                    value,
                    tuple(more),
                )
            )
        shared: list[SubjectSpec] = []
        if self.config.references is ReferenceMode.SUBJECTS:
            needed = {used.full_name for spec in subjects.values() for used in spec.uses}
            for name in (n for n in self.types if n in needed):
                level = self.config.type_compatibility.get(name, self.config.default_compatibility)
                spec = self.spec(name, name, level)
                self.add(subjects, owners, spec, ("types", name), None)
                shared.append(subjects[name])
            self.check_levels(subjects, owners)
        first = {spec.subject for spec in shared}
        order = [*shared, *(spec for spec in subjects.values() if spec.subject not in first)]
        return Catalog(
            self.sources.root,
            self.config.references,
            self.config.lint,
            self.types,
            tuple(order),
            tuple(topics),
            tuple(PipelineSpec(**dataclasses.asdict(p)) for p in self.config.pipelines),
        )

    def subject(self, topic: TopicConfig, role: str, full_name: str, level: Level) -> SubjectSpec:
        return self.spec(subject_name(topic.strategy, topic.name, role, full_name), full_name, level)

    def spec(self, subject: str, full_name: str, level: Level) -> SubjectSpec:
        named = self.types[full_name]
        by_reference = self.config.references is ReferenceMode.SUBJECTS
        schema, kept = compose(self.types, full_name, keep=lambda _name: by_reference)
        resolved, _ = compose(self.types, full_name, keep=lambda _name: False)
        closure: set[str] = set()
        pending = list(named.references)
        while pending:
            name = pending.pop()
            if name not in closure:
                closure.add(name)
                pending.extend(self.types[name].references)
        return SubjectSpec(
            subject=subject,
            full_name=full_name,
            path=named.path,
            compatibility=level,
            text=canonical_json(schema),
            references=tuple(SchemaReference(name, name) for name in kept),
            uses=tuple(self.types[name] for name in self.types if name in closure),
            resolved=resolved,
        )

    def add(
        self,
        subjects: dict[str, SubjectSpec],
        owners: dict[str, tuple[str, ...]],
        spec: SubjectSpec,
        table: tuple[str, ...],
        key: str | None,
    ) -> None:
        """Two catalog entries may name one subject (e.g. RecordNameStrategy) only if they agree."""
        other = subjects.get(spec.subject)
        if other is None:
            subjects[spec.subject] = spec
            owners[spec.subject] = table
        elif other.full_name != spec.full_name:
            self.report(
                table,
                key,
                f"subject {spec.subject!r} would hold both {other.full_name} and "
                f"{spec.full_name}; choose another subject_name_strategy",
            )
        elif other.compatibility != spec.compatibility:
            where = ".".join(owners[spec.subject])
            self.report(
                table,
                "compatibility",
                f"subject {spec.subject!r} is also registered by {where} "
                f"with level {other.compatibility}, not {spec.compatibility}",
            )

    def check_levels(
        self, subjects: Mapping[str, SubjectSpec], owners: Mapping[str, tuple[str, ...]]
    ) -> None:
        """A shared type's level must imply the level of every subject that uses it: each subject's
        compatibility is then guaranteed by checking its own text against the shared types' current
        versions, and each shared type against its own subject."""
        for spec in subjects.values():
            for used in spec.uses:
                shared = subjects[used.full_name]
                if not shared.compatibility.implies(spec.compatibility):
                    self.report(
                        owners[shared.subject],
                        "compatibility",
                        f"shared type {used.full_name} is {shared.compatibility} but {spec.subject!r} "
                        f"uses it under {spec.compatibility}; a change {shared.compatibility} allows could "
                        f"break {spec.subject!r}: give {used.full_name} a level that implies "
                        f"{spec.compatibility} (e.g. {_join(shared.compatibility, spec.compatibility)})",
                    )


def _join(a: Level, b: Level) -> Level:
    """The weakest level that implies both."""
    candidates = [level for level in Level if level.implies(a) and level.implies(b)]
    return min(candidates, key=lambda level: (len(level.directions), level.transitive))
