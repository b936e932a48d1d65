"""Our own table of schema evolutions (tests/unit/compat/cases.py), checked at all seven levels."""

from __future__ import annotations

import pytest

from pipeline.compat import Level, check
from tests.unit.compat.cases import CASES, EvolutionCase

IDS = [case.id for case in CASES]


def test_the_table_is_broad_enough() -> None:
    assert len(CASES) >= 80
    assert len(set(IDS)) == len(IDS)
    assert all(set(case.verdicts) == set(Level) for case in CASES)
    pairwise_only = [
        case
        for case in CASES
        if case.verdicts[Level.FULL] and not case.verdicts[Level.FULL_TRANSITIVE] and len(case.previous) > 1
    ]
    assert len(pairwise_only) >= 5, "cases where pairwise passes but transitive fails"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_verdict_at_every_level(case: EvolutionCase) -> None:
    observed = {
        level: check(case.new, case.previous, level, named_types=case.named_types).compatible
        for level in Level
    }
    assert observed == case.verdicts, case.reason


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_first_incompatibility(case: EvolutionCase) -> None:
    result = check(case.new, case.previous, Level.FULL_TRANSITIVE, named_types=case.named_types)
    if case.first is None:
        assert result.incompatibilities == ()
        return
    first = result.incompatibilities[0]
    expected = case.first
    assert (first.kind, first.location, first.version, first.direction) == (
        expected.kind,
        expected.location,
        expected.version,
        expected.direction,
    ), first.message
    assert first.message.startswith(f"{first.location}: ")
    if expected.message is not None:
        assert first.message == expected.message
