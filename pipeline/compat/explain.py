"""Turn resolution problems into located, human sentences (one module so the wording is in one place)."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.avro.model import Enum, Fixed, Primitive, Record, Schema, Union, describe
from pipeline.compat.levels import Direction
from pipeline.compat.resolution import Problem, Step
from pipeline.compat.result import Incompatibility, Kind

__all__ = ["explain", "location_of"]

_PROMOTION_HINT = "Avro only promotes int to long/float/double, long to float/double, float to double"


def location_of(root: Schema, path: Sequence[Step]) -> str:
    """``Order.lines[].sku``: the reader root's simple name (its type keyword if unnamed), then ``.field``
    per record field, ``[]`` for array items and ``{}`` for map values; union branches add nothing."""
    return (root.name.name if isinstance(root, Record | Enum | Fixed) else root.type) + _suffix(path)


def _suffix(path: Sequence[Step]) -> str:
    rendered = {"items": "[]", "values": "{}", "branch": ""}
    return "".join(f".{step.name}" if step.kind == "field" else rendered[step.kind] for step in path)


def explain(
    problem: Problem, reader_root: Schema, version: int, direction: Direction, prefix: str | None = None
) -> Incompatibility:
    """The public :class:`Incompatibility` for ``problem`` found checking against ``version``."""
    # a cause's path is relative to the union that reported it
    location = location_of(reader_root, problem.path) if prefix is None else prefix + _suffix(problem.path)
    causes = tuple(explain(cause, reader_root, version, direction, location) for cause in problem.causes)
    if causes:  # the union has the branch, but it cannot read the value: its own problem is the fix
        writer = f"version {version}" if direction is Direction.BACKWARD else "the new schema"
        message = (
            f"{location}: the union's branch of that name cannot read what {writer} writes, so fix the "
            f"branch rather than adding one: {' | '.join(cause.message for cause in causes)}"
        )
    else:
        message = f"{location}: {_sentence(problem, version, direction)}"
    return Incompatibility(problem.kind, location, version, direction, message, causes)


def _sentence(problem: Problem, version: int, direction: Direction) -> str:
    backward = direction is Direction.BACKWARD
    old = f"version {version}"
    writer_who = old if backward else "the new schema"
    owner = "reader" if backward else f"{old}'s"
    reader, writer = problem.reader, problem.writer
    kind = problem.kind
    if kind is Kind.MISSING_ENUM_SYMBOLS:
        plural = len(problem.symbols) > 1
        symbols = ", ".join(problem.symbols)
        it = "them" if plural else "it"
        hint = (
            f"add {it} or give the enum a default"
            if backward
            else f"drop {it} from the new schema, or give {old}'s enum a default in a future version"
        )
        return f"{owner} enum has no symbol{'s' if plural else ''} {symbols} that {writer_who} writes; {hint}"
    if kind is Kind.READER_FIELD_MISSING_DEFAULT_VALUE:
        assert problem.field is not None
        enum_note = ""
        if isinstance(problem.field.type, Enum) and problem.field.type.default is not None:
            enum_note = " (the enum's own default does not count as a field default)"
        if backward:
            return (
                f"field {problem.field.name} has no default{enum_note} and {old} does not write it; "
                "give it a default (or, if it was renamed, an alias with the old name)"
            )
        return (
            f"{old} needs field {problem.field.name}, which has no default there{enum_note}, and the new "
            "schema does not write it; keep writing the field (renaming needs the old name)"
        )
    if kind is Kind.TYPE_MISMATCH:
        promotable = isinstance(reader, Primitive) and isinstance(writer, Primitive)
        hint = _PROMOTION_HINT + ", and string to/from bytes" if promotable else "the types differ in kind"
        return f"{owner} type {describe(reader)} cannot read {_written(problem, writer_who)}; {hint}"
    if kind is Kind.MISSING_UNION_BRANCH:
        renamed = _renamed_branch(reader, writer)
        if renamed is not None and backward and isinstance(writer, Record | Enum | Fixed):
            hint = (
                f"the union's {renamed.type} {renamed.name.fullname} is the one it wrote under another "
                f"name: keep the name {writer.name.fullname} or give {renamed.name.name} the alias "
                f'"{writer.name.fullname}"'
            )
        elif backward:
            hint = f"add a branch for {describe(writer)} to the union"
        else:
            hint = f"keep the new schema writing only what {old}'s union reads"
        return f"{owner} {describe(reader)} has no branch that reads {_written(problem, writer_who)}; {hint}"
    if kind is Kind.NAME_MISMATCH:
        assert isinstance(reader, Record | Enum | Fixed) and isinstance(writer, Record | Enum | Fixed)
        hint = (
            f'keep the name or add the alias "{writer.name.fullname}"'
            if backward
            else f"keep the name {reader.name.name} (aliases in the new schema do not help {old})"
        )
        return (
            f"{owner} {reader.type} is named {reader.name.fullname} but {writer_who} writes "
            f"{writer.name.fullname}; {hint}"
        )
    if kind is Kind.FIXED_SIZE_MISMATCH:
        assert isinstance(reader, Fixed) and isinstance(writer, Fixed)
        return (
            f"{owner} fixed {reader.name.name} has size {reader.size} but {writer_who} writes size "
            f"{writer.size}; a fixed type cannot change size"
        )
    assert problem.field is not None
    return (
        f"{owner} field {problem.field.name} matches several fields that {writer_who} writes "
        f"({', '.join(problem.symbols)}) by its name and aliases; Avro cannot choose, so remove the alias"
    )


def _written(problem: Problem, writer_who: str) -> str:
    """``the null (a branch of union [null, string]) that version 2 writes``."""
    what = describe(problem.writer)
    if problem.path and problem.path[-1].kind == "branch":
        what += f" (a branch of {problem.path[-1].label})"
    return f"the {what} that {writer_who} writes"


def _renamed_branch(reader: Schema, writer: Schema) -> Record | Enum | Fixed | None:
    """The reader union's named branch of the writer's kind and simple name, when the writer's full name
    differs: a namespace change, whose fix is an alias, not a new branch."""
    if not isinstance(reader, Union) or not isinstance(writer, Record | Enum | Fixed):
        return None
    for branch in reader.branches:
        if (
            isinstance(branch, Record | Enum | Fixed)
            and branch.type == writer.type
            and branch.name.name == writer.name.name
            and branch.name.fullname != writer.name.fullname
        ):
            return branch
    return None
