"""Turn Avro schema JSON into the :mod:`pipeline.avro.model` tree, with Avro Java's parsing rules.

The rules are those of ``org.apache.avro.Schema.Parser`` (1.12), which Confluent Schema Registry uses:

* names: a dotted ``name`` carries its own namespace; otherwise ``namespace``, otherwise the enclosing
  named type's namespace; ``""`` is the null namespace. Simple names, enum symbols and alias names must
  match ``[A-Za-z_][A-Za-z0-9_]*`` (Unicode letters allowed, as in Java), and so must every part of a
  namespace. A type may not be defined twice
  and may not be named after a primitive.
* references: a bare name is looked up among the types defined so far, in the current namespace first,
  then as written. Names that the document has not defined are looked up in ``named_types`` (full name
  -> schema), the way Confluent resolves schema references; each such schema is parsed on its own (null
  enclosing namespace). Any other name is resolved once the whole schema is read, as Java 1.12 does: a
  forward reference works, and it names the type in the *current* namespace (so a record in namespace
  ``a`` cannot refer back to an enclosing record of the null namespace by its bare name).
* aliases of a named type are qualified with that type's namespace (Java's ``getAliases()``); field
  aliases are plain names.
* ``default`` values are validated only when ``validate_defaults`` is true: Confluent parses a *new*
  schema strictly and schemas it already stores leniently. A union default may match any branch (Java
  1.12's ``isValidDefault``).
* logical types never make a schema invalid: ``logical_type`` keeps what was written (for messages), and
  ``logical`` holds it only when Java's ``LogicalTypes.fromSchemaIgnoreInvalid`` would apply it (a
  decimal needs an int precision > 0 that its fixed can hold and an int scale in [0, precision]; a date
  sits on an int; and so on). Resolution ignores logical types; a reader applies its own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.avro.model import (
    INT_MAX,
    INT_MIN,
    LOGICAL_TYPES,
    LONG_MAX,
    LONG_MIN,
    NO_DEFAULT,
    PRIMITIVE_TYPES,
    Array,
    Enum,
    Field,
    Fixed,
    Logical,
    Map,
    Name,
    NamedSchema,
    Primitive,
    Record,
    Schema,
    Union,
    describe,
)
from pipeline.errors import SchemaLoadError

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_NESTING",
    "SchemaInput",
    "load_json",
    "logical_of",
    "nesting_problem",
    "parse_schema",
]

#: How deeply a schema's types may nest (each record, array, map and union is a level): the codec's
#: own depth limit, far beyond any real contract, and well inside what every recursive step can take.
MAX_NESTING = 128
#: How deeply any JSON in a schema file may nest (defaults and custom properties included).
MAX_JSON_DEPTH = 512

SchemaInput = Mapping[str, Any] | Sequence[Any] | str
"""A schema as parsed JSON (object, union array, type name) or as JSON text."""

_INT_RANGE = range(INT_MIN, INT_MAX + 1)
_LONG_RANGE = range(LONG_MIN, LONG_MAX + 1)
_ORDERS = frozenset({"ASCENDING", "DESCENDING", "IGNORE"})


def nesting_problem(value: Any) -> str | None:
    """Why the schema JSON ``value`` nests too deeply to be taken, or None. Measured without recursion,
    so that any input can be measured."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"its JSON nests more than {MAX_JSON_DEPTH} levels deep"
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    types: list[tuple[Any, int]] = [(value, 1)]
    while types:
        node, depth = types.pop()
        if depth > MAX_NESTING:
            return f"its types nest more than {MAX_NESTING} levels deep (records, arrays, maps and unions)"
        if isinstance(node, list):
            types.extend((branch, depth + 1) for branch in node)
        elif isinstance(node, dict):
            kind, fields = node.get("type"), node.get("fields")
            if isinstance(kind, dict | list):
                types.append((kind, depth))
            elif kind in ("record", "error") and isinstance(fields, list):
                types.extend((f.get("type"), depth + 1) for f in fields if isinstance(f, dict))
            elif kind == "array":
                types.append((node.get("items"), depth + 1))
            elif kind == "map":
                types.append((node.get("values"), depth + 1))
    return None


