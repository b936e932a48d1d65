"""Avro's schema-resolution rules for one reader/writer pair, as Avro Java's ``SchemaCompatibility``
implements them (Confluent Schema Registry calls exactly that).

The algorithm is Java's, step for step, so that verdicts agree on every input including odd ones:

* same type on both sides: primitives match; arrays and maps compare items/values; fixed compares name
  and size; enums compare name, then require every writer symbol in the reader unless the reader enum
  has a default; records compare names, then every *reader* field: it must have a writer field (by name,
  or by one of the reader field's aliases) whose type it can read, or a default of its own; a writer
  union is readable when each of its branches is readable by the reader union.
* different types: a writer union must have every branch readable; a reader union needs *one* branch
  that reads the writer (the first that does wins); otherwise only the promotions int -> long, float,
  double; long -> float, double; float -> double; string <-> bytes are allowed.
* named types match when their *unqualified* names are equal, or when the writer's full name is one of
  the reader's (namespace-qualified) aliases.
* logical types are ignored; recursion is cut by memoising each (reader node, writer node) pair by
  identity and treating a pair that is still being checked as compatible.
* a reader field that matches two writer fields (name plus alias, or two aliases) makes Java throw; the
  whole pair is then reported incompatible with that single reason, as Confluent does.

Unlike Java, each problem carries a path *relative* to the pair that found it, so a memoised result
reused elsewhere still reports the right place, and a union that cannot read a writer branch keeps the
problems of its closest branch as ``causes``. Neither changes a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from pipeline.avro.model import (
    Array,
    Enum,
    Field,
    Fixed,
    Map,
    Primitive,
    Record,
    Schema,
    Union,
    describe,
)
from pipeline.compat.result import Kind

__all__ = ["Problem", "Step", "check_pair"]

# reader type -> writer types it can read by promotion (Avro specification, "Schema Resolution")
_PROMOTIONS: dict[str, frozenset[str]] = {
    "long": frozenset({"int"}),
    "float": frozenset({"int", "long"}),
    "double": frozenset({"int", "long", "float"}),
    "bytes": frozenset({"string"}),
    "string": frozenset({"bytes"}),
}


@dataclass(frozen=True)
class Step:
    """One step down a reader schema: into a field, array items, map values, or a writer union branch
    (``label`` then describes the writer union, for messages)."""

    kind: Literal["field", "items", "values", "branch"]
    name: str = ""
    index: int = -1
    label: str = ""


ITEMS = Step("items")
VALUES = Step("values")


@dataclass(frozen=True)
class Problem:
    """One incompatibility, located relative to the reader/writer pair that found it."""

    kind: Kind
    path: tuple[Step, ...]
    reader: Schema
    writer: Schema
    field: Field | None = None
    symbols: tuple[str, ...] = ()
    causes: tuple[Problem, ...] = ()

    def under(self, step: Step) -> Problem:
        return replace(self, path=(step, *self.path))


class _AmbiguousFieldError(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.kind.value)
        self.problem = problem


def check_pair(reader: Schema, writer: Schema) -> tuple[Problem, ...]:
    """Every reason ``reader`` cannot read all data written with ``writer``; empty when it can."""
    checker = _Checker()
    try:
        return checker.compat(reader, writer)
    except _AmbiguousFieldError as exc:
        return (exc.problem,)


class _Checker:
    def __init__(self) -> None:
        # (id(reader), id(writer)) -> problems, or None while that pair is being checked
        self.memo: dict[tuple[int, int], tuple[Problem, ...] | None] = {}
        self.pinned: list[tuple[Schema, Schema]] = []  # keeps the ids in ``memo`` valid
        self.stack: list[Step] = []  # where we are, only to locate an ambiguous field

    def compat(self, reader: Schema, writer: Schema) -> tuple[Problem, ...]:
        key = (id(reader), id(writer))
        if key in self.memo:
            return self.memo[key] or ()
        self.memo[key] = None
        self.pinned.append((reader, writer))
        problems = self.calculate(reader, writer)
        self.memo[key] = problems
        return problems

    def child(self, step: Step, reader: Schema, writer: Schema) -> tuple[Problem, ...]:
        self.stack.append(step)
        problems = self.compat(reader, writer)
        self.stack.pop()
        return tuple(problem.under(step) for problem in problems)

    def calculate(self, reader: Schema, writer: Schema) -> tuple[Problem, ...]:
        if reader.type == writer.type:
            return self.same_type(reader, writer)
        if isinstance(writer, Union):
            label = describe(writer)
            return tuple(
                problem
                for index, branch in enumerate(writer.branches)
                for problem in self.child(Step("branch", index=index, label=label), reader, branch)
            )
        if isinstance(reader, Union):
            return self.reader_union(reader, writer)
        if isinstance(reader, Primitive) and writer.type in _PROMOTIONS.get(reader.type, frozenset()):
            return ()
        return (Problem(Kind.TYPE_MISMATCH, (), reader, writer),)

    def same_type(self, reader: Schema, writer: Schema) -> tuple[Problem, ...]:
        if isinstance(reader, Array) and isinstance(writer, Array):
            return self.child(ITEMS, reader.items, writer.items)
        if isinstance(reader, Map) and isinstance(writer, Map):
            return self.child(VALUES, reader.values, writer.values)
        if isinstance(reader, Fixed) and isinstance(writer, Fixed):
            size = (
                () if reader.size == writer.size else (Problem(Kind.FIXED_SIZE_MISMATCH, (), reader, writer),)
            )
            return _names(reader, writer) + size
        if isinstance(reader, Enum) and isinstance(writer, Enum):
            return _names(reader, writer) + _enum_symbols(reader, writer)
        if isinstance(reader, Record) and isinstance(writer, Record):
            return _names(reader, writer) + self.fields(reader, writer)
        if isinstance(reader, Union) and isinstance(writer, Union):
            label = describe(writer)
            problems: list[Problem] = []
            for index, branch in enumerate(writer.branches):
                step = Step("branch", index=index, label=label)
                self.stack.append(step)
                # the reader union against one writer branch: one MISSING_UNION_BRANCH if none reads it
                problems.extend(problem.under(step) for problem in self.compat(reader, branch))
                self.stack.pop()
            return tuple(problems)
        return ()  # the same primitive type

    def reader_union(self, reader: Union, writer: Schema) -> tuple[Problem, ...]:
        tried: list[tuple[Schema, tuple[Problem, ...]]] = []
        for branch in reader.branches:
            problems = self.compat(branch, writer)
            if not problems:
                return ()
            tried.append((branch, problems))
        return (Problem(Kind.MISSING_UNION_BRANCH, (), reader, writer, causes=_closest(tried, writer)),)

    def fields(self, reader: Record, writer: Record) -> tuple[Problem, ...]:
        problems: list[Problem] = []
        for field in reader.fields:
            step = Step("field", name=field.name)
            writer_field = self.lookup(reader, writer, field, step)
            if writer_field is not None:
                problems.extend(self.child(step, field.type, writer_field.type))
            elif not field.has_default:
                problems.append(
                    Problem(Kind.READER_FIELD_MISSING_DEFAULT_VALUE, (step,), reader, writer, field=field)
                )
        return tuple(problems)

    def lookup(self, reader: Record, writer: Record, field: Field, step: Step) -> Field | None:
        """Java's ``lookupWriterField``: the writer field named like the reader field or one of its
        aliases; more than one match is an error that ends the check of this pair."""
        candidates = (writer.field_named(name) for name in (field.name, *field.aliases))
        matches = [candidate for candidate in candidates if candidate is not None]
        if len(matches) > 1:
            problem = Problem(
                Kind.AMBIGUOUS_FIELD_ALIAS,
                (*self.stack, step),
                reader,
                writer,
                field=field,
                symbols=tuple(match.name for match in matches),
            )
            raise _AmbiguousFieldError(problem)
        return matches[0] if matches else None


def _names(reader: Record | Enum | Fixed, writer: Record | Enum | Fixed) -> tuple[Problem, ...]:
    if reader.name.name == writer.name.name or writer.name.fullname in reader.aliases:
        return ()
    return (Problem(Kind.NAME_MISMATCH, (), reader, writer),)


def _enum_symbols(reader: Enum, writer: Enum) -> tuple[Problem, ...]:
    missing = sorted(set(writer.symbols) - set(reader.symbols))
    if not missing or (reader.default is not None and reader.default in reader.symbols):
        return ()
    return (Problem(Kind.MISSING_ENUM_SYMBOLS, (), reader, writer, symbols=tuple(missing)),)


def _closest(tried: list[tuple[Schema, tuple[Problem, ...]]], writer: Schema) -> tuple[Problem, ...]:
    """The problems of the reader branch most like the writer (same type, same name if named), to
    explain why no branch could read it; empty when no branch has the writer's type."""
    same_type = [(branch, problems) for branch, problems in tried if branch.type == writer.type]
    for branch, problems in same_type:
        if _same_name(branch, writer):
            return problems
    return same_type[0][1] if same_type else ()


def _same_name(reader: Schema, writer: Schema) -> bool:
    if isinstance(reader, Record | Enum | Fixed) and isinstance(writer, Record | Enum | Fixed):
        return not _names(reader, writer)
    return True
