"""The gate's values: each subject's verdict, and the report over the whole catalog."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pipeline.compat import Incompatibility, Level

__all__ = ["GateReport", "Problem", "RegistryView", "Status", "SubjectVerdict", "Version"]


class Status(StrEnum):
    """One subject's outcome.

    NEW: no earlier version, nothing to check. UNCHANGED: the candidate *is* an earlier version, which
    Confluent registers as that version again without a check. COMPATIBLE / INCOMPATIBLE: the checker's
    verdict at the subject's level. INVALID: the candidate cannot be parsed as Confluent parses a new
    schema. DISAGREEMENT (``--against registry``): the registry's compatibility endpoint and the local
    checker answer differently. UNJUDGED (``--against registry``): the registry could not judge the
    candidate, and the local checker found it compatible.
    """

    NEW = "new"
    UNCHANGED = "unchanged"
    COMPATIBLE = "compatible"
    INCOMPATIBLE = "incompatible"
    INVALID = "invalid"
    DISAGREEMENT = "disagreement"
    UNJUDGED = "unjudged"

    @property
    def passed(self) -> bool:
        return self in (Status.NEW, Status.UNCHANGED, Status.COMPATIBLE)


@dataclass(frozen=True)
class Version:
    """An earlier version, numbered as the checker numbers it (1 = oldest) and saying where it comes
    from: ``commit 1a2b3c4d "Add status"`` or ``registry version 7``."""

    number: int
    source: str


@dataclass(frozen=True)
class Problem:
    """An incompatibility, with the line of the candidate's ``.avsc`` file it points at (the deepest
    node of its location that the file itself spells out; None when not even the root is found)."""

    incompatibility: Incompatibility
    line: int | None

    @property
    def message(self) -> str:
        return self.incompatibility.message


@dataclass(frozen=True)
class RegistryView:
    """What the registry said (``--against registry``): its level for the subject, its verdict (None
    when it could not judge) and its explanations, or why it could not judge."""

    level: Level
    compatible: bool | None
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubjectVerdict:
    """The gate's verdict on one catalog subject.

    ``versions``: the earlier versions, oldest first; ``checked``: the numbers the level compared
    against, latest first; ``same_as``: the version an UNCHANGED candidate is;
    ``problems``: the checker's incompatibilities at the catalog's level;
    ``notes``: everything else a reader should know (versions skipped, level differences, why the
    registry and the checker disagree)."""

    subject: str
    full_name: str
    file: str
    level: Level
    status: Status
    versions: tuple[Version, ...] = ()
    checked: tuple[int, ...] = ()
    same_as: int | None = None
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    registry: RegistryView | None = None

    @property
    def passed(self) -> bool:
        return self.status.passed

    def version(self, number: int) -> Version:
        """The earlier version numbered ``number``."""
        return self.versions[number - 1]


@dataclass(frozen=True)
class GateReport:
    """The verdicts over the catalog. ``against`` is ``"git"`` or ``"registry"``; ``baseline`` says
    which history or registry (``HEAD (1a2b3c4d)``, a URL)."""

    against: str
    baseline: str
    verdicts: tuple[SubjectVerdict, ...]

    @property
    def failed(self) -> tuple[SubjectVerdict, ...]:
        return tuple(verdict for verdict in self.verdicts if not verdict.passed)

    @property
    def exit_code(self) -> int:
        """0 every subject passed; 1 a subject is incompatible, invalid, or the registry and the
        checker disagree; 2 otherwise failed only because the registry could not judge."""
        statuses = {verdict.status for verdict in self.failed}
        if statuses - {Status.UNJUDGED}:
            return 1
        return 2 if statuses else 0