def load_json(value: SchemaInput, what: str) -> Any:
    """The JSON value of a schema input: text that starts with ``{``, ``[`` or ``"`` is parsed as JSON;
    any other string is a type name (``"int"``, ``"com.example.Money"``); objects and lists are used as
    they are. Raises :class:`SchemaLoadError` naming ``what`` if the text is not JSON."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[", '"'):
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise SchemaLoadError(f"{what}: not valid JSON: {exc}") from exc
            except RecursionError:
                raise SchemaLoadError(f"{what}: its JSON nests too deeply to read") from None
        return text
    return value


def parse_schema(
    value: SchemaInput,
    *,
    named_types: Mapping[str, SchemaInput] | None = None,
    validate_defaults: bool = True,
    what: str = "schema",
) -> Schema:
    """Parse and validate one Avro schema.

    ``named_types`` maps full names of types defined elsewhere to their schemas; ``what`` names the
    schema in error messages (a file name, "new schema", "version 2"). Raises :class:`SchemaLoadError`
    when the JSON is not a valid Avro schema; the message says where and what was expected.
    """
    parser = _Parser(what, named_types or {}, validate_defaults)
    node = load_json(value, what)
    too_deep = nesting_problem(node)
    if too_deep is not None:
        raise SchemaLoadError(f"{what}: {too_deep}")
    try:
        root = parser.parse(node, None, "")
        root = parser.resolve_forward(root)
        parser.check_defaults()
    except RecursionError as exc:
        raise SchemaLoadError(f"{what}: schema is nested too deeply to check") from exc
    return root


class _Parser:
    def __init__(self, what: str, known: Mapping[str, SchemaInput], validate_defaults: bool) -> None:
        self.what = what
        self.known = known
        self.validate_defaults = validate_defaults
        self.names: dict[str, NamedSchema] = {}
        self.open: set[str] = set()  # records whose fields are being read
        self.forward: list[_Forward] = []
        self.loading: set[str] = set()
        self.defaulted: list[tuple[Record, Field, str]] = []

    def fail(self, message: str, path: str) -> SchemaLoadError:
        return SchemaLoadError(f"{self.what}: invalid Avro schema at {path or '/'}: {message}")

    def parse(self, node: Any, namespace: str | None, path: str) -> Schema:
        if isinstance(node, str):
            return self.resolve(node, namespace, path)
        if isinstance(node, list):
            return self.union(node, namespace, path)
        if not isinstance(node, dict):
            raise self.fail(
                f"expected a type name, an object or a union array, found {json.dumps(node)}", path
            )
        kind = node.get("type")
        if not isinstance(kind, str):
            raise self.fail('an object schema needs "type" naming a type', path)
        if kind in PRIMITIVE_TYPES:
            logical = node.get("logicalType")
            return Primitive(kind, logical if isinstance(logical, str) else None, logical_of(node, kind))
        if kind in ("record", "error"):
            return self.record(node, namespace, path, is_error=kind == "error")
        if kind == "enum":
            return self.enum(node, namespace, path)
        if kind == "fixed":
            return self.fixed(node, namespace, path)
        if kind == "array":
            if "items" not in node:
                raise self.fail('array has no "items"', path)
            return Array(self.parse(node["items"], namespace, f"{path}/items"))
        if kind == "map":
            if "values" not in node:
                raise self.fail('map has no "values"', path)
            return Map(self.parse(node["values"], namespace, f"{path}/values"))
        return self.resolve(kind, namespace, f"{path}/type")

    # -- names -------------------------------------------------------------------------------------

    def resolve(self, ref: str, namespace: str | None, path: str) -> Schema:
        if ref in PRIMITIVE_TYPES:
            return Primitive(ref)
        candidates = [ref] if "." in ref or not namespace else [f"{namespace}.{ref}", ref]
        for candidate in candidates:
            if candidate in self.names and candidate not in self.open:
                return self.names[candidate]
        for candidate in candidates:
            if candidate in self.known and candidate not in self.names:
                return self.load_known(candidate, path)
        forward = _Forward(candidates[0], ref, path)  # resolved once the whole schema is read
        self.forward.append(forward)
        return forward  # type: ignore[return-value]

    def resolve_forward(self, root: Schema) -> Schema:
        """Replace every forward reference in the graph under ``root`` by the type it names."""
        if not self.forward:
            return root
        for forward in self.forward:
            if forward.fullname not in self.names:
                raise self.fail(
                    f"unknown type {forward.ref!r} (read as {forward.fullname}): define it, or pass it in "
                    "named types",
                    forward.path,
                )
        seen: set[int] = set()

        def real(node: Schema) -> Schema:
            return self.names[node.fullname] if isinstance(node, _Forward) else node

        pending = [real(root)]
        while pending:
            node = pending.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, Record):
                for entry in node.fields:
                    entry.type = real(entry.type)
                    pending.append(entry.type)
            elif isinstance(node, Array):
                node.items = real(node.items)
                pending.append(node.items)
            elif isinstance(node, Map):
                node.values = real(node.values)
                pending.append(node.values)
            elif isinstance(node, Union):
                node.branches = tuple(real(branch) for branch in node.branches)
                pending.extend(node.branches)
        return real(root)

    def load_known(self, fullname: str, path: str) -> NamedSchema:
        if fullname in self.loading:
            raise self.fail(f"named type {fullname} refers to itself before it is defined", path)
        self.loading.add(fullname)
        outer, self.what = self.what, f"{self.what}: named type {fullname}"
        self.parse(load_json(self.known[fullname], self.what), None, "")
        self.what = outer
        self.loading.discard(fullname)
        if fullname not in self.names:
            raise self.fail(f"the schema given for named type {fullname} does not define it", path)
        return self.names[fullname]

    def name(self, node: dict[str, Any], namespace: str | None, path: str) -> Name:
        raw = node.get("name")
        if not isinstance(raw, str):
            raise self.fail(f'{node.get("type")} has no "name"', path)
        space = node.get("namespace")
        space = space if isinstance(space, str) else namespace
        if "." in raw:
            space, raw = raw.rsplit(".", 1)
        self.check_name(raw, "name", path)
        self.check_namespace(space, path)
        return Name(raw, space or None)

    def check_name(self, name: str, what: str, path: str) -> None:
        valid = bool(name) and (name[0].isalpha() or name[0] == "_")
        if not valid or not all(c.isalnum() or c == "_" for c in name):
            raise self.fail(f"{what} {name!r} is not a valid Avro name ([A-Za-z_][A-Za-z0-9_]*)", path)

    def check_namespace(self, namespace: str | None, path: str) -> None:
        for part in namespace.split(".") if namespace else ():
            self.check_name(part, f"namespace {namespace!r} part", path)

    def aliases(self, node: dict[str, Any], path: str) -> list[str]:
        raw = node.get("aliases")
        if raw is None:
            return []
        if not isinstance(raw, list) or not all(isinstance(alias, str) for alias in raw):
            raise self.fail('"aliases" must be an array of strings', path)
        return raw

    def named_aliases(self, node: dict[str, Any], name: Name, path: str) -> frozenset[str]:
        qualified = set()
        for alias in self.aliases(node, path):
            space, simple = alias.rsplit(".", 1) if "." in alias else (name.namespace, alias)
            self.check_name(simple, "alias", path)
            self.check_namespace(space, path)
            qualified.add(Name(simple, space or None).fullname)
        return frozenset(qualified)

    def define(self, schema: NamedSchema, path: str) -> None:
        fullname = schema.name.fullname
        if fullname in PRIMITIVE_TYPES:
            raise self.fail(f"a named type may not be called {fullname!r}", path)
        if fullname in self.names:
            raise self.fail(f"{fullname} is defined twice", path)
        self.names[fullname] = schema

    # -- complex types -----------------------------------------------------------------------------

    def record(self, node: dict[str, Any], namespace: str | None, path: str, *, is_error: bool) -> Record:
        name = self.name(node, namespace, path)
        fields = node.get("fields")
        if not isinstance(fields, list):
            raise self.fail(f'record {name.fullname} has no "fields" array', path)
        record = Record(name, self.named_aliases(node, name, path), [], is_error, _doc(node))
        self.define(record, path)
        self.open.add(name.fullname)
        seen: set[str] = set()
        for index, raw in enumerate(fields):
            record.fields.append(self.field(record, raw, seen, f"{path}/fields/{index}"))
        self.open.discard(name.fullname)
        return record

    def field(self, record: Record, raw: Any, seen: set[str], path: str) -> Field:
        if not isinstance(raw, dict):
            raise self.fail(f"a field of {record.name.fullname} must be an object", path)
        name = raw.get("name")
        if not isinstance(name, str):
            raise self.fail(f'a field of {record.name.fullname} has no "name"', path)
        self.check_name(name, "field name", path)
        if name in seen:
            raise self.fail(f"field {name!r} appears twice in {record.name.fullname}", path)
        seen.add(name)
        if "type" not in raw:
            raise self.fail(f'field {name!r} of {record.name.fullname} has no "type"', path)
        order = raw.get("order")
        if isinstance(order, str) and order.upper() not in _ORDERS:
            raise self.fail(f"field {name!r}: order must be ascending, descending or ignore", path)
        field = Field(
            name,
            self.parse(raw["type"], record.name.namespace, f"{path}/type"),
            raw.get("default", NO_DEFAULT),
            tuple(self.aliases(raw, path)),
            _doc(raw),
        )
        if field.has_default:
            self.defaulted.append((record, field, path))
        return field

    def enum(self, node: dict[str, Any], namespace: str | None, path: str) -> Enum:
        name = self.name(node, namespace, path)
        symbols = node.get("symbols")
        if not isinstance(symbols, list) or not all(isinstance(symbol, str) for symbol in symbols):
            raise self.fail(f'enum {name.fullname} needs "symbols", an array of strings', path)
        for symbol in symbols:
            self.check_name(symbol, "enum symbol", path)
        if len(set(symbols)) != len(symbols):
            raise self.fail(f"enum {name.fullname} lists a symbol twice", path)
        default = node.get("default")
        default = default if isinstance(default, str) else None
        if default is not None and default not in symbols:
            raise self.fail(f"enum {name.fullname}: default {default!r} is not one of its symbols", path)
        enum = Enum(name, tuple(symbols), default, self.named_aliases(node, name, path), _doc(node))
        self.define(enum, path)
        return enum

    def fixed(self, node: dict[str, Any], namespace: str | None, path: str) -> Fixed:
        name = self.name(node, namespace, path)
        size = node.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0 or size not in _INT_RANGE:
            raise self.fail(f'fixed {name.fullname} needs "size", a non-negative int', path)
        logical = node.get("logicalType")
        fixed = Fixed(
            name,
            size,
            self.named_aliases(node, name, path),
            logical if isinstance(logical, str) else None,
            logical_of(node, "fixed", size),
            _doc(node),
        )
        self.define(fixed, path)
        return fixed

    def union(self, node: list[Any], namespace: str | None, path: str) -> Union:
        branches: list[Schema] = []
        seen: set[str] = set()
        for index, raw in enumerate(node):
            branch = self.parse(raw, namespace, f"{path}/{index}")
            if isinstance(branch, Union):
                raise self.fail("a union may not contain a union", f"{path}/{index}")
            if isinstance(branch, _Forward):
                key = branch.fullname
            else:
                key = branch.name.fullname if isinstance(branch, Record | Enum | Fixed) else branch.type
            if key in seen:
                raise self.fail(f"union lists {key} twice", f"{path}/{index}")
            seen.add(key)
            branches.append(branch)
        return Union(tuple(branches))

    # -- defaults ----------------------------------------------------------------------------------

    def check_defaults(self) -> None:
        if not self.validate_defaults:
            return
        for record, field, path in self.defaulted:
            if not _valid_default(field.type, field.default):
                raise self.fail(
                    f"default {json.dumps(field.default)} of field {field.name!r} in "
                    f"{record.name.fullname} is not a valid {describe(field.type)}",
                    path,
                )


def _valid_default(schema: Schema, value: object) -> bool:
    """Avro Java 1.12's ``Schema.isValidDefault``."""
    if value is NO_DEFAULT:
        return False
    if isinstance(schema, Primitive):
        match schema.type:
            case "null":
                return value is None
            case "boolean":
                return isinstance(value, bool)
            case "int":
                return type(value) is int and value in _INT_RANGE
            case "long":
                return type(value) is int and value in _LONG_RANGE
            case "float" | "double":
                return isinstance(value, int | float) and not isinstance(value, bool)
            case _:
                return isinstance(value, str)
    if isinstance(schema, Enum | Fixed):
        return isinstance(value, str)
    if isinstance(schema, Array):
        return isinstance(value, list) and all(_valid_default(schema.items, item) for item in value)
    if isinstance(schema, Map):
        return isinstance(value, dict) and all(_valid_default(schema.values, v) for v in value.values())
    if isinstance(schema, Union):
        return any(_valid_default(branch, value) for branch in schema.branches)
    return isinstance(value, dict) and all(
        _valid_default(field.type, value.get(field.name, field.default)) for field in schema.fields
    )


