"""The online gate (``--against registry``): each catalog subject against what the live registry holds,
judged twice, by the registry's own compatibility endpoint and by the local checker.

The candidate sent for a subject is the one ``pipeline schemas register`` would check (see
:mod:`pipeline.registry.register`): in ``references = "subjects"`` mode it refers to each shared type at the
registered version holding the working tree's text, else at the latest registered version; a shared
type not registered at all is written out. The local checker judges exactly that schema, with each
reference resolved to the registry's text, against every registered version, each resolved with its
own references. A changed shared type is judged in its own subject (the catalog guarantees its level
implies the levels of the subjects that use it).

The registry is asked ``POST /compatibility/subjects/{subject}/versions``, the endpoint Confluent
documents as the check registration runs at the subject's level. A registry that answers differently
from the local checker at the same level is a failure of its own (DISAGREEMENT); a registry that cannot
judge (an HTTP error other than unavailability) makes the subject UNJUDGED, never a silent pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pipeline.compat import Level
from pipeline.errors import RegistryError, RegistryUnavailableError
from pipeline.gate.core import Candidate, PastVersion, judge, reconcile
from pipeline.gate.model import GateReport, Status, SubjectVerdict
from pipeline.registry.client import Reference, RegistryClient, StoredSchema
from pipeline.schema import (
    Catalog,
    CatalogSources,
    ReferenceMode,
    SubjectSpec,
    canonical_json,
)

__all__ = ["check_against_registry"]


def check_against_registry(catalog: Catalog, sources: CatalogSources, registry: RegistryClient) -> GateReport:
    """Judge every subject of ``catalog`` against ``registry`` (see the module docstring). Raises
    RegistryUnavailableError when the registry cannot be reached, and RegistryError when it fails
    while its versions are read."""
    return _Online(catalog, sources, registry).report()


class _Online:
    def __init__(self, catalog: Catalog, sources: CatalogSources, registry: RegistryClient) -> None:
        self.catalog = catalog
        self.sources = sources
        self.registry = registry
        self.stored: dict[tuple[str, int], StoredSchema] = {}
        self.current: dict[str, int | None] = {}  # shared subject -> the version candidates refer to

    def report(self) -> GateReport:
        found = self.registered_as_is()
        verdicts = [self.verdict(spec, found) for spec in self.catalog.subjects]
        baseline = f"the registry at {self.registry.url} ({self.registry.server})"
        return GateReport("registry", baseline, tuple(verdicts))

    def registered_as_is(self) -> dict[str, int | None]:
        """Subject -> the version holding the working tree's text and references, if any (shared
        types first, so that a schema's references can be looked up with their versions)."""
        found: dict[str, int | None] = {}
        for spec in self.catalog.subjects:
            refs = [Reference(ref.name, ref.subject, found.get(ref.subject) or 0) for ref in spec.references]
            if any(ref.version == 0 for ref in refs):
                found[spec.subject] = None  # a referenced text is not registered, so neither is this
                continue
            hit = self.registry.lookup(spec.subject, spec.text, refs)
            found[spec.subject] = hit.version if hit else None
        return found

    def referred_version(self, subject: str, found: dict[str, int | None]) -> int | None:
        if subject not in self.current:
            version = found.get(subject)
            if version is None:
                latest = self.registry.latest(subject)
                version = latest.version if latest else None
            self.current[subject] = version
        return self.current[subject]

    def version(self, subject: str, number: int) -> StoredSchema:
        key = (subject, number)
        if key not in self.stored:
            self.stored[key] = self.registry.schema(subject, number)
        return self.stored[key]

    def referenced_texts(self, references: Sequence[Reference]) -> dict[str, str]:
        """Full name -> stored text of every type ``references`` bring in, transitively."""
        texts: dict[str, str] = {}
        pending = list(references)
        while pending:
            ref = pending.pop()
            if ref.name in texts:
                continue
            stored = self.version(ref.subject, ref.version)
            texts[ref.name] = stored.text
            pending.extend(stored.references)
        return texts

    def sent(self, spec: SubjectSpec, found: dict[str, int | None]) -> tuple[str, list[Reference]]:
        """The text and references registration would check for ``spec``."""
        if self.catalog.references is not ReferenceMode.SUBJECTS or not spec.references:
            return spec.text, []
        schema, kept = self.catalog.compose(
            spec.full_name, lambda name: self.referred_version(name, found) is not None
        )
        refs = []
        for name in kept:
            version = self.referred_version(name, found)
            assert version is not None
            refs.append(Reference(name, name, version))
        return canonical_json(schema), refs

    def verdict(self, spec: SubjectSpec, found: dict[str, int | None]) -> SubjectVerdict:
        text, refs = self.sent(spec, found)
        file_text = self.sources.files.get(str(spec.path), "")
        # The candidate is judged as the working tree resolves it: a shared type changed there makes
        # every schema using it a new version, as registration will (the text sent to the registry's
        # check refers to its registered version, which is all the registry can resolve).
        candidate = Candidate.from_spec(spec, file_text)
        history = []
        for number in self.registry.versions(spec.subject):
            stored = self.version(spec.subject, number)
            history.append(
                PastVersion(
                    f"registry version {number}", stored.text, self.referenced_texts(stored.references)
                )
            )
        verdict = judge(candidate, history, tip_is_candidate=False)
        if verdict.status in (Status.NEW, Status.UNCHANGED, Status.INVALID):
            return verdict
        level = Level.parse(self.registry.effective_level(spec.subject).value)
        at_level = (
            verdict
            if level is candidate.level
            else judge(replace(candidate, level=level), history, tip_is_candidate=False)
        )
        try:
            answer = self.registry.check(spec.subject, text, refs, Level(level.value), endpoint="versions")
        except RegistryUnavailableError:
            raise
        except RegistryError as exc:
            return reconcile(verdict, at_level, level, None, (str(exc),))
        transitively = False
        if (
            not answer.compatible
            and at_level.status is Status.COMPATIBLE
            and level.directions
            and not level.transitive
        ):
            transitive = Level.parse(f"{level.value}_TRANSITIVE")
            stricter = judge(replace(candidate, level=transitive), history, tip_is_candidate=False)
            transitively = stricter.status is Status.INCOMPATIBLE
        return reconcile(
            verdict,
            at_level,
            level,
            answer.compatible,
            answer.messages,
            transitively_incompatible=transitively,
        )
