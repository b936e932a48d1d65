"""Schema-evolution cases written from the Avro specification ("Schema Resolution") and Confluent's
definition of its levels, as data: the unit suite checks ``pipeline.compat.check`` against them and the
integration suite checks the real registry against the checker, case by case.

Each case gives the previous versions (oldest first), the new schema, the verdict at all seven levels
and, when FULL_TRANSITIVE fails, the first incompatibility ``check`` reports at FULL_TRANSITIVE (latest
version first, BACKWARD before FORWARD): kind, location, version and direction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.compat import Direction, Kind, Level

B = Direction.BACKWARD
F = Direction.FORWARD


@dataclass(frozen=True)
class First:
    kind: Kind
    location: str
    version: int
    direction: Direction
    message: str | None = None  # asserted exactly when given


@dataclass(frozen=True)
class EvolutionCase:
    id: str
    reason: str
    previous: tuple[Any, ...]
    new: Any
    verdicts: dict[Level, bool]
    first: First | None = None
    named_types: dict[str, Any] = field(default_factory=dict)


def levels(
    backward: bool,
    forward: bool,
    *,
    backward_transitive: bool | None = None,
    forward_transitive: bool | None = None,
) -> dict[Level, bool]:
    """All seven verdicts from the pairwise ones against the latest version and, for cases with more
    than one previous version, against all of them."""
    bt = backward if backward_transitive is None else backward_transitive
    ft = forward if forward_transitive is None else forward_transitive
    return {
        Level.NONE: True,
        Level.BACKWARD: backward,
        Level.FORWARD: forward,
        Level.FULL: backward and forward,
        Level.BACKWARD_TRANSITIVE: bt,
        Level.FORWARD_TRANSITIVE: ft,
        Level.FULL_TRANSITIVE: bt and ft,
    }


BOTH = levels(True, True)
BACKWARD_ONLY = levels(True, False)
FORWARD_ONLY = levels(False, True)
NEITHER = levels(False, False)


# -- schema builders ------------------------------------------------------------------------------

NS = "com.example.orders"
ID = {"name": "id", "type": "string"}


def fld(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def order(*fields: dict[str, Any], name: str = "Order", namespace: str | None = NS, **extra: Any) -> dict:
    schema: dict[str, Any] = {"type": "record", "name": name, "fields": [ID, *fields], **extra}
    if namespace is not None:
        schema["namespace"] = namespace
    return schema


def rec(name: str, *fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def enum(name: str, *symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": name, "symbols": list(symbols), **extra}


def fixed(name: str, size: int, **extra: Any) -> dict[str, Any]:
    return {"type": "fixed", "name": name, "size": size, **extra}


def arr(items: Any) -> dict[str, Any]:
    return {"type": "array", "items": items}


def mp(values: Any) -> dict[str, Any]:
    return {"type": "map", "values": values}


def logical(base: Any, name: str, **extra: Any) -> dict[str, Any]:
    return {"type": base, "logicalType": name, **extra}


def case(
    id: str,
    reason: str,
    previous: list[Any],
    new: Any,
    verdicts: dict[Level, bool],
    first: tuple[Kind, str, int, Direction] | tuple[Kind, str, int, Direction, str] | None = None,
    named_types: dict[str, Any] | None = None,
) -> EvolutionCase:
    return EvolutionCase(
        id, reason, tuple(previous), new, verdicts, First(*first) if first else None, named_types or {}
    )


K = Kind
ADDRESS = rec("Address", fld("street", "string"), fld("zip", "string"))
CUSTOMER = rec("Customer", fld("name", "string"), fld("address", ADDRESS))
STATUS = enum("Status", "PENDING", "PAID", "SHIPPED")
LINE = rec("Line", fld("sku", "string"), fld("qty", "int"))
NODE = rec("Node", fld("value", "int"), fld("next", ["null", "Node"], default=None))
MONEY = {
    "type": "record",
    "name": "Money",
    "namespace": "com.example.common",
    "fields": [fld("units", "long"), fld("currency", "com.example.common.Currency")],
}
CURRENCY = {"type": "enum", "name": "Currency", "namespace": "com.example.common", "symbols": ["EUR", "USD"]}
COMMON = {"com.example.common.Money": MONEY, "com.example.common.Currency": CURRENCY}

CASES: list[EvolutionCase] = [
    # -- fields --------------------------------------------------------------------------------------
    case(
        "field-add-with-default",
        "a new field with a default: new readers fill it, old readers skip it",
        [order()],
        order(fld("note", "string", default="")),
        BOTH,
    ),
    case(
        "field-add-without-default",
        "new reader has no value for the field in old data",
        [order()],
        order(fld("note", "string")),
        FORWARD_ONLY,
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.note", 1, B),
    ),
    case(
        "field-add-optional-null-default",
        "the usual optional field: union with null, default null",
        [order()],
        order(fld("note", ["null", "string"], default=None)),
        BOTH,
    ),
    case(
        "field-add-optional-without-default",
        "a nullable type is not a default; old data lacks it",
        [order()],
        order(fld("note", ["null", "string"])),
        FORWARD_ONLY,
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.note", 1, B),
    ),
    case(
        "field-remove-with-default",
        "old readers fall back to the default they declared",
        [order(fld("note", "string", default=""))],
        order(),
        BOTH,
    ),
    case(
        "field-remove-without-default",
        "old readers need the field and have no default for it",
        [order(fld("note", "string"))],
        order(),
        BACKWARD_ONLY,
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.note", 1, F),
    ),
    case(
        "field-rename-no-alias",
        "a rename is a removal plus an addition without default",
        [order(fld("amount", "double"))],
        order(fld("total", "double")),
        NEITHER,
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.total", 1, B),
    ),
    case(
        "field-rename-with-alias",
        "the reader alias finds the old field; old readers still miss it",
        [order(fld("amount", "double"))],
        order(fld("total", "double", aliases=["amount"])),
        BACKWARD_ONLY,
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.amount", 1, F),
    ),
    case(
        "field-rename-with-alias-old-default",
        "old readers use their default for the renamed field",
        [order(fld("amount", "double", default=0.0))],
        order(fld("total", "double", aliases=["amount"], default=0.0)),
        BOTH,
    ),
    case(
        "field-writer-alias-ignored",
        "writer aliases are never consulted; old reader's alias finds total",
        [order(fld("amount", "double", aliases=["total"]))],
        order(fld("total", "double")),
        FORWARD_ONLY,
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.total", 1, B),
    ),
    case(
        "field-reorder",
        "fields are matched by name, not position",
        [order(fld("a", "int"), fld("b", "string"))],
        order(fld("b", "string"), fld("a", "int")),
        BOTH,
    ),
    case(
        "field-change-default",
        "a different default does not change what is written",
        [order(fld("qty", "int", default=1))],
        order(fld("qty", "int", default=2)),
        BOTH,
    ),
    case(
        "field-doc-only",
        "documentation is not part of resolution",
        [order(fld("qty", "int"))],
        order(fld("qty", "int", doc="how many")),
        BOTH,
    ),
    case(
        "field-add-record-with-default",
        "a record-typed field with an object default",
        [order()],
        order(fld("ship_to", ADDRESS, default={"street": "", "zip": ""})),
        BOTH,
    ),
    case(
        "field-add-array-with-default",
        "an array field defaulting to empty",
        [order()],
        order(fld("tags", arr("string"), default=[])),
        BOTH,
    ),
    case(
        "field-ambiguous-alias",
        "reader field matches two writer fields (name and alias): Java throws",
        [order(fld("a", "int"), fld("b", "int"))],
        order(fld("a", "int", aliases=["b"])),
        NEITHER,
        (K.AMBIGUOUS_FIELD_ALIAS, "Order.a", 1, B),
    ),
    case(
        "field-alias-to-itself",
        "an alias equal to the field's own name also matches twice in Java",
        [order(fld("a", "int"))],
        order(fld("a", "int", aliases=["a"])),
        FORWARD_ONLY,
        (K.AMBIGUOUS_FIELD_ALIAS, "Order.a", 1, B),
    ),
    case(
        "field-enum-default-not-field-default",
        "Java compares the enum with the writer record: no rescue",
        [order()],
        order(fld("status", enum("Status", "A", "B", default="A"))),
        FORWARD_ONLY,
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.status", 1, B),
    ),
    # -- promotions ----------------------------------------------------------------------------------
    case(
        "promote-int-long",
        "int is promoted to long; a long does not fit an int reader",
        [order(fld("n", "int"))],
        order(fld("n", "long")),
        BACKWARD_ONLY,
        (K.TYPE_MISMATCH, "Order.n", 1, F),
    ),
    case(
        "promote-int-float",
        "int is promoted to float",
        [order(fld("n", "int"))],
        order(fld("n", "float")),
        BACKWARD_ONLY,
        (K.TYPE_MISMATCH, "Order.n", 1, F),
    ),
    case(
        "promote-int-double",
        "int is promoted to double",
        [order(fld("n", "int"))],
        order(fld("n", "double")),
        BACKWARD_ONLY,
        (K.TYPE_MISMATCH, "Order.n", 1, F),
    ),
    case(
        "promote-long-float",
        "long is promoted to float",
        [order(fld("n", "long"))],
        order(fld("n", "float")),
        BACKWARD_ONLY,
        (K.TYPE_MISMATCH, "Order.n", 1, F),
    ),
    case(
        "promote-long-double",
        "long is promoted to double",
        [order(fld("n", "long"))],
        order(fld("n", "double")),
        BACKWARD_ONLY,
        (K.TYPE_MISMATCH, "Order.n", 1, F),
    ),
    case(
        "promote-float-double",
        "float is promoted to double",
        [order(fld("n", "float"))],
        order(fld("n", "double")),
        BACKWARD_ONLY,
        (K.TYPE_MISMATCH, "Order.n", 1, F),
    ),
    case(
        "narrow-long-int",
        "narrowing: the new int reader cannot read old longs",
        [order(fld("n", "long"))],
        order(fld("n", "int")),
        FORWARD_ONLY,
        (
            K.TYPE_MISMATCH,
            "Order.n",
            1,
            B,
            "Order.n: reader type int cannot read the long that version 1 writes; Avro only promotes int to "
            "long/float/double, long to float/double, float to double, and string to/from bytes",
        ),
    ),
    case(
        "narrow-double-float",
        "narrowing double to float is not a promotion",
        [order(fld("n", "double"))],
        order(fld("n", "float")),
        FORWARD_ONLY,
        (K.TYPE_MISMATCH, "Order.n", 1, B),
    ),
    case(
        "narrow-float-long",
        "float never becomes long",
        [order(fld("n", "float"))],
        order(fld("n", "long")),
        FORWARD_ONLY,
        (K.TYPE_MISMATCH, "Order.n", 1, B),
    ),
    case(
        "string-to-bytes",
        "string and bytes read each other",
        [order(fld("blob", "string"))],
        order(fld("blob", "bytes")),
        BOTH,
    ),
    case(
        "bytes-to-string",
        "bytes and string read each other",
        [order(fld("blob", "bytes"))],
        order(fld("blob", "string")),
        BOTH,
    ),
    case(
        "int-to-string",
        "no promotion between numbers and strings",
        [order(fld("n", "int"))],
        order(fld("n", "string")),
        NEITHER,
        (K.TYPE_MISMATCH, "Order.n", 1, B),
    ),
    case(
        "boolean-to-int",
        "booleans are not numbers",
        [order(fld("flag", "boolean"))],
        order(fld("flag", "int")),
        NEITHER,
        (K.TYPE_MISMATCH, "Order.flag", 1, B),
    ),
    case(
        "null-to-string",
        "null is only read by null",
        [order(fld("x", "null"))],
        order(fld("x", "string")),
        NEITHER,
        (K.TYPE_MISMATCH, "Order.x", 1, B),
    ),
    case(
        "top-level-int-to-long",
        "promotion applies to a whole schema too",
        ["int"],
        "long",
        BACKWARD_ONLY,
        (K.TYPE_MISMATCH, "int", 1, F),
    ),
    case("top-level-string-to-bytes", "a top-level string may become bytes", ["string"], "bytes", BOTH),
    # -- enums ---------------------------------------------------------------------------------------
    case(
        "enum-add-symbol",
        "old readers meet a symbol they do not know and have no default",
        [order(fld("status", STATUS))],
        order(fld("status", enum("Status", "PENDING", "PAID", "SHIPPED", "LOST"))),
        BACKWARD_ONLY,
        (
            K.MISSING_ENUM_SYMBOLS,
            "Order.status",
            1,
            F,
            "Order.status: version 1's enum has no symbol LOST that the new schema writes; "
            "drop it from the new schema, or give version 1's enum a default in a future version",
        ),
    ),
    case(
        "enum-remove-symbol",
        "new readers cannot decode the removed symbol in old data",
        [order(fld("status", STATUS))],
        order(fld("status", enum("Status", "PENDING", "PAID"))),
        FORWARD_ONLY,
        (K.MISSING_ENUM_SYMBOLS, "Order.status", 1, B),
    ),
    case(
        "enum-remove-symbol-reader-default",
        "the new reader's enum default absorbs the removed symbol",
        [order(fld("status", STATUS))],
        order(fld("status", enum("Status", "PENDING", "PAID", default="PENDING"))),
        BOTH,
    ),
    case(
        "enum-add-symbol-old-default",
        "old readers map the new symbol to their enum default",
        [order(fld("status", enum("Status", "PENDING", "PAID", default="PENDING")))],
        order(fld("status", enum("Status", "PENDING", "PAID", "LOST", default="PENDING"))),
        BOTH,
    ),
    case(
        "enum-reorder-symbols",
        "enums resolve by symbol name, not ordinal",
        [order(fld("status", STATUS))],
        order(fld("status", enum("Status", "SHIPPED", "PAID", "PENDING"))),
        BOTH,
    ),
    case(
        "enum-add-default-only",
        "adding an enum default changes nothing that is written",
        [order(fld("status", STATUS))],
        order(fld("status", {**STATUS, "default": "PENDING"})),
        BOTH,
    ),
    case(
        "enum-rename-no-alias",
        "named types must keep their (unqualified) name",
        [order(fld("status", STATUS))],
        order(fld("status", {**STATUS, "name": "State"})),
        NEITHER,
        (K.NAME_MISMATCH, "Order.status", 1, B),
    ),
    case(
        "enum-rename-with-alias",
        "the reader alias accepts the old name; old readers do not know the new",
        [order(fld("status", STATUS))],
        order(fld("status", {**STATUS, "name": "State", "aliases": ["Status"]})),
        BACKWARD_ONLY,
        (K.NAME_MISMATCH, "Order.status", 1, F),
    ),
    case(
        "enum-namespace-change",
        "Confluent (Avro Java) compares unqualified names only",
        [order(fld("status", STATUS))],
        order(fld("status", {**STATUS, "namespace": "com.example.other"})),
        BOTH,
    ),
    case(
        "enum-to-string",
        "an enum is not a string in resolution",
        [order(fld("status", STATUS))],
        order(fld("status", "string")),
        NEITHER,
        (K.TYPE_MISMATCH, "Order.status", 1, B),
    ),
    # -- unions --------------------------------------------------------------------------------------
    case(
        "union-make-optional",
        "new reader's union reads the old string; old reader cannot read null",
        [order(fld("note", "string"))],
        order(fld("note", ["null", "string"], default=None)),
        BACKWARD_ONLY,
        (K.TYPE_MISMATCH, "Order.note", 1, F),
    ),
    case(
        "union-make-required",
        "the new string reader cannot read the null branch of old data",
        [order(fld("note", ["null", "string"], default=None))],
        order(fld("note", "string")),
        FORWARD_ONLY,
        (
            K.TYPE_MISMATCH,
            "Order.note",
            1,
            B,
            "Order.note: reader type string cannot read the null (a branch of union [null, string]) that "
            "version 1 writes; Avro only promotes int to long/float/double, long to float/double, float to "
            "double, and string to/from bytes",
        ),
    ),
    case(
        "union-add-branch",
        "widening a union: old readers lack the new branch",
        [order(fld("v", ["null", "string"], default=None))],
        order(fld("v", ["null", "string", "int"], default=None)),
        BACKWARD_ONLY,
        (K.MISSING_UNION_BRANCH, "Order.v", 1, F),
    ),
    case(
        "union-remove-branch",
        "narrowing a union: new readers lack a branch old data may use",
        [order(fld("v", ["null", "string", "int"], default=None))],
        order(fld("v", ["null", "string"], default=None)),
        FORWARD_ONLY,
        (
            K.MISSING_UNION_BRANCH,
            "Order.v",
            1,
            B,
            "Order.v: reader union [null, string] has no branch that reads the int (a branch of union "
            "[null, string, int]) that version 1 writes; add a branch for int to the union",
        ),
    ),
    case(
        "union-reorder",
        "union branches are matched by type, not position",
        [order(fld("v", ["string", "int"]))],
        order(fld("v", ["int", "string"])),
        BOTH,
    ),
    case(
        "union-promote-branch",
        "an int branch is read by the new long branch; not the other way",
        [order(fld("v", ["null", "int"], default=None))],
        order(fld("v", ["null", "long"], default=None)),
        BACKWARD_ONLY,
        (K.MISSING_UNION_BRANCH, "Order.v", 1, F),
    ),
    case(
        "union-int-to-nullable-long",
        "non-union to union: the first branch that can read wins",
        [order(fld("v", "int"))],
        order(fld("v", ["null", "long"], default=None)),
        BACKWARD_ONLY,
        (K.TYPE_MISMATCH, "Order.v", 1, F),
    ),
    case(
        "union-single-branch",
        "a one-branch union and its branch read each other",
        [order(fld("v", ["string"]))],
        order(fld("v", "string")),
        BOTH,
    ),
    case(
        "union-change-branch-type",
        "[null,int] to [null,string]: the int branch has no reader",
        [order(fld("v", ["null", "int"], default=None))],
        order(fld("v", ["null", "string"], default=None)),
        NEITHER,
        (K.MISSING_UNION_BRANCH, "Order.v", 1, B),
    ),
    case(
        "union-add-record-branch",
        "a new record branch is unknown to old readers",
        [order(fld("payer", ["null", CUSTOMER], default=None))],
        order(fld("payer", ["null", CUSTOMER, rec("Company", fld("vat", "string"))], default=None)),
        BACKWARD_ONLY,
        (K.MISSING_UNION_BRANCH, "Order.payer", 1, F),
    ),
    case(
        "union-record-branch-changes",
        "the record branch gains a required field: no reader branch fits",
        [order(fld("payer", ["null", CUSTOMER], default=None))],
        order(
            fld(
                "payer",
                ["null", {**CUSTOMER, "fields": [*CUSTOMER["fields"], fld("vip", "boolean")]}],
                default=None,
            )
        ),
        FORWARD_ONLY,
        (K.MISSING_UNION_BRANCH, "Order.payer", 1, B),
    ),
    # -- nested records ------------------------------------------------------------------------------
    case(
        "nested-add-field-with-default",
        "resolution recurses into nested records",
        [order(fld("customer", CUSTOMER))],
        order(
            fld(
                "customer",
                {**CUSTOMER, "fields": [*CUSTOMER["fields"], fld("vip", "boolean", default=False)]},
            )
        ),
        BOTH,
    ),
    case(
        "nested-add-field-without-default",
        "a nested new field needs a default too",
        [order(fld("customer", CUSTOMER))],
        order(fld("customer", {**CUSTOMER, "fields": [*CUSTOMER["fields"], fld("vip", "boolean")]})),
        FORWARD_ONLY,
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.customer.vip", 1, B),
    ),
    case(
        "nested-remove-field-without-default",
        "old readers of the nested record need the field",
        [order(fld("customer", CUSTOMER))],
        order(fld("customer", rec("Customer", fld("name", "string")))),
        BACKWARD_ONLY,
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.customer.address", 1, F),
    ),
    case(
        "nested-deep-type-change",
        "the location follows the field path three records deep",
        [order(fld("customer", CUSTOMER))],
        order(
            fld(
                "customer",
                rec(
                    "Customer",
                    fld("name", "string"),
                    fld("address", rec("Address", fld("street", "string"), fld("zip", "int"))),
                ),
            )
        ),
        NEITHER,
        (K.TYPE_MISMATCH, "Order.customer.address.zip", 1, B),
    ),
    case(
        "nested-record-rename-no-alias",
        "the nested record's name must still match",
        [order(fld("customer", CUSTOMER))],
        order(fld("customer", {**CUSTOMER, "name": "Buyer"})),
        NEITHER,
        (K.NAME_MISMATCH, "Order.customer", 1, B),
    ),
    case(
        "nested-record-rename-with-alias",
        "a reader alias lets the new name read the old",
        [order(fld("customer", CUSTOMER))],
        order(fld("customer", {**CUSTOMER, "name": "Buyer", "aliases": ["Customer"]})),
        BACKWARD_ONLY,
        (K.NAME_MISMATCH, "Order.customer", 1, F),
    ),
    case(
        "nested-record-rename-namespaced-alias",
        "an unqualified alias takes the type's namespace (Java)",
        [order(fld("customer", {**CUSTOMER, "namespace": "com.example.crm"}))],
        order(
            fld(
                "customer",
                {**CUSTOMER, "name": "Buyer", "namespace": "com.example.crm", "aliases": ["Customer"]},
            )
        ),
        BACKWARD_ONLY,
        (K.NAME_MISMATCH, "Order.customer", 1, F),
    ),
    case(
        "nested-record-alias-wrong-namespace",
        "the alias is qualified, so another namespace misses it",
        [order(fld("customer", {**CUSTOMER, "namespace": "com.example.crm"}))],
        order(
            fld(
                "customer",
                {**CUSTOMER, "name": "Buyer", "namespace": "com.example.sales", "aliases": ["Customer"]},
            )
        ),
        NEITHER,
        (K.NAME_MISMATCH, "Order.customer", 1, B),
    ),
    case(
        "nested-record-namespace-change",
        "only the unqualified name is compared",
        [order(fld("customer", CUSTOMER))],
        order(fld("customer", {**CUSTOMER, "namespace": "com.example.crm"})),
        BOTH,
    ),
    case(
        "record-rename-top-no-alias",
        "renaming the top-level record breaks both ways",
        [order()],
        order(name="Purchase"),
        NEITHER,
        (
            K.NAME_MISMATCH,
            "Purchase",
            1,
            B,
            "Purchase: reader record is named com.example.orders.Purchase but version 1 writes "
            'com.example.orders.Order; keep the name or add the alias "com.example.orders.Order"',
        ),
    ),
    case(
        "record-rename-top-with-alias",
        "a top-level alias makes the rename backward compatible",
        [order()],
        order(name="Purchase", aliases=["Order"]),
        BACKWARD_ONLY,
        (K.NAME_MISMATCH, "Order", 1, F),
    ),
    case(
        "record-namespace-change-top",
        "the top-level namespace is not compared",
        [order()],
        order(namespace="com.example.sales"),
        BOTH,
    ),
    case(
        "record-default-namespace-to-namespaced",
        "null namespace to a namespace: same simple name",
        [order(namespace=None)],
        order(namespace="com.example.sales"),
        BOTH,
    ),
    case(
        "error-record",
        "an error type is a record for resolution",
        [rec("Failure", fld("code", "int"))],
        {"type": "error", "name": "Failure", "fields": [fld("code", "long")]},
        BACKWARD_ONLY,
        (K.TYPE_MISMATCH, "Failure.code", 1, F),
    ),
    # -- arrays and maps -----------------------------------------------------------------------------
    case(
        "array-items-promote",
        "array items resolve like any value",
        [order(fld("qty", arr("int")))],
        order(fld("qty", arr("long"))),
        BACKWARD_ONLY,
        (K.TYPE_MISMATCH, "Order.qty[]", 1, F),
    ),
    case(
        "array-items-change",
        "string items cannot become int items",
        [order(fld("tags", arr("string")))],
        order(fld("tags", arr("int"))),
        NEITHER,
        (K.TYPE_MISMATCH, "Order.tags[]", 1, B),
    ),
    case(
        "array-record-items-new-field",
        "the location enters array items with []",
        [order(fld("lines", arr(LINE)))],
        order(fld("lines", arr({**LINE, "fields": [*LINE["fields"], fld("price", "double")]}))),
        FORWARD_ONLY,
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.lines[].price", 1, B),
    ),
    case(
        "map-values-promote",
        "map values resolve like any value",
        [order(fld("attrs", mp("int")))],
        order(fld("attrs", mp("long"))),
        BACKWARD_ONLY,
        (K.TYPE_MISMATCH, "Order.attrs{}", 1, F),
    ),
    case(
        "map-record-values-remove-field",
        "the location enters map values with {}",
        [order(fld("attrs", mp(LINE)))],
        order(fld("attrs", mp(rec("Line", fld("sku", "string"))))),
        BACKWARD_ONLY,
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.attrs{}.qty", 1, F),
    ),
    case(
        "array-to-map",
        "an array is not a map",
        [order(fld("tags", arr("string")))],
        order(fld("tags", mp("string"))),
        NEITHER,
        (K.TYPE_MISMATCH, "Order.tags", 1, B),
    ),
    case(
        "array-to-nullable-array",
        "the array branch of the new union reads the old array",
        [order(fld("tags", arr("int")))],
        order(fld("tags", ["null", arr("long")], default=None)),
        BACKWARD_ONLY,
        (K.TYPE_MISMATCH, "Order.tags", 1, F),
    ),
    case(
        "top-level-array",
        "a top-level array is located by its type keyword",
        [arr("int")],
        arr("string"),
        NEITHER,
        (K.TYPE_MISMATCH, "array[]", 1, B),
    ),
    case(
        "top-level-map-of-records",
        "a top-level map of records gains an optional field",
        [mp(LINE)],
        mp({**LINE, "fields": [*LINE["fields"], fld("price", ["null", "double"], default=None)]}),
        BOTH,
    ),
    # -- fixed ---------------------------------------------------------------------------------------
    case(
        "fixed-size-change",
        "a fixed type cannot change its size",
        [order(fld("hash", fixed("Md5", 16)))],
        order(fld("hash", fixed("Md5", 32))),
        NEITHER,
        (K.FIXED_SIZE_MISMATCH, "Order.hash", 1, B),
    ),
    case(
        "fixed-rename-no-alias",
        "fixed is a named type: the name must match",
        [order(fld("hash", fixed("Md5", 16)))],
        order(fld("hash", fixed("Digest", 16))),
        NEITHER,
        (K.NAME_MISMATCH, "Order.hash", 1, B),
    ),
    case(
        "fixed-rename-with-alias",
        "a reader alias accepts the old fixed name",
        [order(fld("hash", fixed("Md5", 16)))],
        order(fld("hash", fixed("Digest", 16, aliases=["Md5"]))),
        BACKWARD_ONLY,
        (K.NAME_MISMATCH, "Order.hash", 1, F),
    ),
    case(
        "fixed-to-bytes",
        "fixed and bytes do not promote",
        [order(fld("hash", fixed("Md5", 16)))],
        order(fld("hash", "bytes")),
        NEITHER,
        (K.TYPE_MISMATCH, "Order.hash", 1, B),
    ),
    case(
        "fixed-namespace-change",
        "fixed names are compared unqualified",
        [order(fld("hash", fixed("Md5", 16, namespace="a.b")))],
        order(fld("hash", fixed("Md5", 16, namespace="c.d"))),
        BOTH,
    ),
    # -- logical types (ignored by Avro Java's resolution) -------------------------------------------
    case(
        "logical-add-timestamp",
        "a plain long may gain timestamp-millis",
        [order(fld("at", "long"))],
        order(fld("at", logical("long", "timestamp-millis"))),
        BOTH,
    ),
    case(
        "logical-millis-to-micros",
        "Java ignores logical types: millis to micros passes (data changes!)",
        [order(fld("at", logical("long", "timestamp-millis")))],
        order(fld("at", logical("long", "timestamp-micros"))),
        BOTH,
    ),
    case(
        "logical-decimal-precision",
        "decimal precision/scale are not compared",
        [order(fld("price", logical("bytes", "decimal", precision=9, scale=2)))],
        order(fld("price", logical("bytes", "decimal", precision=12, scale=4))),
        BOTH,
    ),
    case(
        "logical-date-to-timestamp",
        "date (int) to timestamp (long) is just int to long",
        [order(fld("day", logical("int", "date")))],
        order(fld("day", logical("long", "timestamp-millis"))),
        BACKWARD_ONLY,
        (K.TYPE_MISMATCH, "Order.day", 1, F),
    ),
    case(
        "logical-decimal-fixed-size",
        "a decimal on fixed still obeys the fixed size",
        [order(fld("price", fixed("Dec", 8, logicalType="decimal", precision=10)))],
        order(fld("price", fixed("Dec", 16, logicalType="decimal", precision=20))),
        NEITHER,
        (K.FIXED_SIZE_MISMATCH, "Order.price", 1, B),
    ),
    case(
        "logical-uuid-to-string",
        "uuid is a string",
        [order(fld("ref", logical("string", "uuid")))],
        order(fld("ref", "string")),
        BOTH,
    ),
    # -- recursive types -----------------------------------------------------------------------------
    case(
        "recursive-add-field-with-default",
        "a linked list gains an optional field; the check terminates",
        [NODE],
        rec(
            "Node",
            fld("value", "int"),
            fld("next", ["null", "Node"], default=None),
            fld("label", "string", default=""),
        ),
        BOTH,
    ),
    case(
        "recursive-add-field-without-default",
        "a recursive record still needs defaults for new fields",
        [NODE],
        rec("Node", fld("value", "int"), fld("next", ["null", "Node"], default=None), fld("label", "string")),
        FORWARD_ONLY,
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Node.label", 1, B),
    ),
    case(
        "recursive-promote",
        "a promotion inside a recursive type",
        [NODE],
        rec("Node", fld("value", "long"), fld("next", ["null", "Node"], default=None)),
        BACKWARD_ONLY,
        (K.TYPE_MISMATCH, "Node.value", 1, F),
    ),
    case(
        "recursive-rename-with-alias",
        "renamed recursive record refers to itself by the new name",
        [NODE],
        rec("Item", fld("value", "int"), fld("next", ["null", "Item"], default=None), aliases=["Node"]),
        BACKWARD_ONLY,
        (K.NAME_MISMATCH, "Node", 1, F),
    ),
    case(
        "recursive-mutual",
        "mutually recursive records: a change deep in the cycle",
        [rec("Tree", fld("root", rec("Branch", fld("leaves", arr("Tree")), fld("weight", "int"))))],
        rec("Tree", fld("root", rec("Branch", fld("leaves", arr("Tree")), fld("weight", "string")))),
        NEITHER,
        (K.TYPE_MISMATCH, "Tree.root.weight", 1, B),
    ),
    # -- named types defined in other files (schema references) --------------------------------------
    case(
        "ref-add-field",
        "a schema using a shared Money type gains a required field",
        [order(fld("total", "com.example.common.Money"))],
        order(fld("total", "com.example.common.Money"), fld("tax", "com.example.common.Money")),
        FORWARD_ONLY,
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.tax", 1, B),
        COMMON,
    ),
    case(
        "ref-optional-field",
        "an optional field of a shared type is compatible both ways",
        [order(fld("total", "com.example.common.Money"))],
        order(
            fld("total", "com.example.common.Money"),
            fld("tip", ["null", "com.example.common.Money"], default=None),
        ),
        BOTH,
        None,
        COMMON,
    ),
    case(
        "ref-replace-with-local",
        "a shared enum replaced by a string field type",
        [order(fld("currency", "com.example.common.Currency"))],
        order(fld("currency", "string")),
        NEITHER,
        (K.TYPE_MISMATCH, "Order.currency", 1, B),
        COMMON,
    ),
    # -- more than one previous version ----------------------------------------------------------------
    case(
        "transitive-default-removed",
        "v2 added b with a default; dropping it breaks v1 data only",
        [order(), order(fld("b", "string", default="x"))],
        order(fld("b", "string")),
        levels(True, True, backward_transitive=False, forward_transitive=True),
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.b", 1, B),
    ),
    case(
        "transitive-field-dropped",
        "v2 gave b a default, but v1 readers still need b",
        [order(fld("b", "string")), order(fld("b", "string", default="x"))],
        order(),
        levels(True, True, backward_transitive=True, forward_transitive=False),
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.b", 1, F),
    ),
    case(
        "transitive-enum-symbol",
        "v2 removed C (a forward change); the new reader cannot read v1's C",
        [order(fld("s", enum("S", "A", "B", "C"))), order(fld("s", enum("S", "A", "B")))],
        order(fld("s", enum("S", "A", "B")), fld("note", "string", default="")),
        levels(True, True, backward_transitive=False, forward_transitive=True),
        (
            K.MISSING_ENUM_SYMBOLS,
            "Order.s",
            1,
            B,
            "Order.s: reader enum has no symbol C that version 1 writes; add it or give the enum a default",
        ),
    ),
    case(
        "transitive-enum-default-only-later",
        "v2's enum default does not help v1 readers",
        [
            order(fld("s", enum("S", "A", "B"))),
            order(fld("s", enum("S", "A", "B", default="A")), fld("n", "int", default=0)),
        ],
        order(fld("s", enum("S", "A", "B", "C", default="A")), fld("n", "int", default=0)),
        levels(True, True, backward_transitive=True, forward_transitive=False),
        (K.MISSING_ENUM_SYMBOLS, "Order.s", 1, F),
    ),
    case(
        "transitive-promotion-chain",
        "v1 int, v2 long: fine for long readers, not for v1's int reader",
        [order(fld("n", "int")), order(fld("n", "long"))],
        order(fld("n", "long"), fld("m", "int", default=0)),
        levels(True, True, backward_transitive=True, forward_transitive=False),
        (K.TYPE_MISMATCH, "Order.n", 1, F),
    ),
    case(
        "transitive-alias-chain",
        "aliases do not chain: State knows Status, not the original Phase",
        [order(fld("s", enum("Phase", "A"))), order(fld("s", enum("Status", "A", aliases=["Phase"])))],
        order(fld("s", enum("State", "A", aliases=["Status"]))),
        levels(True, False, backward_transitive=False, forward_transitive=False),
        (K.NAME_MISMATCH, "Order.s", 2, F),
    ),
    case(
        "transitive-oldest-of-three",
        "only the oldest of three versions lacks a default",
        [
            order(fld("b", "string")),
            order(fld("b", "string", default="x")),
            order(fld("b", "string", default="x"), fld("c", "int", default=0)),
        ],
        order(fld("c", "int", default=0)),
        levels(True, True, backward_transitive=True, forward_transitive=False),
        (K.READER_FIELD_MISSING_DEFAULT_VALUE, "Order.b", 1, F),
    ),
    case(
        "transitive-all-compatible",
        "three additive versions: compatible at every level",
        [
            order(),
            order(fld("a", "int", default=0)),
            order(fld("a", "int", default=0), fld("b", "int", default=0)),
        ],
        order(fld("a", "int", default=0), fld("b", "int", default=0), fld("c", "int", default=0)),
        levels(True, True, backward_transitive=True, forward_transitive=True),
    ),
    case(
        "transitive-latest-breaks",
        "breaking the latest version fails every level but NONE",
        [order(fld("n", "int")), order(fld("n", "int"), fld("m", "int", default=0))],
        order(fld("n", "string"), fld("m", "int", default=0)),
        levels(False, False, backward_transitive=False, forward_transitive=False),
        (K.TYPE_MISMATCH, "Order.n", 2, B),
    ),
    case(
        "transitive-union-widened-then-narrowed",
        "v2 dropped int from the union; v1 data may hold ints",
        [
            order(fld("v", ["null", "string", "int"], default=None)),
            order(fld("v", ["null", "string"], default=None)),
        ],
        order(fld("v", ["null", "string"], default=None), fld("w", "int", default=0)),
        levels(True, True, backward_transitive=False, forward_transitive=True),
        (K.MISSING_UNION_BRANCH, "Order.v", 1, B),
    ),
]
