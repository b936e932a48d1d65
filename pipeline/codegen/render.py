"""Rendering the generated modules. Pure: text in, text out, deterministic.

- ``types.py``: one class per record and enum of the whole catalog, each generated once (so
  ``payments.Money is customers.Money``), and ``MODEL`` (full name -> class), which the codec builds
  and reads.
- ``<topic>.py``: the topic's binding (topic, subjects, the exact registered schema texts, the
  dead-letter topic) and the pair ``open_<topic>_producer`` / ``open_<topic>_consumer``; it re-exports
  the classes the topic uses.

The classes are plain data (slotted keyword-only dataclasses, enums): the shared codec reads and builds
them by the convention of :mod:`pipeline.codec.typed`; there is no conversion code in the templates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from pipeline.avro import Array, Enum, Map, NamedSchema, Record, Schema, Union
from pipeline.catalog import SubjectSpec, TopicSpec
from pipeline.codec.typed import attribute_names, member_names
from pipeline.codegen.pytypes import NamedTypes

__all__ = ["module_name", "render_topic", "render_types"]

TYPES_MODULE = "types"
# Placeholders filled once the body is known, so a module imports only what it uses.
_IMPORTS = "# <imports>"


def module_name(topic: str) -> str:
    """The Python module for a topic: lower case, anything not a word character made ``_``."""
    name = re.sub(r"\W", "_", topic.lower())
    if name[0].isdigit() or name in (TYPES_MODULE, "__init__"):
        name = f"topic_{name}"
    return name


def _str(text: str) -> str:
    """A Python string literal of ``text`` (JSON's escapes are Python's; a lone surrogate, which a UTF-8
    file cannot hold, is escaped too)."""
    literal = json.dumps(text, ensure_ascii=False)
    return "".join(f"\\u{ord(ch):04x}" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in literal)


def _doc(text: str | None, indent: str) -> list[str]:
    """A docstring holding ``text`` (whitespace folded): backslashes, quotes, control characters and
    lone surrogates escaped, so that any doc makes valid source."""
    if not text or not text.split():
        return []
    out = []
    for ch in " ".join(text.split()):
        code = ord(ch)
        if ch in '\\"':
            out.append("\\" + ch)
        elif code < 32 or code == 127 or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return [f'{indent}"""{"".join(out)}"""']


def _with_imports(lines: list[str]) -> str:
    text = "\n".join(lines) + "\n"
    modules = [m for m in ("dataclasses", "datetime", "decimal", "enum", "uuid") if f"{m}." in text]
    return text.replace(_IMPORTS, "\n".join(f"import {m}" for m in modules))


# -- the types module ----------------------------------------------------------------------------


def render_types(types: NamedTypes, source: str) -> str:
    """``types.py``: every record and enum class, enums first (record defaults may name them)."""
    lines = [
        f'"""The classes of every record and enum in {source}, generated once by ``pipeline generate``.',
        "",
        "Do not edit: change the schemas and run ``make generate``.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        _IMPORTS,
        "",
    ]
    named = [(name, s) for name, s in types.schemas.items() if name in types.class_names]
    names = sorted(types.class_names.values())
    lines.extend(["__all__ = [", '    "MODEL",', *(f"    {_str(n)}," for n in names), "]"])
    for _, schema in sorted(named, key=lambda item: not isinstance(item[1], Enum)):
        lines.extend(_enum(schema, types) if isinstance(schema, Enum) else _record(schema, types))  # type: ignore[arg-type]
    lines.extend(["", "", "MODEL: dict[str, type] = {"])
    lines.extend(f"    {_str(name)}: {types.class_names[name]}," for name, _ in named)
    lines.append("}")
    return _with_imports(lines)


def _enum(schema: Enum, types: NamedTypes) -> list[str]:
    cls = types.class_names[schema.name.fullname]
    lines = ["", "", f"class {cls}(enum.Enum):"]
    lines.extend(_doc(schema.doc, "    ") or [f'    """Avro enum {schema.name.fullname}."""'])
    lines.extend(["", f"    __avro_name__ = {_str(schema.name.fullname)}", ""])
    for member, symbol in zip(member_names(schema.symbols), schema.symbols, strict=True):
        lines.append(f"    {member} = {_str(symbol)}")
    return lines


def _mutable(schema: Schema) -> bool:
    if isinstance(schema, Union):
        return _mutable(schema.branches[0])
    return isinstance(schema, Array | Map | Record)


def _record(schema: Record, types: NamedTypes) -> list[str]:
    cls = types.class_names[schema.name.fullname]
    lines = ["", "", "@dataclasses.dataclass(slots=True, kw_only=True)", f"class {cls}:"]
    lines.extend(_doc(schema.doc, "    ") or [f'    """Avro record {schema.name.fullname}."""'])
    lines.extend(["", f"    __avro_name__ = {_str(schema.name.fullname)}"])
    for entry, attr in zip(schema.fields, attribute_names([f.name for f in schema.fields]), strict=True):
        line = f"    {attr}: {types.annotation(entry.type)}"
        if entry.has_default:
            value = types.default(entry.type, entry.default)
            if not _mutable(entry.type):
                line += f" = {value}"
            elif value in ("[]", "{}"):
                line += f" = dataclasses.field(default_factory={'list' if value == '[]' else 'dict'})"
            else:
                line += f" = dataclasses.field(default_factory=lambda: {value})"
        lines.extend(["", line, *_doc(entry.doc, "    ")])
    return lines


