"""Rendering the generated modules. Pure: text in, text out, deterministic.

- ``types.py``: one class per record and enum of the whole catalog, each generated once (so
  ``payments.Money is customers.Money``), and ``MODEL`` (full name -> class), which the codec builds
  and reads.
- ``subjects.py``: every subject the topics use (the exact registered text and references), once.
- ``<topic>.py``: the topic's binding (topic, its subjects, the dead-letter topic) and the pair
  ``open_<topic>_producer`` / ``open_<topic>_consumer``; it re-exports the classes the topic uses.

The classes are plain data (slotted keyword-only dataclasses, enums): the shared codec reads and builds
them by the convention of :mod:`pipeline.codec.typed`; there is no conversion code in the templates.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Iterable, Mapping

from pipeline.avro import Array, Enum, Map, NamedSchema, Record, Schema, Union
from pipeline.codec.typed import attribute_names, member_names
from pipeline.codegen.pytypes import NamedTypes
from pipeline.schema import SubjectSpec, TopicSpec

__all__ = [
    "SUBJECTS_MODULE",
    "TYPES_MODULE",
    "module_name",
    "render_subjects",
    "render_topic",
    "render_types",
    "topic_schemas",
]

TYPES_MODULE = "types"
SUBJECTS_MODULE = "subjects"
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


def _preamble(first: str, *more: str) -> list[str]:
    """A generated module's docstring (``first`` and ``more`` lines, then the warning) and its future
    import."""
    return [
        f'"""{first}',
        *more,
        "",
        "Do not edit: change the schemas and run ``make generate``.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
    ]


# -- the types module ----------------------------------------------------------------------------


