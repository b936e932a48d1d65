"""The peer corpus (tests/data/compat-corpus): 396 verdicts asserted by Confluent Schema Registry's,
Apache Avro Java's and Karapace's own test suites. A checker with Confluent's semantics agrees with all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.compat import check

CORPUS = Path(__file__).parents[2] / "data" / "compat-corpus" / "cases.json"
CASES: list[dict[str, Any]] = json.loads(CORPUS.read_text(encoding="utf-8"))


def test_the_corpus_is_complete() -> None:
    assert len(CASES) == 396
    assert len({case["id"] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_verdict_matches_the_peer_suite(case: dict[str, Any]) -> None:
    result = check(case["new"], case["previous"], case["level"])
    assert result.compatible is case["compatible"], (
        f"{case['source']}: {case.get('description', '')}\n" + "\n".join(result.messages)
    )
    assert bool(result.incompatibilities) is not case["compatible"]