# -- a topic's module ----------------------------------------------------------------------------


def _reachable(schema: Schema, class_names: Mapping[str, str]) -> list[str]:
    """The classes ``schema`` uses, in the order first met."""
    found: dict[str, None] = {}
    seen: set[int] = set()
    pending = [schema]
    while pending:
        node = pending.pop(0)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Record | Enum):
            found[class_names[node.name.fullname]] = None
        if isinstance(node, Record):
            pending.extend(f.type for f in node.fields)
        elif isinstance(node, Array):
            pending.append(node.items)
        elif isinstance(node, Map):
            pending.append(node.values)
        elif isinstance(node, Union):
            pending.extend(node.branches)
    return list(found)


def _binding(spec: SubjectSpec, subjects: Mapping[str, SubjectSpec], indent: str) -> list[str]:
    inner = indent + "    "
    lines = [
        f"{indent}SchemaBinding(",
        f"{inner}subject={_str(spec.subject)},",
        f"{inner}schema_text={_str(spec.text)},",
    ]
    if spec.references:
        lines.append(f"{inner}resolved_text={_str(spec.resolved_text)},")
        lines.append(f"{inner}references=(")
        for ref in spec.references:
            lines.extend([f"{inner}    (", f"{inner}        {_str(ref.name)},"])
            lines.extend(_binding(subjects[ref.subject], subjects, inner + "        "))
            lines.append(f"{inner}    ),")
        lines.append(f"{inner}),")
    lines.append(f"{indent}),")
    return lines


def render_topic(
    topic: TopicSpec,
    subjects: Mapping[str, SubjectSpec],
    parsed: Mapping[str, NamedSchema],
    types: NamedTypes,
    source: str,
) -> str:
    """The generated module for ``topic``. ``subjects``: every catalog subject by name (for
    references); ``parsed``: the topic's value and key types by full name."""
    value = parsed[topic.value.full_name]
    key = parsed[topic.key.full_name] if topic.key is not None else None
    value_cls = types.class_names[value.name.fullname]
    key_cls = types.class_names[key.name.fullname] if key is not None else "str"
    key_text = f"Avro {topic.key_type}" if topic.key is not None else f"plain {topic.key_type}"
    used = _reachable(value, types.class_names) + [
        c
        for c in (_reachable(key, types.class_names) if key is not None else [])
        if c not in _reachable(value, types.class_names)
    ]
    fn = module_name(topic.name)
    exported = [*sorted(used), "BINDING", f"open_{fn}_consumer", f"open_{fn}_producer"]
    order = sorted(exported, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n))
    lines = [
        f'"""Typed pipeline for topic ``{topic.name}``, generated by ``pipeline generate``',
        f"from {source}.",
        "",
        "Do not edit: change the schemas and run ``make generate``.",
        "",
        f"- value: {topic.value.full_name}, subject ``{topic.value.subject}``",
        f"- key: {key_text}" + (f", subject ``{topic.key.subject}``" if topic.key is not None else ""),
        f"- dead-letter topic: ``{topic.dlq}``",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any",
        "",
        "from pipeline.binding import SchemaBinding, TopicBinding, open_consumer, open_producer",
        "from pipeline.config import Settings",
        "from pipeline.topic import TopicConsumer, TopicProducer",
        "",
        f"from .{TYPES_MODULE} import MODEL, {', '.join(sorted(used))}",
        "",
        "__all__ = [",
        *(f"    {_str(name)}," for name in order),
        "]",
        "",
        "BINDING = TopicBinding(",
        f"    topic={_str(topic.name)},",
        "    value=(",
        *_binding(topic.value, subjects, "        ")[:-1],
        "        )",
        "    ),",
        f"    dlq_topic={_str(topic.dlq)},",
    ]
    if topic.key is not None:
        lines.extend(["    key=(", *_binding(topic.key, subjects, "        ")[:-1], "        )", "    ),"])
    lines.extend(
        [
            "    classes=MODEL,",
            ")",
            "",
            "",
            f"def open_{fn}_producer(settings: Settings, **options: Any) -> TopicProducer[{value_cls}]:",
            f'    """A producer of {value_cls} records to ``{topic.name}``, keyed by {key_cls}.',
            "",
            '    See ``pipeline.binding.open_producer`` for the options."""',
            "    return open_producer(settings, BINDING, **options)",
            "",
            "",
            f"def open_{fn}_consumer(",
            "    settings: Settings, group_id: str, **options: Any",
            f") -> TopicConsumer[{value_cls}]:",
            f'    """A consumer of {value_cls} records from ``{topic.name}`` in ``group_id``',
            f"    (keys as {key_cls}).",
            "",
            '    See ``pipeline.binding.open_consumer`` for the options."""',
            "    return open_consumer(settings, BINDING, group_id, **options)",
        ]
    )
    return "\n".join(lines) + "\n"


def topic_schemas(topics: Iterable[TopicSpec]) -> list[SubjectSpec]:
    """The value and key subjects of ``topics``, in catalog order."""
    return [spec for topic in topics for spec in (topic.value, topic.key) if spec is not None]