def render_types(types: NamedTypes, source: str) -> str:
    """``types.py``: every record and enum class, enums first (record defaults may name them)."""
    lines = [
        *_preamble(
            f"The classes of every record and enum in {source}, generated once by ``pipeline generate``."
        ),
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


def render_subjects(topics: Iterable[TopicSpec], subjects: Mapping[str, SubjectSpec], source: str) -> str:
    """``subjects.py``: one SchemaBinding per subject the topics use, each written once, references
    before the subjects that use them."""
    lines = [
        *_preamble(
            f"Every subject of {source} the topics use (the exact registered text and references),",
            "generated by ``pipeline generate``.",
        ),
        "from pipeline.kafka.binding import SchemaBinding",
        "",
        '__all__ = ["SUBJECTS"]',
        "",
        "SUBJECTS: dict[str, SchemaBinding] = {}",
    ]
    done: set[str] = set()

    def add(spec: SubjectSpec) -> None:
        if spec.subject in done:
            return
        done.add(spec.subject)
        for ref in spec.references:
            add(subjects[ref.subject])
        lines.extend(
            [
                f"SUBJECTS[{_str(spec.subject)}] = SchemaBinding(",
                f"    subject={_str(spec.subject)},",
                f"    schema_text={_str(spec.text)},",
            ]
        )
        if spec.references:
            lines.append(f"    resolved_text={_str(spec.resolved_text)},")
            lines.append("    references=(")
            lines.extend(
                f"        ({_str(ref.name)}, SUBJECTS[{_str(ref.subject)}])," for ref in spec.references
            )
            lines.append("    ),")
        lines.append(")")

    for spec in topic_schemas(topics):
        add(spec)
    return "\n".join(lines) + "\n"


def render_topic(
    topic: TopicSpec,
    subjects: Mapping[str, SubjectSpec],
    parsed: Mapping[str, NamedSchema],
    types: NamedTypes,
    source: str,
) -> str:
    """The generated module for ``topic``. ``subjects``: every catalog subject by name (for
    references); ``parsed``: the topic's value and key types by full name."""
    values = [parsed[spec.full_name] for spec in topic.values]
    key = parsed[topic.key.full_name] if topic.key is not None else None
    value_classes = [types.class_names[value.name.fullname] for value in values]
    key_cls = types.class_names[key.name.fullname] if key is not None else "str"
    key_text = f"Avro {topic.key_type}" if topic.key is not None else f"plain {topic.key_type}"
    used: list[str] = []
    for schema in (*values, *([key] if key is not None else [])):
        used.extend(c for c in _reachable(schema, types.class_names) if c not in used)
    fn = module_name(topic.name)
    alias = _union_alias(topic.name, value_classes, set(types.class_names.values()))
    value_cls = alias or value_classes[0]
    exported = [
        *sorted(used),
        *([alias] if alias else []),
        "BINDING",
        f"open_{fn}_consumer",
        f"open_{fn}_producer",
    ]
    order = sorted(exported, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n))
    lines = [
        *_preamble(
            f"Typed pipeline for topic ``{topic.name}``, generated by ``pipeline generate``",
            f"from {source}.",
            "",
            *(f"- value: {spec.full_name}, subject ``{spec.subject}``" for spec in topic.values),
            f"- key: {key_text}" + (f", subject ``{topic.key.subject}``" if topic.key is not None else ""),
            f"- dead-letter topic: ``{topic.dlq}``",
        ),
        "from typing import Any",
        "",
        "from pipeline.config import Settings",
        "from pipeline.kafka.binding import TopicBinding, open_consumer, open_producer",
        "from pipeline.kafka.typed import TopicConsumer, TopicProducer",
        "",
        f"from .{SUBJECTS_MODULE} import SUBJECTS",
        f"from .{TYPES_MODULE} import MODEL, {', '.join(sorted(used))}",
        "",
        "__all__ = [",
        *(f"    {_str(name)}," for name in order),
        "]",
        "",
        "BINDING = TopicBinding(",
        f"    topic={_str(topic.name)},",
        f"    value=SUBJECTS[{_str(topic.value.subject)}],",
        *(
            [f"    more_values=({' '.join(f'SUBJECTS[{_str(s.subject)}],' for s in topic.more_values)}),"]
            if topic.more_values
            else []
        ),
        *([f"    key=SUBJECTS[{_str(topic.key.subject)}],"] if topic.key is not None else []),
        f"    dlq_topic={_str(topic.dlq)},",
    ]
    lines.extend(["    classes=MODEL,", ")"])
    if alias:
        lines.extend(
            [
                "",
                f"{alias} = {' | '.join(value_classes)}",
                f'"""A value of topic ``{topic.name}``: one of its event types (dispatch with ``match``)."""',
            ]
        )
    lines.extend(
        [
            "",
            "",
            f"def open_{fn}_producer(settings: Settings, **options: Any) -> TopicProducer[{value_cls}]:",
            f'    """A producer of {value_cls} records to ``{topic.name}``, keyed by {key_cls}.',
            "",
            '    See ``pipeline.kafka.binding.open_producer`` for the options."""',
            "    return open_producer(settings, BINDING, **options)",
            "",
            "",
            f"def open_{fn}_consumer(",
            "    settings: Settings, group_id: str, **options: Any",
            f") -> TopicConsumer[{value_cls}]:",
            f'    """A consumer of {value_cls} records from ``{topic.name}`` in ``group_id``',
            f"    (keys as {key_cls}).",
            "",
            '    See ``pipeline.kafka.binding.open_consumer`` for the options."""',
            "    return open_consumer(settings, BINDING, group_id, **options)",
        ]
    )
    return "\n".join(lines) + "\n"


def topic_schemas(topics: Iterable[TopicSpec]) -> list[SubjectSpec]:
    """The value and key subjects of ``topics``, in catalog order."""
    return [spec for topic in topics for spec in (*topic.values, topic.key) if spec is not None]


def _union_alias(topic: str, classes: list[str], taken: set[str]) -> str | None:
    """The name of the type alias for a topic with several value types (``ShipmentEventsValue``), or
    None for a topic with one."""
    if len(classes) == 1:
        return None
    name = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", topic) if part)
    name = (name if name[:1].isalpha() else "T" + name) + "Value"
    while name in taken or keyword.iskeyword(name):
        name += "_"
    return name
