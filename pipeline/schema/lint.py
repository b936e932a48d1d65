"""Validation of a directory's worth of ``.avsc`` files, as values: file texts in, diagnostics out.

Each file holds one named Avro type and is named by its full name (``com.example.common.Money.avsc``);
a file may use the top-level types of other files by name. The checks, in order:

1. every file is strict JSON (no duplicate keys) and its top level is a record, enum or fixed whose
   full name equals the file name;
2. names, namespaces, field names and enum symbols are legal Avro names; full names are unique across
   all files (nested definitions included);
3. every type a schema names resolves: a primitive, a type defined earlier in the same file, or the
   top-level type of another file; files do not name each other in a cycle;
4. unions have no nested unions or duplicate branches; defaults fit their types (a union's default fits
   its *first* branch); enum defaults are symbols; fixed sizes are whole numbers;
5. logical types are known and well-formed (decimal precision and scale, timestamps on long, date on
   int, uuid on string, duration on fixed(12)); a ``logicalType`` on a field instead of its type is
   reported, since Avro silently ignores it there;
6. Avro Java's parsing rules (:func:`pipeline.avro.parse_schema`, defaults validated as Confluent
   validates a new schema) read every file that passed the above, with the files it uses: what the
   registry would refuse is refused here;
7. lint, switchable in the catalog (:class:`LintOptions`): a ``doc`` on every record and field, and a
   field-name convention.

Every :class:`Diagnostic` names the file, the line where the offending node starts and its JSON path.
Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal, TypeGuard

from pipeline.avro import (
    INT_MAX,
    INT_MIN,
    LOGICAL_TYPES,
    LONG_MAX,
    LONG_MIN,
    NAMED_KINDS,
    PRIMITIVE_TYPES,
    nesting_problem,
    parse_schema,
)
from pipeline.errors import SchemaLoadError
from pipeline.schema.avsc import (
    JsonSyntaxError,
    NodePath,
    ParsedJson,
    TypeSite,
    definition_namespace,
    is_legal_full_name,
    is_legal_name,
    json_path,
    parse_json,
    qualify,
    resolve_name,
    walk_types,
)

__all__ = [
    "Diagnostic",
    "FieldNameStyle",
    "LintOptions",
    "SchemaDocument",
    "ValidationResult",
    "validate_files",
]

FieldNameStyle = Literal["snake_case", "camelCase", "off"]

_FIELD_STYLES: Mapping[str, re.Pattern[str]] = {
    "snake_case": re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*"),
    "camelCase": re.compile(r"[a-z][a-zA-Z0-9]*"),
}
_INT_RANGE = (INT_MIN, INT_MAX)
_LONG_RANGE = (LONG_MIN, LONG_MAX)
_FIELD_ORDERS = {"ascending", "descending", "ignore"}
_LOGICAL_ON_TYPE = '{{"type": {{"type": ..., "logicalType": {}}}}}'


@dataclass(frozen=True)
class Diagnostic:
    """One problem: where (file, line, JSON path) and what was expected."""

    file: str
    line: int | None
    path: str
    message: str
    lint: bool = False

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        if self.path:  # a problem with the file as a whole has no path to show
            where += f": {self.path}"
        return f"{where}: {self.message}{' [lint]' if self.lint else ''}"


@dataclass(frozen=True)
class LintOptions:
    """The checks a team may switch off (``[lint]`` in the catalog)."""

    docs: bool = True
    field_names: FieldNameStyle = "snake_case"


@dataclass(frozen=True)
class SchemaDocument:
    """One valid ``.avsc`` file: its JSON, the named types it defines (its own first, in document
    order) and the top-level types of other files it uses (in order of first use)."""

    file: str
    full_name: str
    json: ParsedJson
    defines: tuple[str, ...]
    uses: tuple[str, ...]

    @property
    def value(self) -> Any:
        return self.json.value


@dataclass(frozen=True)
class ValidationResult:
    """Documents that passed (by full name) and every diagnostic, in file order."""

    documents: Mapping[str, SchemaDocument]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not self.diagnostics


@dataclass(frozen=True)
class _Definition:
    file: str
    path: NodePath
    node: Mapping[str, Any]
    inner_namespace: str


@dataclass
class _File:
    name: str
    json: ParsedJson
    full_name: str = ""
    defines: list[str] = field(default_factory=list)
    uses: dict[str, NodePath] = field(default_factory=dict)
    failed: bool = False


def validate_files(files: Mapping[str, str], lint: LintOptions | None = None) -> ValidationResult:
    """Check ``files`` (display path -> text of an ``.avsc`` file) together. Never raises for bad input:
    every problem becomes a :class:`Diagnostic`."""
    return _Validator(files, lint or LintOptions()).run()


class _Validator:
    def __init__(self, files: Mapping[str, str], lint: LintOptions) -> None:
        self.texts = dict(sorted(files.items()))
        self.lint = lint
        self.files: dict[str, _File] = {}
        self.definitions: dict[str, _Definition] = {}
        self.diagnostics: list[Diagnostic] = []

    # -- reporting ---------------------------------------------------------------------------------
    def report(self, file: str, path: NodePath, message: str, *, lint: bool = False) -> None:
        state = self.files.get(file)
        line = state.json.line_of(path) if state else None
        self.diagnostics.append(Diagnostic(file, line, json_path(path), message, lint))
        if state is not None and not lint:
            state.failed = True

    # -- driver ------------------------------------------------------------------------------------
    def run(self) -> ValidationResult:
        for name, text in self.texts.items():
            try:
                self.files[name] = _File(name, parse_json(text))
            except JsonSyntaxError as exc:
                self.diagnostics.append(
                    Diagnostic(name, exc.line, "$", f"not valid JSON: {exc.reason} (column {exc.column})")
                )
        for state in list(self.files.values()):
            too_deep = nesting_problem(state.json.value)
            if too_deep is not None:
                self.diagnostics.append(Diagnostic(state.name, 1, "$", too_deep))
                del self.files[state.name]  # nothing else can be checked: every check recurses
        for state in self.files.values():
            self.collect_definitions(state)
        for state in self.files.values():
            if state.full_name:
                self.check_types(state)
        self.check_cycles()
        self.check_with_avro()
        documents = {
            state.full_name: SchemaDocument(
                state.name, state.full_name, state.json, tuple(state.defines), tuple(state.uses)
            )
            for state in self.files.values()
            if state.full_name and not state.failed
        }
        order = {name: index for index, name in enumerate(self.texts)}
        diagnostics = sorted(self.diagnostics, key=lambda d: (order.get(d.file, -1), d.line or 0))
        return ValidationResult(documents, tuple(diagnostics))

    # -- pass 1: what each file defines --------------------------------------------------------------
    def collect_definitions(self, state: _File) -> None:
        top = state.json.value
        expected = PurePath(state.name).name.removesuffix(".avsc")
        if not isinstance(top, dict) or top.get("type") not in NAMED_KINDS:
            self.report(
                state.name,
                (),
                "the top level must be one named type (a record, enum or fixed) "
                f"called {expected!r}, as the file name says",
            )
            return
        full_name = definition_namespace(top, "")[1]
        if full_name != expected:
            self.report(
                state.name,
                ("name",),
                f"the type's full name is {full_name!r} but the file is named "
                f"{expected!r}; rename one so that the file is <full name>.avsc",
            )
            return
        state.full_name = full_name

        for site in walk_types(top):
            node = site.node
            if not isinstance(node, dict) or node.get("type") not in NAMED_KINDS:
                continue
            if not self.check_definition_name(state, site):
                continue
            inner, name = definition_namespace(node, site.namespace)
            other = self.definitions.get(name)
            if other is not None:
                self.report(
                    state.name,
                    (*site.path, "name"),
                    f"named type {name!r} is already defined in "
                    f"{other.file} at {json_path(other.path)}; full names must be unique",
                )
                continue
            self.definitions[name] = _Definition(state.name, site.path, node, inner)
            state.defines.append(name)

    def check_definition_name(self, state: _File, site: TypeSite) -> bool:
        node = site.node
        name, namespace = node.get("name"), node.get("namespace")
        if not is_legal_full_name(name):
            self.report(
                state.name,
                (*site.path, "name"),
                f"{node['type']} name {name!r} is not a legal Avro name; "
                "expected [A-Za-z_][A-Za-z0-9_]* (dot-separated in a full name)",
            )
            return False
        if namespace is not None and namespace != "" and not is_legal_full_name(namespace):
            self.report(
                state.name,
                (*site.path, "namespace"),
                f"namespace {namespace!r} is not legal; expected "
                "dot-separated names matching [A-Za-z_][A-Za-z0-9_]*",
            )
            return False
        if str(name).rpartition(".")[2] in PRIMITIVE_TYPES:
            self.report(state.name, (*site.path, "name"), f"{name!r} is a primitive type's name")
            return False
        return True

    # -- pass 2: every schema position ------------------------------------------------------------
    def check_types(self, state: _File) -> None:
        seen: set[str] = set()

        def enter(site: TypeSite) -> bool:
            return self.check_site(state, site, seen)

        for _site in walk_types(state.json.value, enter=enter):
            pass

    def check_site(self, state: _File, site: TypeSite, seen: set[str]) -> bool:
        node, path = site.node, site.path
        if isinstance(node, str):
            self.check_name_use(state, node, site, seen)
            return False
        if isinstance(node, list):
            return self.check_union(state, node, site)
        if not isinstance(node, dict):
            self.report(state.name, path, f"expected a type (a name, an object or a union), not {node!r}")
            return False
        kind = node.get("type")
        if not isinstance(kind, str):
            self.report(
                state.name,
                (*path, "type") if "type" in node else path,
                "expected 'type' to be a primitive or record/enum/fixed/array/map"
                + ("" if "type" in node else ", but the object has no 'type'"),
            )
            return False
        if kind in NAMED_KINDS:
            seen.add(definition_namespace(node, site.namespace)[1])
        if kind in ("record", "error"):
            self.check_record(state, node, site)
        elif kind == "enum":
            self.check_enum(state, node, path)
        elif kind == "fixed":
            size = node.get("size")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                self.report(state.name, (*path, "size"), f"fixed size must be a whole number, not {size!r}")
        elif kind in ("array", "map"):
            key = "items" if kind == "array" else "values"
            if key not in node:
                self.report(state.name, path, f"{kind} needs {key!r}")
        elif kind not in PRIMITIVE_TYPES:
            self.report(
                state.name,
                (*path, "type") if "type" in node else path,
                f"type {kind!r} is not a primitive nor record/enum/fixed/array/map; "
                "a named type is used by writing its name as a string",
            )
            return False
        if "logicalType" in node:
            self.check_logical_type(state, node, path)
        return True

    def check_name_use(self, state: _File, name: str, site: TypeSite, seen: set[str]) -> None:
        if name in PRIMITIVE_TYPES:
            return
        full = resolve_name(name, site.namespace, lambda n: n in seen or n in self.definitions)
        if full in seen:
            return
        definition = self.definitions.get(full)
        if definition is not None and definition.file == state.name:
            self.report(state.name, site.path, f"type {full!r} is used before its definition")
        elif definition is not None and definition.path != ():
            self.report(
                state.name,
                site.path,
                f"type {full!r} is defined inside {definition.file}; move it to its "
                f"own file {full}.avsc to share it",
            )
        elif definition is not None:
            state.uses.setdefault(full, site.path)
        else:
            hint = ""
            simple = full.rpartition(".")[2]
            matches = sorted(n for n in self.definitions if n.rpartition(".")[2] == simple)
            if matches:
                hint = f" (did you mean {matches[0]!r}?)"
            self.report(
                state.name,
                site.path,
                f"unknown type {full!r}{hint}; expected a primitive, a type defined "
                f"earlier in this file, or a type in its own file {full}.avsc",
            )

    def check_union(self, state: _File, branches: list[Any], site: TypeSite) -> bool:
        if not branches:
            self.report(state.name, site.path, "a union needs at least one branch")
            return False
        seen: dict[str, int] = {}
        for index, branch in enumerate(branches):
            if isinstance(branch, list):
                self.report(state.name, (*site.path, index), "a union may not directly contain a union")
                continue
            key = _branch_key(branch, site.namespace)
            if key is not None and key in seen:
                self.report(
                    state.name,
                    (*site.path, index),
                    f"union has two branches of type {key!r} (branches {seen[key]} and {index})",
                )
            elif key is not None:
                seen[key] = index
        return True

    def check_record(self, state: _File, node: Mapping[str, Any], site: TypeSite) -> None:
        path = site.path
        fields = node.get("fields")
        if not isinstance(fields, list):
            self.report(state.name, path, "a record needs 'fields', a list of field objects")
            return
        if self.lint.docs and not _has_doc(node):
            self.report(state.name, path, f"record {node.get('name')!r} has no doc", lint=True)
        names: set[str] = set()
        namespace = definition_namespace(node, site.namespace)[0]
        for index, entry in enumerate(fields):
            fpath = (*path, "fields", index)
            if not isinstance(entry, dict):
                self.report(state.name, fpath, "a field must be an object with 'name' and 'type'")
                continue
            name = entry.get("name")
            if not is_legal_name(name):
                self.report(
                    state.name,
                    (*fpath, "name"),
                    f"field name {name!r} is not a legal Avro name; expected [A-Za-z_][A-Za-z0-9_]*",
                )
            elif name in names:
                self.report(state.name, (*fpath, "name"), f"field {name!r} appears twice in the record")
            else:
                names.add(name)
                self.lint_field_name(state, name, (*fpath, "name"))
            if "type" not in entry:
                self.report(state.name, fpath, f"field {name!r} has no 'type'")
                continue
            if self.lint.docs and not _has_doc(entry):
                self.report(state.name, fpath, f"field {name!r} has no doc", lint=True)
            if "logicalType" in entry:
                self.report(
                    state.name,
                    (*fpath, "logicalType"),
                    "a logicalType on the field is ignored by Avro; "
                    f"move it into the type: {_LOGICAL_ON_TYPE.format(json.dumps(entry['logicalType']))}",
                )
            if "order" in entry and entry["order"] not in _FIELD_ORDERS:
                self.report(state.name, (*fpath, "order"), f"order must be one of {sorted(_FIELD_ORDERS)}")
            aliases = entry.get("aliases", [])
            if not isinstance(aliases, list) or not all(is_legal_name(a) for a in aliases):
                self.report(state.name, (*fpath, "aliases"), "aliases must be a list of legal Avro names")
            if "default" in entry:
                problem = self.default_problem(entry["default"], entry["type"], namespace)
                if problem:
                    self.report(state.name, (*fpath, "default"), f"default of field {name!r}: {problem}")

    def lint_field_name(self, state: _File, name: str, path: NodePath) -> None:
        style = self.lint.field_names
        if style != "off" and not _FIELD_STYLES[style].fullmatch(name):
            self.report(state.name, path, f"field name {name!r} is not {style}", lint=True)

    def check_enum(self, state: _File, node: Mapping[str, Any], path: NodePath) -> None:
        symbols = node.get("symbols")
        if not isinstance(symbols, list) or not symbols:
            self.report(state.name, path, "an enum needs 'symbols', a non-empty list")
            return
        seen: set[str] = set()
        for index, symbol in enumerate(symbols):
            if not is_legal_name(symbol):
                self.report(
                    state.name,
                    (*path, "symbols", index),
                    f"enum symbol {symbol!r} is not a legal Avro name; expected [A-Za-z_][A-Za-z0-9_]*",
                )
            elif symbol in seen:
                self.report(state.name, (*path, "symbols", index), f"enum symbol {symbol!r} appears twice")
            seen.add(symbol)
        if "default" in node and node["default"] not in seen:
            self.report(state.name, (*path, "default"), f"enum default {node['default']!r} is not a symbol")

    def check_logical_type(self, state: _File, node: Mapping[str, Any], path: NodePath) -> None:
        logical, kind = node["logicalType"], node.get("type")
        lpath = (*path, "logicalType")
        allowed = LOGICAL_TYPES.get(logical) if isinstance(logical, str) else None
        if allowed is None:
            self.report(
                state.name,
                lpath,
                f"unknown logicalType {logical!r}; expected one of {', '.join(sorted(LOGICAL_TYPES))}",
            )
            return
        if kind not in allowed:
            expected = " or ".join(sorted(allowed))
            self.report(state.name, lpath, f"logicalType {logical!r} annotates {expected}, not {kind!r}")
            return
        size = node.get("size")
        if logical == "uuid" and kind == "fixed" and size != 16:
            self.report(state.name, (*path, "size"), f"a uuid fixed must have size 16, not {size!r}")
        elif logical == "duration" and size != 12:
            self.report(state.name, (*path, "size"), f"a duration fixed must have size 12, not {size!r}")
        elif logical == "decimal":
            self.check_decimal(state, node, path)

    def check_decimal(self, state: _File, node: Mapping[str, Any], path: NodePath) -> None:
        precision, scale = node.get("precision"), node.get("scale", 0)
        if not _whole(precision) or precision < 1:
            self.report(
                state.name,
                (*path, "precision") if "precision" in node else path,
                f"decimal precision must be a whole number ≥ 1, not {precision!r}",
            )
            return
        if not _whole(scale) or scale < 0 or scale > precision:
            self.report(
                state.name,
                (*path, "scale"),
                f"decimal scale must be a whole number from 0 to the precision {precision}, not {scale!r}",
            )
        size = node.get("size")
        if node.get("type") == "fixed" and _whole(size):
            most = len(str(2 ** (8 * size - 1) - 1)) - 1 if size > 0 else 0
            if precision > most:
                self.report(
                    state.name,
                    (*path, "precision"),
                    f"decimal precision {precision} does not fit in fixed({size}); at most {most}",
                )

    # -- defaults ----------------------------------------------------------------------------------
    def default_problem(self, value: Any, schema: Any, namespace: str, depth: int = 0) -> str | None:
        """Why ``value`` is not a valid default for ``schema``, or None if it is."""
        if depth > 32:
            return None
        if isinstance(schema, list):
            if not schema:
                return None
            problem = self.default_problem(value, schema[0], namespace, depth + 1)
            if problem is None:
                return None
            fits_other = any(self.default_problem(value, b, namespace, depth + 1) is None for b in schema[1:])
            hint = " (it fits a later branch: list that branch first)" if fits_other else ""
            return f"a union's default must fit its first branch: {problem}{hint}"
        if isinstance(schema, str):
            if schema in PRIMITIVE_TYPES:
                return _primitive_problem(value, schema)
            definition = self.definitions.get(resolve_name(schema, namespace, self.definitions.__contains__))
            if definition is None:
                return None
            return self.default_problem(value, definition.node, definition.inner_namespace, depth + 1)
        if not isinstance(schema, dict):
            return None
        kind = schema.get("type")
        if not isinstance(kind, str):
            return None
        shown = _show(value)
        if kind in PRIMITIVE_TYPES:
            return _primitive_problem(value, kind)
        if kind == "enum":
            symbols = schema.get("symbols") or []
            return None if value in symbols else f"{shown} is not a symbol of enum {schema.get('name')!r}"
        if kind == "fixed":
            size = schema.get("size")
            if isinstance(value, str) and len(value) == size and all(ord(c) < 256 for c in value):
                return None
            return f"{shown} is not a string of {size} byte characters (fixed {schema.get('name')!r})"
        if kind in ("array", "map"):
            container, inner = (list, "items") if kind == "array" else (dict, "values")
            if not isinstance(value, container):
                return f"{shown} is not a JSON {'array' if kind == 'array' else 'object'} ({kind})"
            entries = enumerate(value) if isinstance(value, list) else value.items()
            for key, item in entries:
                problem = self.default_problem(item, schema.get(inner), namespace, depth + 1)
                if problem:
                    return f"at [{json.dumps(key)}]: {problem}"
            return None
        if kind in ("record", "error"):
            if not isinstance(value, dict):
                return f"{shown} is not a JSON object (record {schema.get('name')!r})"
            inner_ns = definition_namespace(schema, namespace)[0]
            for entry in schema.get("fields") or []:
                if not isinstance(entry, dict):
                    continue
                fname = entry.get("name")
                if fname in value:
                    problem = self.default_problem(value[fname], entry.get("type"), inner_ns, depth + 1)
                    if problem:
                        return f"at .{fname}: {problem}"
                elif "default" not in entry:
                    return f"field {fname!r} of record {schema.get('name')!r} has no value and no default"
        return None

    # -- pass 3 and 4: across files ----------------------------------------------------------------
    def check_cycles(self) -> None:
        by_type = {state.full_name: state for state in self.files.values() if state.full_name}
        done: set[str] = set()

        def visit(name: str, trail: list[str]) -> None:
            if name in trail:
                cycle = [*trail[trail.index(name) :], name]
                state = by_type[trail[-1]]
                self.report(
                    state.name,
                    state.uses[name],
                    "types name each other across files "
                    f"({' -> '.join(cycle)}); registry references cannot form a cycle: put them in one file",
                )
                return
            if name in done or name not in by_type:
                return
            for used in by_type[name].uses:
                visit(used, [*trail, name])
            done.add(name)

        for name in sorted(by_type):
            visit(name, [])

    def check_with_avro(self) -> None:
        by_type = {state.full_name: state for state in self.files.values() if state.full_name}
        verdict: dict[str, bool] = {}

        def valid(name: str) -> bool:
            if name in verdict:
                return verdict[name]
            verdict[name] = False  # a cycle of files is reported on its own
            state = by_type.get(name)
            if state is None or state.failed:
                return False
            named: dict[str, Any] = {}
            pending = list(state.uses)
            while pending:
                used = pending.pop()
                if used in named:
                    continue
                if not valid(used):
                    return False
                named[used] = by_type[used].json.value
                pending.extend(by_type[used].uses)
            try:
                parse_schema(state.json.value, named_types=named, what=state.name)
            except SchemaLoadError as exc:
                self.report(
                    state.name, (), f"Avro (as Confluent Schema Registry parses it) rejects it: {exc}"
                )
                return False
            verdict[name] = True
            return True

        for name in sorted(by_type):
            valid(name)


def _has_doc(node: Mapping[str, Any]) -> bool:
    doc = node.get("doc")
    return isinstance(doc, str) and doc.strip() != ""


def _whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _primitive_problem(value: Any, kind: str) -> str | None:
    ok: bool
    if kind == "null":
        ok = value is None
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in ("int", "long"):
        low, high = _INT_RANGE if kind == "int" else _LONG_RANGE
        ok = _whole(value) and low <= value <= high
    elif kind in ("float", "double"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind == "string":
        ok = isinstance(value, str)
    else:  # bytes: a string whose characters are byte values
        ok = isinstance(value, str) and all(ord(c) < 256 for c in value)
    return None if ok else f"{_show(value)} does not fit type {kind!r}"


def _branch_key(branch: Any, namespace: str) -> str | None:
    """What makes a union branch distinct: its primitive or full name, or 'array' / 'map'."""
    if isinstance(branch, str):
        return branch if branch in PRIMITIVE_TYPES else qualify(branch, namespace)
    if isinstance(branch, dict):
        kind = branch.get("type")
        if kind in NAMED_KINDS:
            return definition_namespace(branch, namespace)[1]
        if isinstance(kind, str):
            return kind
    return None
