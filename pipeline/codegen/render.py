"""Rendering one topic's typed module: classes for its named types, conversions to and from Avro
datums, the topic binding, and the pair of functions that open its producer and consumer. Pure: text in,
text out, deterministic, already in the project's format (ruff)."""

from __future__ import annotations

import json
import re
from typing import Any

import fastavro

from pipeline.catalog import SubjectSpec, TopicSpec
from pipeline.codegen.pytypes import NamedTypes, collect, enum_lookup, field_name, member_name

__all__ = ["module_name", "render_topic"]

# Placeholders filled once the body is known, so a module imports only what it uses.
_IMPORTS = "# <imports>"
_SUPPORT_IMPORT = "# <support import>"


def module_name(topic: str) -> str:
    """The Python module for a topic: lower case, anything not a word character made ``_``."""
    name = re.sub(r"\W", "_", topic.lower())
    return f"topic_{name}" if name[0].isdigit() else name


def _str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _doc(text: str | None, indent: str) -> list[str]:
    if not text:
        return []
    clean = " ".join(text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').split())
    if clean.endswith('"'):
        clean += " "
    return [f'{indent}"""{clean}"""']


def _parsed(spec: SubjectSpec) -> Any:
    return fastavro.parse_schema(spec.resolved, _write_hint=False)


class _Renderer:
    def __init__(self, topic: TopicSpec, subjects: dict[str, SubjectSpec]) -> None:
        self.topic = topic
        self.subjects = subjects
        self.value = _parsed(topic.value)
        self.key = _parsed(topic.key) if topic.key is not None else None
        self.types: NamedTypes = collect(*(s for s in (self.key, self.value) if s is not None))
        self.lines: list[str] = []

    def emit(self, *lines: str) -> None:
        self.lines.extend(lines)

    # -- types -------------------------------------------------------------------------------

    def enum(self, schema: dict[str, Any]) -> None:
        cls = self.types.class_names[schema["name"]]
        self.emit("", "", f"class {cls}(enum.Enum):")
        self.emit(*(_doc(schema.get("doc"), "    ") or [f'    """Avro enum {schema["name"]}."""']), "")
        for symbol in schema["symbols"]:
            self.emit(f"    {member_name(symbol)} = {_str(symbol)}")
        lookup = f"{enum_lookup(cls)}: dict[str, {cls}] = {{member.value: member for member in {cls}}}"
        self.emit("", "", lookup)

    def default(self, schema: Any, value: Any) -> tuple[str, bool]:
        """A Python expression for an Avro JSON default, and whether it needs a default_factory."""
        if isinstance(schema, list):
            return self.default(schema[0], value)
        if isinstance(schema, str) and schema not in (
            "null",
            "boolean",
            "int",
            "long",
            "float",
            "double",
            "bytes",
            "string",
        ):
            schema = self.types.definition(schema)
        if isinstance(schema, str):
            if schema == "bytes":
                return f"support.bytes_default({_str(value)})", False
            if schema == "string":
                return _str(value), False
            return repr(value), False
        kind = schema["type"]
        logical = schema.get("logicalType")
        if logical and (kind, logical) != ("fixed", None):
            scale = schema.get("scale", 0)
            literal = _str(value) if isinstance(value, str) else repr(value)
            return f"support.logical_default({_str(logical)}, {literal}, {scale})", False
        if kind == "enum":
            return f"{self.types.class_names[schema['name']]}.{member_name(value)}", False
        if kind == "fixed":
            return f"support.bytes_default({_str(value)})", False
        if kind in ("record", "error"):
            return f"{self.types.class_names[schema['name']]}.from_avro({json.dumps(value)})", True
        if kind in ("array", "map"):
            if not value:
                return ("list" if kind == "array" else "dict"), True
            return self.types.from_avro(schema, json.dumps(value)), True
        return self.default(kind, value)

    def record(self, schema: dict[str, Any]) -> None:
        cls = self.types.class_names[schema["name"]]
        self.emit("", "", "@dataclasses.dataclass(slots=True, kw_only=True)", f"class {cls}:")
        self.emit(*(_doc(schema.get("doc"), "    ") or [f'    """Avro record {schema["name"]}."""']))
        fields = schema["fields"]
        for entry in fields:
            name, annotation = field_name(entry["name"]), self.types.annotation(entry["type"])
            line = f"    {name}: {annotation}"
            if "default" in entry:
                expr, factory = self.default(entry["type"], entry["default"])
                if factory:
                    expr = expr if expr in ("list", "dict") else f"lambda: {expr}"
                    line += f" = dataclasses.field(default_factory={expr})"
                else:
                    line += f" = {expr}"
            self.emit("", line, *_doc(entry.get("doc"), "    "))
        self.emit(
            "", "    def to_avro(self) -> dict[str, Any]:", '        """This record as an Avro datum."""'
        )
        self.emit("        return {")
        for entry in fields:
            attr = f"self.{field_name(entry['name'])}"
            self.emit(f"            {_str(entry['name'])}: {self.types.to_avro(entry['type'], attr)},")
        self.emit("        }")
        self.emit("", "    @classmethod", f"    def from_avro(cls, datum: dict[str, Any]) -> {cls}:")
        self.emit('        """The record in an Avro datum (as read with tagged named unions)."""')
        self.emit("        return cls(")
        for entry in fields:
            value = self.types.from_avro(entry["type"], f"datum[{_str(entry['name'])}]")
            self.emit(f"            {field_name(entry['name'])}={value},")
        self.emit("        )")

    # -- binding -----------------------------------------------------------------------------

    def binding(self, spec: SubjectSpec, indent: str) -> list[str]:
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
                lines.append(f"{inner}    (")
                lines.append(f"{inner}        {_str(ref.name)},")
                lines.extend(self.binding(self.catalog_subject(ref.subject), inner + "        "))
                lines.append(f"{inner}    ),")
            lines.append(f"{inner}),")
        lines.append(f"{indent}),")
        return lines

    def catalog_subject(self, subject: str) -> SubjectSpec:
        return self.subjects[subject]

    def render(self, source: str) -> str:
        topic, value_cls = self.topic, self.types.class_names[self.value["name"]]
        key_cls = self.types.class_names[self.key["name"]] if self.key is not None else "str"
        key_text = f"Avro {topic.key_type}" if topic.key is not None else f"plain {topic.key_type}"
        self.emit(
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
            _IMPORTS,
            "from typing import Any",
            "",
            "from pipeline.binding import SchemaBinding, TopicBinding, open_consumer, open_producer",
            _SUPPORT_IMPORT,
            "from pipeline.config import Settings",
            "from pipeline.topic import TopicConsumer, TopicProducer",
            "",
        )
        classes = sorted(self.types.class_names.values())
        exported = [
            *classes,
            "BINDING",
            f"open_{module_name(topic.name)}_consumer",
            f"open_{module_name(topic.name)}_producer",
        ]
        order = sorted(exported, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n))
        self.emit("__all__ = [", *(f"    {_str(name)}," for name in order), "]")
        for name, schema in self.types.schemas.items():
            if name not in self.types.class_names:
                continue
            (self.enum if schema["type"] == "enum" else self.record)(schema)
        self.emit("", "", "BINDING = TopicBinding(", f"    topic={_str(topic.name)},", "    value=(")
        self.lines.extend([*self.binding(topic.value, "        ")[:-1], "        )"])
        self.emit("    ),", f"    dlq_topic={_str(topic.dlq)},")
        if topic.key is not None:
            self.emit("    key=(")
            self.lines.extend([*self.binding(topic.key, "        ")[:-1], "        )"])
            self.emit("    ),")
        self.emit("    tagged_unions=True,", "    classes={")
        for name, cls in self.types.class_names.items():
            self.emit(f"        {_str(name)}: {cls},")
        self.emit("    },", ")")
        fn = module_name(topic.name)
        self.emit(
            "",
            "",
            f"def open_{fn}_producer(settings: Settings, **options: Any) -> TopicProducer[{value_cls}]:",
            f'    """A producer of {value_cls} records to ``{topic.name}``, keyed by {key_cls}.',
            "",
            '    See ``pipeline.binding.open_producer`` for the options."""',
            f"    return open_producer(settings, BINDING, {value_cls}.to_avro, **options)",
            "",
            "",
            f"def open_{fn}_consumer(",
            "    settings: Settings, group_id: str, **options: Any",
            f") -> TopicConsumer[{value_cls}]:",
            f'    """A consumer of {value_cls} records from ``{topic.name}`` in ``group_id``.',
            "",
            '    See ``pipeline.binding.open_consumer`` for the options."""',
            f"    return open_consumer(settings, BINDING, {value_cls}.from_avro, group_id, **options)",
        )
        text = "\n".join(self.lines) + "\n"
        modules = [m for m in ("dataclasses", "datetime", "decimal", "enum", "uuid") if f"{m}." in text]
        text = text.replace(_IMPORTS, "\n".join(f"import {m}" for m in modules))
        support = (
            "from pipeline.codegen import support" if "support." in text.replace(_SUPPORT_IMPORT, "") else ""
        )
        return text.replace(_SUPPORT_IMPORT + "\n", support + "\n" if support else "")


def render_topic(topic: TopicSpec, subjects: dict[str, SubjectSpec], source: str) -> str:
    """The generated module for ``topic``. ``subjects``: every catalog subject by name (for references)."""
    return _Renderer(topic, subjects).render(source)
