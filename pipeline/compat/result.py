"""The structured result of a compatibility check: a verdict and the incompatibilities behind it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pipeline.compat.levels import Direction, Level
from pipeline.errors import IncompatibleSchemaError

__all__ = ["CompatibilityResult", "Incompatibility", "Kind"]


class Kind(StrEnum):
    """What went wrong; the first six are Avro Java's ``SchemaIncompatibilityType``."""

    NAME_MISMATCH = "NAME_MISMATCH"
    FIXED_SIZE_MISMATCH = "FIXED_SIZE_MISMATCH"
    MISSING_ENUM_SYMBOLS = "MISSING_ENUM_SYMBOLS"
    READER_FIELD_MISSING_DEFAULT_VALUE = "READER_FIELD_MISSING_DEFAULT_VALUE"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    MISSING_UNION_BRANCH = "MISSING_UNION_BRANCH"
    AMBIGUOUS_FIELD_ALIAS = "AMBIGUOUS_FIELD_ALIAS"
    """A reader field matches several writer fields through its name and aliases. Avro Java throws, which
    Confluent reports as "incompatible"; it ends the check of that reader/writer pair."""


@dataclass(frozen=True)
class Incompatibility:
    """One reason a new schema fails its level.

    ``location`` is a path through the *reader* schema of the failing pair (see the package docstring);
    ``version`` is the 1-based previous version it was checked against; ``direction`` says whether the
    new schema was the reader (BACKWARD) or the writer (FORWARD); ``message`` is a sentence for people
    that starts with the location. A MISSING_UNION_BRANCH lists, as ``causes``, why the reader union's
    closest branch (same type, same name) could not read the writer's value.
    """

    kind: Kind
    location: str
    version: int
    direction: Direction
    message: str
    causes: tuple[Incompatibility, ...] = ()

    @property
    def reader(self) -> str:
        """Which schema was reading: ``"new schema"`` or ``"version N"``."""
        return "new schema" if self.direction is Direction.BACKWARD else f"version {self.version}"

    @property
    def writer(self) -> str:
        """Which schema wrote the data: ``"new schema"`` or ``"version N"``."""
        return f"version {self.version}" if self.direction is Direction.BACKWARD else "new schema"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class CompatibilityResult:
    """The verdict of :func:`pipeline.compat.check`.

    ``checked_versions`` lists the 1-based previous versions the level compared against, latest first;
    ``incompatibilities`` are ordered the same way, and within one version BACKWARD before FORWARD.
    """

    level: Level
    compatible: bool
    incompatibilities: tuple[Incompatibility, ...]
    checked_versions: tuple[int, ...]

    @property
    def messages(self) -> list[str]:
        return [incompatibility.message for incompatibility in self.incompatibilities]

    def raise_if_incompatible(self, what: str) -> None:
        """Raise :class:`IncompatibleSchemaError` (carrying this result as ``report``) when the schema
        named ``what`` (a subject or file) fails its level."""
        if self.compatible:
            return
        lines = "\n".join(f"  {message}" for message in self.messages)
        raise IncompatibleSchemaError(
            f"{what}: not {self.level.value} compatible with the previous versions:\n{lines}", report=self
        )
