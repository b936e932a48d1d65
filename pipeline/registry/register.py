"""Registering the catalog's schemas: plan, check everything, then apply, so that a run registers
every new schema or none.

1. **Plan** (reads only). In registration order (shared types first), look each subject's exact text
   and references up; a match is *unchanged*. A subject whose text, or any referenced type's version,
   is not registered yet is *new*.
2. **Check.** Set each subject's compatibility level to the catalog's (skipped in a dry run), then ask
   the registry whether each new schema is compatible. The candidate refers to the versions of shared
   types that are registered *now*; a shared type that changes in this run is checked in its own
   subject, and the catalog guarantees its level implies the levels of every subject using it, so the
   two checks together cover the combined change. A shared type not registered at all yet is written
   out inline for the check.
3. **Apply.** If anything is incompatible, put the levels back as they were and register nothing.
   Otherwise register the new schemas in order, each referring to the versions just registered.

A second run over an unchanged catalog finds everything unchanged and registers nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from pipeline.compat import Level
from pipeline.errors import IncompatibleSchemaError, RegistryError
from pipeline.registry.client import CompatibilityAnswer, Reference, RegisteredVersion
from pipeline.schema import Catalog, ReferenceMode, SubjectSpec, canonical_json

__all__ = ["RegistrationReport", "Registry", "Status", "SubjectResult", "register_schemas"]


class Registry(Protocol):
    """What the bootstrap asks of a registry (:class:`pipeline.registry.client.RegistryClient` is one)."""

    def lookup(
        self, subject: str, text: str, references: Sequence[Reference]
    ) -> RegisteredVersion | None: ...
    def register(self, subject: str, text: str, references: Sequence[Reference]) -> RegisteredVersion: ...
    def latest(self, subject: str) -> RegisteredVersion | None: ...
    def level(self, subject: str) -> Level | None: ...
    def set_level(self, subject: str, level: Level) -> None: ...
    def clear_level(self, subject: str) -> None: ...
    def check(
        self, subject: str, text: str, references: Sequence[Reference], level: Level
    ) -> CompatibilityAnswer: ...


class Status(StrEnum):
    NEW = "new"
    UNCHANGED = "unchanged"
    INCOMPATIBLE = "incompatible"


@dataclass(frozen=True)
class SubjectResult:
    """One subject's outcome. ``version`` and ``schema_id`` are None for a new schema in a dry run or
    an incompatible one. ``previous_level`` is the subject's own level before the run (None: it had
    none)."""

    spec: SubjectSpec
    status: Status
    version: int | None
    schema_id: int | None
    previous_level: Level | None
    reasons: tuple[str, ...] = ()
    compared_with: int | None = None

    @property
    def subject(self) -> str:
        return self.spec.subject

    @property
    def level_changed(self) -> bool:
        return self.previous_level != self.spec.compatibility


@dataclass(frozen=True)
class RegistrationReport:
    """The outcome of a run. ``applied`` is true when the registry was changed."""

    results: tuple[SubjectResult, ...]
    dry_run: bool
    applied: bool = False
    registered: tuple[str, ...] = field(default=())

    @property
    def incompatible(self) -> tuple[SubjectResult, ...]:
        return tuple(r for r in self.results if r.status is Status.INCOMPATIBLE)

    @property
    def ok(self) -> bool:
        return not self.incompatible

    def raise_for_incompatible(self) -> None:
        """Raise IncompatibleSchemaError (carrying this report) if any subject failed its check."""
        if self.incompatible:
            lines = "; ".join(f"{r.subject}: {', '.join(r.reasons)}" for r in self.incompatible)
            raise IncompatibleSchemaError(f"nothing was registered; incompatible: {lines}", report=self)


@dataclass
class _Row:
    spec: SubjectSpec
    previous_level: Level | None
    found: RegisteredVersion | None
    reasons: tuple[str, ...] = ()
    compared_with: int | None = None


def register_schemas(catalog: Catalog, registry: Registry, *, dry_run: bool = False) -> RegistrationReport:
    """Register every subject of ``catalog`` (see the module docstring). Returns the report; when a
    subject is incompatible nothing is registered and the subjects' levels are left as they were.
    Raises RegistryError / RegistryUnavailableError when the registry fails or cannot be reached."""
    rows = _plan(catalog, registry)
    changed_levels: list[_Row] = []
    if not dry_run:
        for row in rows:
            if row.previous_level != row.spec.compatibility:
                registry.set_level(row.spec.subject, row.spec.compatibility)
                changed_levels.append(row)
    try:
        _check(catalog, registry, rows)
    except Exception:
        _restore_levels(registry, changed_levels)
        raise
    if any(row.reasons for row in rows):
        _restore_levels(registry, changed_levels)
        return _report(rows, dry_run, applied=False)
    if dry_run:
        return _report(rows, dry_run, applied=False)
    registered = _apply(catalog, registry, rows)
    return _report(rows, dry_run, applied=bool(changed_levels or registered), registered=registered)


def _plan(catalog: Catalog, registry: Registry) -> list[_Row]:
    versions: dict[str, int | None] = {}
    rows = []
    for spec in catalog.subjects:
        refs = _references(spec, versions)
        found = registry.lookup(spec.subject, spec.text, refs) if refs is not None else None
        versions[spec.subject] = found.version if found else None
        rows.append(_Row(spec, registry.level(spec.subject), found))
    return rows


def _references(spec: SubjectSpec, versions: dict[str, int | None]) -> list[Reference] | None:
    """``spec``'s references at the versions in ``versions``; None if one of them has none yet."""
    refs = []
    for ref in spec.references:
        version = versions.get(ref.subject)
        if version is None:
            return None
        refs.append(Reference(ref.name, ref.subject, version))
    return refs


