"""Confluent's levels: which previous versions and which directions each one checks."""

from __future__ import annotations

import pytest

from pipeline.compat import Direction, Level
from pipeline.errors import ConfigError

B, F = Direction.BACKWARD, Direction.FORWARD


@pytest.mark.parametrize(
    ("level", "directions", "versions", "reason"),
    [
        (Level.NONE, (), [], "NONE checks nothing"),
        (Level.BACKWARD, (B,), [3], "the new schema reads the latest version's data"),
        (Level.FORWARD, (F,), [3], "the latest version reads the new schema's data"),
        (Level.FULL, (B, F), [3], "both ways, latest only"),
        (Level.BACKWARD_TRANSITIVE, (B,), [3, 2, 1], "every version, latest first (Confluent's order)"),
        (Level.FORWARD_TRANSITIVE, (F,), [3, 2, 1], "every version reads the new schema"),
        (Level.FULL_TRANSITIVE, (B, F), [3, 2, 1], "both ways against every version"),
    ],
)
def test_what_each_level_checks(
    level: Level, directions: tuple[Direction, ...], versions: list[int], reason: str
) -> None:
    assert (level.directions, level.versions_to_check(3)) == (directions, versions), reason
    assert level.versions_to_check(0) == [], "the first version is always accepted"


@pytest.mark.parametrize(
    ("text", "level"), [("full_transitive", Level.FULL_TRANSITIVE), (" Backward ", Level.BACKWARD)]
)
def test_level_names_are_case_insensitive(text: str, level: Level) -> None:
    assert Level.parse(text) is level
    assert Level.parse(level) is level


def test_unknown_level_names_the_valid_ones() -> None:
    with pytest.raises(
        ConfigError, match="unknown compatibility level 'SIDEWAYS'; expected one of NONE, BACKWARD"
    ):
        Level.parse("SIDEWAYS")
