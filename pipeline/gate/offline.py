"""The offline gate: each catalog subject's working-tree schema against its committed history.

A subject's history is what the catalog mapped to that subject at each commit, whatever the file: a
rename git does not see, a rewrite, or a topic pointed at a new file cannot hide an earlier version.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipeline.gate.core import Candidate, PastVersion, judge
from pipeline.gate.history import CatalogHistory, Commit, Snapshot, read_catalog_history
from pipeline.gate.model import GateReport
from pipeline.schema import CATALOG_FILE, Catalog, CatalogSources, check_catalog

__all__ = ["check_against_git", "subject_versions", "verdicts_from_history"]


def check_against_git(catalog: Catalog, sources: CatalogSources, base: str | None = None) -> GateReport:
    """Judge every subject of ``catalog`` (read from ``sources``) against the versions the catalog gave
    it on the first-parent history of ``base`` (default HEAD). Raises HistoryError when the history
    cannot be read (see :func:`pipeline.gate.history.read_history`)."""
    history = read_catalog_history(Path(sources.root), base)
    return verdicts_from_history(catalog, sources, history)


def verdicts_from_history(catalog: Catalog, sources: CatalogSources, history: CatalogHistory) -> GateReport:
    """The report for ``catalog`` given the schema directory's ``history`` (pure). Each earlier version
    is resolved with the named types of its own commit, falling back to the working tree's for a type
    the schema directory did not hold then."""
    working = _types_by_name(sources.files)
    versions = subject_versions(catalog, history)
    verdicts = []
    for spec in catalog.subjects:
        candidate = Candidate.from_spec(spec, sources.files.get(str(spec.path), ""))
        found = versions.get(spec.subject, [])
        latest_path = found[-1][1] if found else ""
        past = [
            PastVersion(_source(commit, path, latest_path), text, {**working, **types})
            for commit, path, text, types in found
        ]
        verdicts.append(judge(candidate, past, tip_is_candidate=True))
    return GateReport("git", f"git history up to {history.label}", tuple(verdicts))


Version = tuple[Commit, str, str, dict[str, str]]  # commit, file path then, its text, named types then


def subject_versions(catalog: Catalog, history: CatalogHistory) -> dict[str, list[Version]]:
    """Subject -> (commit, file, text, named types) at every commit where the catalog then gave it a
    schema, oldest first. A commit whose catalog does not load (it may predate today's rules) falls back
    on today's catalog: each subject's file of today, if it existed then."""
    today = {spec.subject: spec.path.name for spec in catalog.subjects}
    versions: dict[str, list[Version]] = {}
    for snapshot in history.snapshots:
        types = {
            name.removesuffix(".avsc"): text
            for name, text in snapshot.files.items()
            if name.endswith(".avsc")
        }
        for subject, name in _subjects_then(snapshot, today).items():
            if name in snapshot.files:
                path = f"{snapshot.directory}/{name}"
                versions.setdefault(subject, []).append((snapshot.commit, path, snapshot.files[name], types))
    return versions


def _subjects_then(snapshot: Snapshot, today: Mapping[str, str]) -> dict[str, str]:
    """Subject -> the file that held its schema at ``snapshot``'s commit."""
    directory = Path(snapshot.directory)
    sources = CatalogSources(
        directory,
        str(directory / CATALOG_FILE),
        snapshot.files.get(CATALOG_FILE, ""),
        {str(directory / name): text for name, text in snapshot.files.items() if name.endswith(".avsc")},
    )
    then, _ = check_catalog(sources)
    if then is None:
        return dict(today)
    return {spec.subject: f"{spec.full_name}.avsc" for spec in then.subjects}


def _source(commit: Commit, path: str, latest_path: str) -> str:
    """``commit 1a2b3c4d "summary"``, and the file's name then if it differs from the latest."""
    renamed = f" as {path}" if path != latest_path else ""
    return f"{commit}{renamed}"


def _types_by_name(files: Mapping[str, str]) -> dict[str, str]:
    return {Path(path).name.removesuffix(".avsc"): text for path, text in files.items()}
