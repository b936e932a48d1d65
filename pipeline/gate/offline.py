"""The offline gate: each catalog subject's working-tree schema against its committed history."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipeline.catalog import Catalog, CatalogSources
from pipeline.gate.core import Candidate, PastVersion, judge
from pipeline.gate.history import Revision, SchemaHistory, read_history
from pipeline.gate.model import GateReport

__all__ = ["check_against_git", "verdicts_from_history"]


def check_against_git(catalog: Catalog, sources: CatalogSources, base: str | None = None) -> GateReport:
    """Judge every subject of ``catalog`` (read from ``sources``) against the distinct versions of its
    file on the first-parent history of ``base`` (default HEAD). Raises HistoryError when the history
    cannot be read (see :func:`pipeline.gate.history.read_history`)."""
    files = sorted({spec.path for spec in catalog.subjects})
    history = read_history(Path(sources.root), files, base)
    return verdicts_from_history(catalog, sources, history)


def verdicts_from_history(catalog: Catalog, sources: CatalogSources, history: SchemaHistory) -> GateReport:
    """The report for ``catalog`` given its files' ``history`` (pure). Each earlier version is resolved
    with the named types of its own commit, falling back to the working tree's for a type the
    schema directory did not hold then."""
    working = _types_by_name(sources.files)
    verdicts = []
    for spec in catalog.subjects:
        candidate = Candidate.from_spec(spec, sources.files.get(str(spec.path), ""))
        revisions = history.revisions.get(str(spec.path), ())
        past = [
            PastVersion(_source(revision, revisions[-1].path), revision.text, {**working, **revision.types})
            for revision in revisions
        ]
        verdicts.append(judge(candidate, past, tip_is_candidate=True))
    return GateReport("git", f"git history up to {history.label}", tuple(verdicts))


def _source(revision: Revision, latest_path: str) -> str:
    """``commit 1a2b3c4d "summary"``, and the file's name then if it has been renamed since."""
    renamed = f" as {revision.path}" if revision.path != latest_path else ""
    return f"{revision.commit}{renamed}"


def _types_by_name(files: Mapping[str, str]) -> dict[str, str]:
    return {Path(path).name.removesuffix(".avsc"): text for path, text in files.items()}
