"""Confluent Schema Registry's seven compatibility levels and the reader/writer checks each implies."""

from __future__ import annotations

from enum import StrEnum

from pipeline.errors import ConfigError

__all__ = ["Direction", "Level"]


class Direction(StrEnum):
    """Which way one pairwise check reads.

    BACKWARD: the new schema is the reader, the previous version the writer (consumers upgrade first).
    FORWARD: the previous version is the reader, the new schema the writer (producers upgrade first).
    """

    BACKWARD = "BACKWARD"
    FORWARD = "FORWARD"


class Level(StrEnum):
    """A subject's compatibility level, with Confluent's meaning.

    Non-transitive levels check the new schema against the latest previous version only; the
    ``*_TRANSITIVE`` levels against every previous version. NONE checks nothing.
    """

    NONE = "NONE"
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"

    @property
    def transitive(self) -> bool:
        return self.value.endswith("_TRANSITIVE")

    @property
    def directions(self) -> tuple[Direction, ...]:
        """The pairwise checks this level runs against each version it looks at."""
        base = self.value.removesuffix("_TRANSITIVE")
        if base == "NONE":
            return ()
        if base == "FULL":
            return (Direction.BACKWARD, Direction.FORWARD)
        return (Direction(base),)

    @classmethod
    def parse(cls, value: str | Level) -> Level:
        """``Level`` from its name, case-insensitively; raises :class:`ConfigError` listing the valid
        names when the name is unknown."""
        if isinstance(value, Level):
            return value
        try:
            return cls(value.strip().upper())
        except ValueError:
            names = ", ".join(level.value for level in cls)
            raise ConfigError(f"unknown compatibility level {value!r}; expected one of {names}") from None

    def implies(self, other: Level) -> bool:
        """True when every change allowed under ``self`` is also allowed under ``other`` (``self`` is at
        least as strict)."""
        return set(other.directions) <= set(self.directions) and (self.transitive or not other.transitive)

    def versions_to_check(self, count: int) -> list[int]:
        """1-based versions this level compares against when there are ``count`` previous versions,
        latest first (the order Confluent checks them)."""
        if not self.directions or count == 0:
            return []
        return list(range(count, 0, -1)) if self.transitive else [count]
