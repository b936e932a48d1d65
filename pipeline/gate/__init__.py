"""The CI compatibility gate: ``pipeline schemas check`` / ``make check-compat``.

For each catalog subject (shared named types included) the working tree's schema, the *candidate*, is
judged against the subject's earlier versions at the subject's level from ``catalog.toml``::

    report = check_against_git(catalog, sources)             # offline (default): git history
    report = check_against_registry(catalog, sources, rc)    # online: the live registry, asked too
    print(format_table(report)); sys.exit(report.exit_code)  # 0 pass, 1 fail, 2 could not judge

**Offline.** The earlier versions are the distinct versions of the subject's schema on the first-parent
history of ``--base`` (default HEAD), oldest first, following renames (:mod:`pipeline.gate.history`).
Each is resolved with the shared types *as they were in that commit* (falling back to the working
tree's for a type the schema directory did not hold then), so a commit that changed only a shared
type is a version of every subject using it, as it is in a registry. Versions at the end of the
history identical to the candidate are the candidate itself, committed: a clean checkout re-checks its
own last change, so CI fails the commit that broke compatibility.

**Online** (``--against registry``): see :mod:`pipeline.gate.online`.

Semantics are Confluent Schema Registry's; where they differ from a literal reading of the Avro
specification, Confluent's are followed (the checker's rules are in :mod:`pipeline.compat`):

* named types match by *unqualified* name: moving a record to another namespace is compatible (the
  specification says full names must match); a rename needs the old full name among the reader's
  aliases, and writer aliases are never used;
* a candidate identical to an earlier version is UNCHANGED and passes without a check (Confluent
  returns the existing version), even if a later version differs;
* non-transitive levels check the latest earlier version only; ``*_TRANSITIVE`` every one, latest
  first; NONE nothing; a subject with no earlier version is NEW and passes;
* two versions are the same version when their JSON is, ignoring formatting and key order; a changed
  ``doc`` is a new version (Confluent; Apicurio Registry merges it into the existing one);
* the candidate is parsed strictly (defaults must fit), earlier versions leniently; an earlier version
  that cannot be parsed at all is skipped with a note, since no registry could hold it.

Exit status (:attr:`GateReport.exit_code`): 0 every subject passed; 1 a subject is incompatible or
invalid, or the registry and the checker disagree; 2 nothing failed but the registry could not judge
a subject. The CLI also exits 2 when the history cannot be read (no repository, a shallow clone, an
unknown ``--base``) or the registry fails.
"""

from pipeline.gate.core import Candidate, PastVersion, judge, reconcile, resolve, schema_key
from pipeline.gate.history import CatalogHistory, Commit, Snapshot, read_catalog_history
from pipeline.gate.model import GateReport, Problem, RegistryView, Status, SubjectVerdict, Version
from pipeline.gate.offline import check_against_git, subject_versions, verdicts_from_history
from pipeline.gate.online import check_against_registry
from pipeline.gate.output import FORMATS, format_failure, format_github, format_json, format_table

__all__ = [
    "FORMATS",
    "Candidate",
    "CatalogHistory",
    "Commit",
    "GateReport",
    "PastVersion",
    "Problem",
    "RegistryView",
    "Snapshot",
    "Status",
    "SubjectVerdict",
    "Version",
    "check_against_git",
    "check_against_registry",
    "format_failure",
    "format_github",
    "format_json",
    "format_table",
    "judge",
    "read_catalog_history",
    "reconcile",
    "resolve",
    "schema_key",
    "subject_versions",
    "verdicts_from_history",
]
