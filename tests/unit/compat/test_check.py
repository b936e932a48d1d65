"""``check()``'s result: its shape, order, locations and sentences, and the edges of the rules that the
evolution table does not show one by one."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import pipeline.compat as compat
from pipeline.compat import CompatibilityResult, Direction, Kind, Level, check
from pipeline.errors import IncompatibleSchemaError, SchemaLoadError


def _rec(name: str, *fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def _f(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


STATUS = {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "REFUNDED"]}


def test_public_api_is_complete() -> None:
    exported = {name for name in dir(compat) if not name.startswith("_")}
    modules = {"checker", "cli", "explain", "files", "levels", "model", "parsing", "resolution", "result"}
    assert set(compat.__all__) == exported - modules


def test_the_example_from_the_brief() -> None:
    versions = [
        _rec("Order", _f("status", {**STATUS, "symbols": ["NEW", "PAID"]})),
        _rec("Order", _f("status", {**STATUS, "symbols": ["NEW", "PAID"]}), _f("n", "int", default=0)),
        _rec("Order", _f("status", STATUS), _f("n", "int", default=0)),
    ]
    new = _rec("Order", _f("status", {**STATUS, "symbols": ["NEW", "PAID"]}), _f("n", "int", default=0))
    result = check(new, versions, "BACKWARD")
    assert result == CompatibilityResult(
        level=Level.BACKWARD,
        compatible=False,
        incompatibilities=(
            compat.Incompatibility(
                kind=Kind.MISSING_ENUM_SYMBOLS,
                location="Order.status",
                version=3,
                direction=Direction.BACKWARD,
                message="Order.status: reader enum has no symbol REFUNDED that version 3 writes; "
                "add it or give the enum a default",
            ),
        ),
        checked_versions=(3,),
    )
    first = result.incompatibilities[0]
    assert (first.reader, first.writer, str(first)) == ("new schema", "version 3", first.message)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.compatible = True  # type: ignore[misc]


def test_order_is_latest_version_first_then_backward_before_forward() -> None:
    old = _rec("R", _f("a", "int"))
    result = check(_rec("R", _f("b", "int")), [old, old], Level.FULL_TRANSITIVE)
    assert [(i.version, i.direction, i.location) for i in result.incompatibilities] == [
        (2, Direction.BACKWARD, "R.b"),
        (2, Direction.FORWARD, "R.a"),
        (1, Direction.BACKWARD, "R.b"),
        (1, Direction.FORWARD, "R.a"),
    ]
    assert result.checked_versions == (2, 1)


def test_none_and_first_versions_check_nothing() -> None:
    assert check("int", ["string"], Level.NONE) == CompatibilityResult(Level.NONE, True, (), ())
    assert check("int", [], Level.FULL_TRANSITIVE).compatible


def test_previous_versions_must_be_a_sequence() -> None:
    with pytest.raises(TypeError, match="oldest first"):
        check("int", "long")


def test_absurdly_deep_nesting_is_an_error_not_a_crash() -> None:
    def nest(depth: int, leaf: str) -> Any:
        schema: Any = leaf
        for level in range(depth):
            schema = _rec(f"R{level}", _f("f", schema))
        return schema

    assert check(nest(100, "long"), [nest(100, "int")]).compatible
    for depth in (250, 400):
        with pytest.raises(SchemaLoadError, match=r"nests? more than (128|512) levels deep"):
            check(nest(depth, "long"), [nest(depth, "int")])


def test_raise_if_incompatible_carries_the_report() -> None:
    result = check(_rec("R", _f("b", "int")), [_rec("R")])
    with pytest.raises(IncompatibleSchemaError, match=r"orders-value: not BACKWARD compatible") as raised:
        result.raise_if_incompatible("orders-value")
    assert raised.value.report is result
    check(_rec("R"), [_rec("R")]).raise_if_incompatible("orders-value")


def test_a_shared_named_type_is_located_at_each_use() -> None:
    """Avro Java memoises a reader/writer pair and reports its problems where it first met them; our
    paths are relative to the pair, so each field that uses the type gets its own location."""
    address = _rec("Address", _f("zip", "string"))
    old = _rec("Order", _f("billing", address), _f("shipping", "Address"))
    new = _rec("Order", _f("billing", _rec("Address", _f("zip", "int"))), _f("shipping", "Address"))
    result = check(new, [old])
    assert [i.location for i in result.incompatibilities] == ["Order.billing.zip", "Order.shipping.zip"]


def test_recursion_terminates_and_still_finds_problems() -> None:
    tree_old = _rec(
        "Tree", _f("kids", {"type": "array", "items": "Tree"}), _f("map", {"type": "map", "values": "Tree"})
    )
    tree_new = _rec(
        "Tree",
        _f("kids", {"type": "array", "items": "Tree"}),
        _f("map", {"type": "map", "values": "Tree"}),
        _f("size", "int"),
    )
    result = check(tree_new, [tree_old], Level.FULL)
    assert [(i.kind, i.location) for i in result.incompatibilities] == [
        (Kind.READER_FIELD_MISSING_DEFAULT_VALUE, "Tree.size")
    ]


def test_a_union_explains_why_its_closest_branch_failed() -> None:
    customer = _rec("Customer", _f("name", "string"))
    old = _rec("Order", _f("payer", ["null", customer], default=None))
    new = _rec(
        "Order",
        _f("payer", ["null", _rec("Customer", _f("name", "string"), _f("vip", "boolean"))], default=None),
    )
    (incompatibility,) = check(new, [old]).incompatibilities
    assert (incompatibility.kind, incompatibility.location) == (Kind.MISSING_UNION_BRANCH, "Order.payer")
    (cause,) = incompatibility.causes
    assert (cause.kind, cause.location) == (Kind.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.payer.vip")
    assert incompatibility.message == (
        "Order.payer: the union's branch of that name cannot read what version 1 writes, so fix the "
        "branch rather than adding one: Order.payer.vip: field vip has no default and version 1 does not "
        "write it; give it a default (or, if it was renamed, an alias with the old name)"
    )


@pytest.mark.parametrize(
    ("new", "old", "direction", "message", "reason"),
    [
        (
            _rec("R", _f("h", {"type": "fixed", "name": "H", "size": 4})),
            _rec("R", _f("h", {"type": "fixed", "name": "H", "size": 8})),
            Direction.FORWARD,
            "R.h: version 1's fixed H has size 8 but the new schema writes size 4; "
            "a fixed type cannot change size",
            "the forward sentence names the old version as reader",
        ),
        (
            _rec("R", _f("a", "int", aliases=["b"])),
            _rec("R", _f("a", "int"), _f("b", "int")),
            Direction.BACKWARD,
            "R.a: reader field a matches several fields that version 1 writes (a, b) "
            "by its name and aliases; Avro cannot choose, so remove the alias",
            "ambiguous alias: the pair stops there",
        ),
        (
            _rec("R", _f("e", {**STATUS, "name": "Stat"})),
            _rec("R", _f("e", STATUS)),
            Direction.FORWARD,
            "R.e: version 1's enum is named Status but the new schema writes Stat; keep the name Status "
            "(aliases in the new schema do not help version 1)",
            "a rename read by the old version",
        ),
        (
            _rec("R"),
            _rec("R", _f("x", "int")),
            Direction.FORWARD,
            "R.x: version 1 needs field x, which has no default there, and the new schema does not "
            "write it; keep writing the field (renaming needs the old name)",
            "a required field removed",
        ),
        (
            _rec("R", _f("x", {"type": "array", "items": "int"})),
            _rec("R", _f("x", "int")),
            Direction.BACKWARD,
            "R.x: reader type array of int cannot read the int that version 1 writes; "
            "the types differ in kind",
            "complex type mismatch",
        ),
    ],
)
def test_sentences(new: Any, old: Any, direction: Direction, message: str, reason: str) -> None:
    level = Level.BACKWARD if direction is Direction.BACKWARD else Level.FORWARD
    (incompatibility,) = check(new, [old], level).incompatibilities
    assert incompatibility.message == message, reason


def test_a_union_branch_that_cannot_read_its_old_self_leads_with_the_real_fix() -> None:
    old = ["null", _rec("Money", _f("cents", "long"))]
    new = ["null", _rec("Money", _f("cents", "long"), _f("currency", "string"))]
    (problem,) = check(new, [old]).incompatibilities
    assert problem.message.startswith("union: the union's branch of that name cannot read")
    assert "union.currency: field currency has no default" in problem.message
    assert "add a branch" not in problem.message