def _check(catalog: Catalog, registry: Registry, rows: list[_Row]) -> None:
    current: dict[str, int | None] = {}  # shared subject -> the version a candidate refers to

    def registered_version(subject: str) -> int | None:
        if subject not in current:
            found = next((row.found for row in rows if row.spec.subject == subject), None)
            latest = found or registry.latest(subject)
            current[subject] = latest.version if latest else None
        return current[subject]

    for row in rows:
        if row.found is not None:
            continue
        latest = registry.latest(row.spec.subject)
        if latest is None:
            continue
        row.compared_with = latest.version
        text, refs = row.spec.text, []
        if catalog.references is ReferenceMode.SUBJECTS and row.spec.references:
            schema, kept = catalog.compose(
                row.spec.full_name, lambda name: registered_version(name) is not None
            )
            text = canonical_json(schema)
            refs = [Reference(name, name, version) for name in kept if (version := registered_version(name))]
        answer = registry.check(row.spec.subject, text, refs, row.spec.compatibility)
        if not answer.compatible:
            row.reasons = answer.messages or (
                f"not {row.spec.compatibility}-compatible with version {latest.version} "
                "(the registry gave no details)",
            )


def _apply(catalog: Catalog, registry: Registry, rows: list[_Row]) -> tuple[str, ...]:
    versions: dict[str, int | None] = {}
    registered: list[str] = []
    for row in rows:
        if row.found is None:
            refs = _references(row.spec, versions)
            assert refs is not None, "registration order puts references first"
            try:
                row.found = registry.register(row.spec.subject, row.spec.text, refs)
            except RegistryError as exc:
                done = ", ".join(registered) or "nothing"
                raise type(exc)(  # an outage stays an outage (exit 2), a refusal a refusal
                    f"{exc}; this run had already registered: {done} (run again once the cause is fixed)",
                    status=exc.status,
                    code=exc.code,
                ) from exc
            registered.append(row.spec.subject)
        versions[row.spec.subject] = row.found.version
    return tuple(registered)


def _restore_levels(registry: Registry, rows: list[_Row]) -> None:
    for row in rows:
        if row.previous_level is None:
            registry.clear_level(row.spec.subject)
        else:
            registry.set_level(row.spec.subject, row.previous_level)


def _report(
    rows: list[_Row], dry_run: bool, *, applied: bool, registered: tuple[str, ...] = ()
) -> RegistrationReport:
    results = []
    for row in rows:
        if row.reasons:
            status = Status.INCOMPATIBLE
        elif row.spec.subject in registered or (row.found is None):
            status = Status.NEW
        else:
            status = Status.UNCHANGED
        found = row.found
        results.append(
            SubjectResult(
                row.spec,
                status,
                found.version if found else None,
                found.schema_id if found else None,
                row.previous_level,
                row.reasons,
                row.compared_with,
            )
        )
    return RegistrationReport(tuple(results), dry_run, applied, registered)
