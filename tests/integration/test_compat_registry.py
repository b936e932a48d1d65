"""Every evolution case of tests/unit/compat/cases.py, asked of the real registry at all seven levels:
the registry's verdict must equal the offline checker's.

Per case and level, three questions whose Confluent meanings differ:

* ``POST /compatibility/subjects/{s}/versions/latest`` tests against the latest version *only*, even at a
  transitive level (Confluent's CompatibilityResource passes a one-element list), so it must equal
  ``check(new, previous[-1:], level)``;
* ``POST /compatibility/subjects/{s}/versions`` tests against the subject's versions under its level,
  "the same compatibility check as register", so it must equal ``check(new, previous, level)``;
* ``POST /subjects/{s}/versions`` (registration, on a fresh subject per level) is the gate itself: 200
  or 409 must equal ``check(new, previous, level)``.

Where Apicurio Registry (the embedded stack) answers differently from Confluent Schema Registry, the case
is listed in APICURIO_DEVIATIONS with the reason and what Apicurio answers instead; the test asserts
that answer, so it fails when Apicurio changes. Against any other registry no deviation is expected.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from pipeline.compat import Level, check
from tests.conftest import StackHandle
from tests.unit.compat.cases import CASES, COMMON, EvolutionCase

pytestmark = pytest.mark.integration

LATEST = "compatibility/latest"  # POST /compatibility/subjects/{s}/versions/latest
ALL = "compatibility/all"  # POST /compatibility/subjects/{s}/versions
REGISTER = "register"  # POST /subjects/{s}/versions
Answer = bool | str  # the verdict, or "HTTP <status>" when the registry refused to answer
Key = tuple[str, Level]

_BACKWARD_SIDE = (Level.BACKWARD, Level.BACKWARD_TRANSITIVE, Level.FULL, Level.FULL_TRANSITIVE)
_NOT_NONE = tuple(level for level in Level if level is not Level.NONE)


@dataclass(frozen=True)
class Deviation:
    reason: str
    answers: dict[Key, Answer]  # what Apicurio answers where Confluent would answer the checker's verdict


def _refused(endpoints: tuple[str, ...], levels: tuple[Level, ...]) -> dict[Key, Answer]:
    return {(endpoint, level): "HTTP 422" for endpoint in endpoints for level in levels}


_AMBIGUOUS = (
    "Avro Java's lookupWriterField throws when a reader field matches two writer fields. Confluent's "
    "AvroSchema.isBackwardCompatible catches every exception and reports 'incompatible'; Apicurio's "
    "AvroCompatibilityChecker rethrows it as UnprocessableSchemaException: HTTP 422 (error 42201) "
    "wherever the new schema is the reader."
)
_REFERENCES = (
    "Apicurio's /compatibility endpoints do not resolve schema references, neither the request's nor "
    "those of the stored versions: any schema they must parse that uses a referenced type is rejected as "
    "invalid (422, 'Syntax violation for Avro artifact'). Confluent resolves them. Registering with the "
    "same references works and gives the checker's verdict."
)
_ALL_IS_TRANSITIVE = (
    "Apicurio's POST /compatibility/subjects/{s}/versions checks every version even at a non-transitive "
    "level (BACKWARD, FORWARD, FULL), i.e. it answers as the *_TRANSITIVE level would. Confluent's "
    "checks the latest version only, like its registration; Apicurio's registration does too."
)


def _transitive_answer(*levels: Level) -> dict[Key, Answer]:
    return {(ALL, level): False for level in levels}


APICURIO_DEVIATIONS: dict[str, Deviation] = {
    "field-ambiguous-alias": Deviation(_AMBIGUOUS, _refused((LATEST, ALL, REGISTER), _BACKWARD_SIDE)),
    "field-alias-to-itself": Deviation(
        _AMBIGUOUS + " Here the alias equals the field's own name, so the field matches twice. "
        "Registering it succeeds instead: the new schema differs from version 1 only by an alias, which "
        "Apicurio treats as the same content (see test_apicurio_merges_versions_that_differ_only_in_doc_"
        "or_aliases), so it returns version 1 without running the rule.",
        _refused((LATEST, ALL), _BACKWARD_SIDE) | {(REGISTER, level): True for level in _BACKWARD_SIDE},
    ),
    "ref-add-field": Deviation(_REFERENCES, _refused((LATEST, ALL), tuple(Level))),
    "ref-optional-field": Deviation(_REFERENCES, _refused((LATEST, ALL), tuple(Level))),
    "ref-replace-with-local": Deviation(
        _REFERENCES + " At NONE only the new schema is parsed, and it uses no referenced type.",
        _refused((LATEST, ALL), _NOT_NONE),
    ),
    "transitive-default-removed": Deviation(
        _ALL_IS_TRANSITIVE, _transitive_answer(Level.BACKWARD, Level.FULL)
    ),
    "transitive-field-dropped": Deviation(_ALL_IS_TRANSITIVE, _transitive_answer(Level.FORWARD, Level.FULL)),
    "transitive-enum-symbol": Deviation(_ALL_IS_TRANSITIVE, _transitive_answer(Level.BACKWARD, Level.FULL)),
    "transitive-enum-default-only-later": Deviation(
        _ALL_IS_TRANSITIVE, _transitive_answer(Level.FORWARD, Level.FULL)
    ),
    "transitive-promotion-chain": Deviation(
        _ALL_IS_TRANSITIVE, _transitive_answer(Level.FORWARD, Level.FULL)
    ),
    "transitive-alias-chain": Deviation(_ALL_IS_TRANSITIVE, _transitive_answer(Level.BACKWARD)),
    "transitive-oldest-of-three": Deviation(
        _ALL_IS_TRANSITIVE, _transitive_answer(Level.FORWARD, Level.FULL)
    ),
    "transitive-union-widened-then-narrowed": Deviation(
        _ALL_IS_TRANSITIVE, _transitive_answer(Level.BACKWARD, Level.FULL)
    ),
}


def _is_apicurio(stack: StackHandle) -> bool:
    return "/apis/ccompat/" in stack.registry_url


def _text(schema: Any) -> str:
    return schema if isinstance(schema, str) and schema.strip()[:1] in '{["' else json.dumps(schema)


@pytest.fixture(scope="module")
def registry(stack: StackHandle) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=stack.registry_url,
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
        timeout=30.0,
    ) as client:
        yield client


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, f"{response.request.url}: {response.status_code} {response.text}"
    return response.json()


def _register_common(registry: httpx.Client, stack: StackHandle) -> list[dict[str, Any]]:
    """Currency, then Money (which uses Currency), each under its own subject; the references list."""
    currency, money = "com.example.common.Currency", "com.example.common.Money"
    references: list[dict[str, Any]] = []
    for name in (currency, money):
        subject = stack.unique(f"compat-ref-{name.rsplit('.', 1)[1].lower()}")
        body = {"schema": json.dumps(COMMON[name]), "references": list(references)}
        _ok(registry.post(f"/subjects/{subject}/versions", json=body))
        references.append({"name": name, "subject": subject, "version": 1})
    return references


def _subject_with_versions(
    registry: httpx.Client, stack: StackHandle, case: EvolutionCase, references: list[dict[str, Any]]
) -> str:
    subject = stack.unique(f"compat-{case.id}")
    _ok(registry.put(f"/config/{subject}", json={"compatibility": "NONE"}))
    for schema in case.previous:
        _ok(
            registry.post(
                f"/subjects/{subject}/versions", json={"schema": _text(schema), "references": references}
            )
        )
    versions = _ok(registry.get(f"/subjects/{subject}/versions"))
    assert len(versions) == len(case.previous), f"{subject}: the registry merged versions: {versions}"
    return subject


def _ask(registry: httpx.Client, path: str, body: dict[str, Any]) -> Answer:
    response = registry.post(path, json=body)
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    verdict = response.json()["is_compatible"]
    assert isinstance(verdict, bool)
    return verdict


def _register(registry: httpx.Client, subject: str, body: dict[str, Any]) -> Answer:
    response = registry.post(f"/subjects/{subject}/versions", json=body)
    return {200: True, 409: False}.get(response.status_code, f"HTTP {response.status_code}")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_registry_agrees_with_the_checker(
    registry: httpx.Client, stack: StackHandle, case: EvolutionCase
) -> None:
    references = _register_common(registry, stack) if case.named_types else []
    body = {"schema": _text(case.new), "references": references}
    expected: dict[Key, Answer] = {}
    observed: dict[Key, Answer] = {}

    asked = _subject_with_versions(registry, stack, case, references)
    for level in Level:
        against_latest = check(case.new, case.previous[-1:], level, named_types=case.named_types)
        against_all = check(case.new, case.previous, level, named_types=case.named_types)
        expected |= {
            (LATEST, level): against_latest.compatible,
            (ALL, level): against_all.compatible,
            (REGISTER, level): against_all.compatible,
        }
        _ok(registry.put(f"/config/{asked}", json={"compatibility": level.value}))
        observed[(LATEST, level)] = _ask(registry, f"/compatibility/subjects/{asked}/versions/latest", body)
        observed[(ALL, level)] = _ask(registry, f"/compatibility/subjects/{asked}/versions", body)
        registered = _subject_with_versions(registry, stack, case, references)
        _ok(registry.put(f"/config/{registered}", json={"compatibility": level.value}))
        observed[(REGISTER, level)] = _register(registry, registered, body)

    deviation = APICURIO_DEVIATIONS.get(case.id) if _is_apicurio(stack) else None
    if deviation is not None:
        assert set(deviation.answers) <= set(expected)
        expected |= deviation.answers
    differences = {
        f"{endpoint} {level.value}": (expected[(endpoint, level)], observed[(endpoint, level)])
        for endpoint, level in expected
        if expected[(endpoint, level)] != observed[(endpoint, level)]
    }
    assert not differences, f"{case.id} ({case.reason}); (expected, registry answered): {differences}"


def test_apicurio_merges_versions_that_differ_only_in_doc_or_aliases(
    registry: httpx.Client, stack: StackHandle
) -> None:
    """Deviation that shapes how the cases are written: Confluent registers a schema whose only change
    is a doc, an alias or an enum default as a new version with a new id (its AvroSchema equality
    compares them); Apicurio returns the existing version. No case therefore has two previous versions
    that differ only there (``_subject_with_versions`` would fail)."""
    base = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
    variants = [
        {**base, "doc": "now documented"},
        {**base, "aliases": ["Q"]},
        {**base, "fields": [{"name": "a", "type": "int", "aliases": ["b"]}]},
    ]
    enum = {"type": "enum", "name": "E", "symbols": ["A", "B"]}
    pairs = [(base, variant) for variant in variants] + [(enum, {**enum, "default": "A"})]
    for original, variant in pairs:
        subject = stack.unique("compat-dedupe")
        _ok(registry.put(f"/config/{subject}", json={"compatibility": "NONE"}))
        first = _ok(registry.post(f"/subjects/{subject}/versions", json={"schema": json.dumps(original)}))
        second = _ok(registry.post(f"/subjects/{subject}/versions", json={"schema": json.dumps(variant)}))
        versions = _ok(registry.get(f"/subjects/{subject}/versions"))
        if _is_apicurio(stack):
            assert (second["id"], versions) == (first["id"], [1]), variant
        else:
            assert (second["id"] != first["id"], versions) == (True, [1, 2]), variant