class _Forward:
    """A name not defined yet where it is used: resolved to ``fullname`` once the schema is read."""

    def __init__(self, fullname: str, ref: str, path: str) -> None:
        self.fullname = fullname
        self.ref = ref
        self.path = path


def _doc(node: Mapping[str, Any]) -> str | None:
    doc = node.get("doc")
    return doc if isinstance(doc, str) else None


def logical_of(node: Mapping[str, Any], base: str, fixed_size: int = 0) -> Logical | None:
    """The logical type Avro Java 1.12 applies to a schema object ``node`` whose underlying type is
    ``base`` (``LogicalTypes.fromSchemaIgnoreInvalid``): None when there is none or it is invalid."""
    name = node.get("logicalType")
    if not isinstance(name, str) or base not in LOGICAL_TYPES.get(name, ()):
        return None
    if name == "uuid" and base == "fixed" and fixed_size != 16:
        return None
    if name == "duration" and fixed_size != 12:
        return None
    if name != "decimal":
        return Logical(name)
    precision, scale = node.get("precision", 0), node.get("scale", 0)
    if not (_java_int(precision) and _java_int(scale)):
        return None
    limit = math.floor(math.log10(2) * (8 * fixed_size - 1)) if base == "fixed" else INT_MAX
    if not 0 < precision <= limit or not 0 <= scale <= precision:
        return None
    return Logical(name, precision, scale)


def _java_int(value: object) -> bool:
    """Whether Jackson reads ``value`` as a Java Integer (what Avro's getIntProperty accepts)."""
    return type(value) is int and INT_MIN <= value <= INT_MAX
