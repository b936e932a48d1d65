"""The gate's pure centre: which earlier versions count, the verdict at a level, resolving each
version with its own named types, and folding the registry's answer in. One reason per row."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from pipeline.compat import Kind, Level
from pipeline.errors import SchemaLoadError
from pipeline.gate import (
    Candidate,
    GateReport,
    PastVersion,
    Status,
    SubjectVerdict,
    judge,
    reconcile,
    resolve,
    schema_key,
)


def rec(*fields: dict[str, Any], namespace: str = "t", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": "R", "namespace": namespace, "fields": list(fields), **extra}


def f(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


ID = f("id", "string")
SIZE_STRING = f("size", "string")
SIZE_INT_DEFAULT = f("size", "int", default=0)
MONEY_V1 = {"type": "record", "name": "Money", "namespace": "c", "fields": [f("amount", "string")]}
MONEY_V2 = {"type": "record", "name": "Money", "namespace": "c", "fields": [f("amount", "int")]}


def text(schema: Any) -> str:
    return json.dumps(schema)


def candidate(schema: Any, level: Level = Level.BACKWARD) -> Candidate:
    return Candidate("s-value", "t.R", "t.R.avsc", level, schema, json.dumps(schema, indent=2))


def past(*schemas: Any, named: dict[str, Any] | None = None) -> list[PastVersion]:
    types = {name: text(schema) for name, schema in (named or {}).items()}
    return [
        PastVersion(f"v{i}", s if isinstance(s, str) else text(s), types) for i, s in enumerate(schemas, 1)
    ]


@dataclass(frozen=True)
class Case:
    id: str
    history: list[PastVersion]
    new: Any
    status: Status
    reason: str
    level: Level = Level.BACKWARD
    tip_is_candidate: bool = True
    versions: int | None = None  # how many distinct earlier versions
    checked: tuple[int, ...] | None = None
    same_as: int | None = None
    kinds: tuple[Kind, ...] = ()
    note: str | None = None


CASES = [
    Case("no-history", [], rec(ID), Status.NEW, "a file never committed has nothing to check", versions=0),
    Case(
        "only-the-candidate-committed",
        past(rec(ID)),
        rec(ID),
        Status.NEW,
        "the tip identical to the working tree is the candidate itself, not an earlier version",
        versions=0,
    ),
    Case(
        "committed-change-rechecked",
        past(rec(ID), rec(ID, f("n", "int", default=0))),
        rec(ID, f("n", "int", default=0)),
        Status.COMPATIBLE,
        "a clean checkout re-checks its own last change against the version before it",
        versions=1,
        checked=(1,),
    ),
    Case(
        "committed-breaking-change",
        past(rec(ID), rec(ID, f("n", "int"))),
        rec(ID, f("n", "int")),
        Status.INCOMPATIBLE,
        "a committed field without a default fails against the version before it",
        checked=(1,),
        kinds=(Kind.READER_FIELD_MISSING_DEFAULT_VALUE,),
    ),
    Case(
        "uncommitted-change",
        past(rec(ID)),
        rec(ID, f("n", "int")),
        Status.INCOMPATIBLE,
        "a working-tree edit is checked against the committed tip",
        checked=(1,),
        kinds=(Kind.READER_FIELD_MISSING_DEFAULT_VALUE,),
    ),
    Case(
        "revert-to-an-older-version",
        past(rec(ID, SIZE_STRING), rec(ID), rec(ID, SIZE_STRING)),
        rec(ID, SIZE_STRING),
        Status.UNCHANGED,
        "Confluent returns the existing version 1 for it without a check",
        versions=2,
        same_as=1,
    ),
    Case(
        "registry-latest-is-the-candidate",
        past(rec(ID), rec(ID, SIZE_STRING)),
        rec(ID, SIZE_STRING),
        Status.UNCHANGED,
        "against the registry nothing is the candidate's own commit: it is registered version 2",
        tip_is_candidate=False,
        versions=2,
        same_as=2,
    ),
    Case(
        "non-transitive-latest-only",
        past(rec(ID, SIZE_STRING), rec(ID)),
        rec(ID, SIZE_INT_DEFAULT),
        Status.COMPATIBLE,
        "BACKWARD reads version 2 only, which has no size",
        checked=(2,),
    ),
    Case(
        "transitive-every-version",
        past(rec(ID, SIZE_STRING), rec(ID)),
        rec(ID, SIZE_INT_DEFAULT),
        Status.INCOMPATIBLE,
        "BACKWARD_TRANSITIVE also reads version 1, whose size is a string",
        level=Level.BACKWARD_TRANSITIVE,
        checked=(2, 1),
        kinds=(Kind.TYPE_MISMATCH,),
    ),
    Case(
        "forward-removed-field-without-default",
        past(rec(ID, SIZE_STRING)),
        rec(ID),
        Status.INCOMPATIBLE,
        "FORWARD: version 1 as reader needs size, which the new schema no longer writes",
        level=Level.FORWARD,
        kinds=(Kind.READER_FIELD_MISSING_DEFAULT_VALUE,),
    ),
    Case(
        "none-checks-nothing",
        past(rec(ID, SIZE_STRING)),
        rec(f("id", "int")),
        Status.COMPATIBLE,
        "level NONE compares against no version",
        level=Level.NONE,
        checked=(),
    ),
    Case(
        "formatting-and-key-order",
        [
            PastVersion("v1", text(rec(ID)), {}),
            PastVersion("v2", json.dumps(rec(ID), indent=4), {}),
            PastVersion("v3", json.dumps(dict(reversed(list(rec(ID).items())))), {}),
            PastVersion("v4", text(rec(ID, SIZE_INT_DEFAULT)), {}),
        ],
        rec(ID, SIZE_INT_DEFAULT, f("n", "long", default=1)),
        Status.COMPATIBLE,
        "reformatting or reordering keys makes no new version (two distinct: v1 and v4)",
        versions=2,
        checked=(2,),
    ),
    Case(
        "doc-is-a-new-version",
        past(rec(ID), rec(ID, doc="now documented")),
        rec(ID, f("n", "int", default=0), doc="now documented"),
        Status.COMPATIBLE,
        "Confluent registers a doc-only change as a new version (Apicurio would merge it)",
        versions=2,
    ),
    Case(
        "unparsable-version-skipped",
        [PastVersion("v1", "{not json", {}), *past(rec(ID))],
        rec(ID, f("n", "int")),
        Status.INCOMPATIBLE,
        "a committed version that is not JSON could never have been registered: skipped with a note",
        versions=1,
        note="skipped v1",
    ),
    Case(
        "invalid-avro-version-skipped",
        past({"type": "record", "name": "R", "fields": [f("x", "nope")]}, rec(ID)),
        rec(ID, SIZE_INT_DEFAULT),
        Status.COMPATIBLE,
        "a version naming an unknown type is skipped, the valid one is still checked",
        versions=1,
        checked=(1,),
        note="unknown type",
    ),
    Case(
        "namespace-move-is-compatible",
        past(rec(ID, namespace="old.place")),
        rec(ID, namespace="new.place"),
        Status.COMPATIBLE,
        "Confluent matches records by unqualified name; the Avro specification would need full names",
        level=Level.FULL_TRANSITIVE,
    ),
    Case(
        "rename-needs-an-alias",
        past(rec(ID)),
        {**rec(ID), "name": "Renamed"},
        Status.INCOMPATIBLE,
        "a renamed record reads old data only with the old full name among its aliases",
        kinds=(Kind.NAME_MISMATCH,),
    ),
    Case(
        "rename-with-alias",
        past(rec(ID)),
        {**rec(ID), "name": "Renamed", "aliases": ["t.R"]},
        Status.COMPATIBLE,
        "reader aliases are qualified with the reader's namespace and matched to the writer's full name",
    ),
    Case(
        "invalid-candidate-default",
        past(rec(ID)),
        rec(ID, f("n", "int", default="zero")),
        Status.INVALID,
        "the candidate is parsed strictly, as Confluent parses a new schema",
    ),
    Case(
        "each-version-with-its-own-named-types",
        past(rec(ID, f("price", "c.Money")), named={"c.Money": MONEY_V1}),
        rec(ID, f("price", MONEY_V2)),
        Status.INCOMPATIBLE,
        "version 1 wrote Money.amount as a string (Money as it was then), which an int cannot read",
        kinds=(Kind.TYPE_MISMATCH,),
    ),
    Case(
        "shared-type-change-is-a-version",
        [
            PastVersion("v1", text(rec(ID, f("price", "c.Money"))), {"c.Money": text(MONEY_V1)}),
            PastVersion("v2", text(rec(ID, f("price", "c.Money"))), {"c.Money": text(MONEY_V2)}),
        ],
        rec(ID, f("price", MONEY_V2), SIZE_INT_DEFAULT),
        Status.COMPATIBLE,
        "the same text with a changed shared type is a new version; BACKWARD compares with it only",
        versions=2,
        checked=(2,),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_judge(case: Case) -> None:
    verdict = judge(candidate(case.new, case.level), case.history, tip_is_candidate=case.tip_is_candidate)
    assert verdict.status is case.status, (case.reason, verdict)
    if case.versions is not None:
        assert len(verdict.versions) == case.versions, case.reason
    if case.checked is not None:
        assert verdict.checked == case.checked, case.reason
    assert verdict.same_as == case.same_as, case.reason
    if case.kinds:
        assert tuple(p.incompatibility.kind for p in verdict.problems) == case.kinds, case.reason
    if case.note is not None:
        assert any(case.note in note for note in verdict.notes), (case.reason, verdict.notes)
    assert verdict.passed == (case.status in (Status.NEW, Status.UNCHANGED, Status.COMPATIBLE))


def test_versions_are_numbered_oldest_first_and_named_by_the_commit_that_introduced_them() -> None:
    history = [
        PastVersion("a", text(rec(ID)), {}),
        PastVersion("b", text(rec(ID)), {}),  # unchanged: still version 1
        PastVersion("c", text(rec(ID, SIZE_STRING)), {}),
    ]
    verdict = judge(candidate(rec(ID, f("n", "int"))), history, tip_is_candidate=True)
    assert [(v.number, v.source) for v in verdict.versions] == [(1, "a"), (2, "c")]
    assert verdict.version(2).source == "c"


def test_a_problem_carries_the_line_of_the_offending_field() -> None:
    new = rec(ID, SIZE_STRING, f("n", "int"))
    verdict = judge(candidate(new), past(rec(ID, SIZE_STRING)), tip_is_candidate=True)
    (problem,) = verdict.problems
    file_lines = json.dumps(new, indent=2).splitlines()
    assert problem.line is not None
    assert '"name": "n"' in file_lines[problem.line - 1]
    assert problem.incompatibility.location == "R.n"


def test_resolve_writes_out_named_types_and_pins_their_namespace() -> None:
    schema = resolve(text(rec(f("a", "c.Money"), f("b", "c.Money"))), {"c.Money": text(MONEY_V1)}, what="v1")
    assert schema["fields"][0]["type"] == MONEY_V1  # written out at its first use
    assert schema["fields"][1]["type"] == "c.Money"  # then referred to by name


def test_resolve_ignores_types_that_are_not_json_and_names_bad_text() -> None:
    schema = resolve(text(rec(ID)), {"c.Broken": "{oops"}, what="v1")
    assert schema == rec(ID)
    with pytest.raises(SchemaLoadError, match="v3: not valid JSON"):
        resolve("{oops", {}, what="v3")


def test_schema_key_ignores_formatting_and_key_order_only() -> None:
    assert schema_key(rec(ID)) == schema_key(json.loads(json.dumps(rec(ID), indent=3)))
    assert schema_key(rec(ID)) == schema_key(dict(reversed(list(rec(ID).items()))))
    assert schema_key(rec(ID)) != schema_key(rec(ID, doc="x"))


def _verdict(status: Status, level: Level = Level.BACKWARD) -> SubjectVerdict:
    return SubjectVerdict("s-value", "t.R", "t.R.avsc", level, status)


COMPATIBLE, INCOMPATIBLE = _verdict(Status.COMPATIBLE), _verdict(Status.INCOMPATIBLE)


@pytest.mark.parametrize(
    ("verdict", "at_level", "registry_level", "answer", "status", "note", "reason"),
    [
        (COMPATIBLE, COMPATIBLE, Level.BACKWARD, True, Status.COMPATIBLE, None, "both say compatible"),
        (INCOMPATIBLE, INCOMPATIBLE, Level.BACKWARD, False, Status.INCOMPATIBLE, None, "both say no"),
        (
            COMPATIBLE,
            COMPATIBLE,
            Level.BACKWARD,
            False,
            Status.DISAGREEMENT,
            "says incompatible at BACKWARD, the local checker says compatible",
            "the registry refuses what the checker accepts",
        ),
        (
            INCOMPATIBLE,
            INCOMPATIBLE,
            Level.BACKWARD,
            True,
            Status.DISAGREEMENT,
            "says compatible at BACKWARD, the local checker says incompatible",
            "the registry accepts what the checker refuses",
        ),
        (
            COMPATIBLE,
            COMPATIBLE,
            Level.BACKWARD,
            None,
            Status.UNJUDGED,
            "could not judge the candidate: HTTP 422",
            "a registry that cannot judge never makes a silent pass",
        ),
        (
            INCOMPATIBLE,
            INCOMPATIBLE,
            Level.BACKWARD,
            None,
            Status.INCOMPATIBLE,
            "could not judge",
            "the checker's failure stands when the registry cannot judge",
        ),
        (
            _verdict(Status.INCOMPATIBLE, Level.FULL),
            COMPATIBLE,
            Level.BACKWARD,
            True,
            Status.INCOMPATIBLE,
            "the registry applies BACKWARD to s-value, the catalog says FULL",
            "levels differ: compared at the registry's, judged at the catalog's",
        ),
    ],
)
def test_reconcile(
    verdict: SubjectVerdict,
    at_level: SubjectVerdict,
    registry_level: Level,
    answer: bool | None,
    status: Status,
    note: str | None,
    reason: str,
) -> None:
    messages = ("HTTP 422",) if answer is None else ()
    result = reconcile(verdict, at_level, registry_level, answer, messages)
    assert result.status is status, reason
    assert result.registry is not None and result.registry.compatible is answer
    if note is None:
        assert result.notes == (), reason
    else:
        assert any(note in n for n in result.notes), (reason, result.notes)


def test_reconcile_explains_apicurios_transitive_versions_endpoint() -> None:
    result = reconcile(COMPATIBLE, COMPATIBLE, Level.BACKWARD, False, transitively_incompatible=True)
    assert result.status is Status.DISAGREEMENT
    assert "answered as BACKWARD_TRANSITIVE would" in result.notes[-1]


@pytest.mark.parametrize(
    ("statuses", "code", "reason"),
    [
        ((), 0, "an empty catalog passes"),
        ((Status.NEW, Status.UNCHANGED, Status.COMPATIBLE), 0, "every passing status"),
        ((Status.COMPATIBLE, Status.INCOMPATIBLE), 1, "one incompatible subject fails the gate"),
        ((Status.INVALID,), 1, "an invalid candidate fails"),
        ((Status.DISAGREEMENT,), 1, "a disagreement is a failure of its own"),
        ((Status.COMPATIBLE, Status.UNJUDGED), 2, "only unjudged: the gate could not tell"),
        ((Status.UNJUDGED, Status.INCOMPATIBLE), 1, "a definite failure wins over could-not-tell"),
    ],
)
def test_exit_code(statuses: tuple[Status, ...], code: int, reason: str) -> None:
    report = GateReport("git", "HEAD", tuple(_verdict(status) for status in statuses))
    assert report.exit_code == code, reason
