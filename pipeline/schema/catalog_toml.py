"""``catalog.toml``: read with tomllib into a typed, frozen :class:`CatalogConfig`, every problem a
:class:`~pipeline.schema.lint.Diagnostic` naming the file, the line (best effort) and the key path.
Unknown keys are rejected."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from pipeline.compat import Level
from pipeline.schema.avsc import is_legal_full_name
from pipeline.schema.catalog import PLAIN_KEY_TYPES, ReferenceMode, SubjectNameStrategy
from pipeline.schema.lint import Diagnostic, FieldNameStyle, LintOptions

__all__ = ["CatalogConfig", "PipelineConfig", "TopicConfig", "catalog_diagnostic", "parse_config"]

_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
_SECTIONS = {
    "defaults": {"compatibility", "subject_name_strategy", "partitions", "replication_factor", "key"},
    "registry": {"references"},
    "lint": {"docs", "field_names"},
}
_TOPIC_KEYS = {
    "value",
    "key",
    "subject_name_strategy",
    "compatibility",
    "key_compatibility",
    "partitions",
    "replication_factor",
    "dlq",
}
_TYPE_KEYS = {"compatibility"}
_PIPELINE_KEYS = {"input", "output", "handler", "group", "exactly_once", "batch"}
_HANDLER = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
_GROUP = re.compile(r"[A-Za-z0-9._-]{1,249}")
_E = TypeVar("_E", bound=StrEnum)


@dataclass(frozen=True)
class TopicConfig:
    """One ``[topics.<name>]`` table with the defaults applied."""

    name: str
    value: str
    key: str
    strategy: SubjectNameStrategy
    compatibility: Level
    key_compatibility: Level
    partitions: int
    replication_factor: int
    dlq: str
    more_values: tuple[str, ...] = ()  # a topic's other event types (value = [A, B, ...])

    @property
    def values(self) -> tuple[str, ...]:
        return (self.value, *self.more_values)


@dataclass(frozen=True)
class PipelineConfig:
    """One ``[pipelines.<name>]`` table: a transform that reads ``input``, calls ``handler``
    (``package.module:function``) on each typed record, and writes what it returns to ``output``."""

    name: str
    input: str
    output: str | None
    handler: str
    group: str
    exactly_once: bool = True
    batch: int = 500


@dataclass(frozen=True)
class CatalogConfig:
    """The whole of ``catalog.toml``."""

    references: ReferenceMode
    lint: LintOptions
    default_compatibility: Level
    type_compatibility: Mapping[str, Level]
    topics: tuple[TopicConfig, ...]
    pipelines: tuple[PipelineConfig, ...] = ()


def parse_config(text: str, file: str) -> tuple[CatalogConfig | None, list[Diagnostic]]:
    """Parse the catalog file's text. Returns the config (None when it cannot be built) and every
    problem found; the config is only trustworthy when the list is empty."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        located = re.search(r"at line (\d+)", str(exc))
        line = int(located.group(1)) if located else None
        return None, [Diagnostic(file, line, "", f"not valid TOML: {exc}")]
    except RecursionError:
        return None, [Diagnostic(file, None, "", "its arrays or tables nest too deeply to read")]
    reader = _Reader(text, file)
    config = reader.read(data)
    return config, reader.diagnostics


class _Reader:
    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.lines = _TomlLines(text)
        self.diagnostics: list[Diagnostic] = []

    def report(self, table: tuple[str, ...], key: str | None, message: str) -> None:
        self.diagnostics.append(_diagnostic(self.file, self.lines, table, key, message))

    def table(
        self, data: Mapping[str, Any], table: tuple[str, ...], allowed: set[str] | None
    ) -> dict[str, Any]:
        """The table at ``table`` (empty when absent); any key goes when ``allowed`` is None."""
        node = data
        for part in table:
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        if not isinstance(node, Mapping):
            self.report(table, None, f"expected a table, not {_toml_type(node)}")
            return {}
        for key in node:
            if allowed is not None and key not in allowed:
                self.report(table, key, f"unknown key {key!r}; expected one of {', '.join(sorted(allowed))}")
        return dict(node)

    def enum(
        self, table: tuple[str, ...], values: Mapping[str, Any], key: str, kind: type[_E], default: _E
    ) -> _E:
        raw = values.get(key, default.value)
        try:
            return kind(raw)
        except ValueError:
            choices = ", ".join(member.value for member in kind)
            self.report(table, key, f"{raw!r} is not one of {choices}")
            return default

    def whole(
        self,
        table: tuple[str, ...],
        values: Mapping[str, Any],
        key: str,
        default: int,
        check: Callable[[int], bool],
        expected: str,
    ) -> int:
        raw = values.get(key, default)
        if isinstance(raw, bool) or not isinstance(raw, int) or not check(raw):
            self.report(table, key, f"{raw!r} is not {expected}")
            return default
        return raw

    def read(self, data: dict[str, Any]) -> CatalogConfig:
        for key in data:
            if key not in {*_SECTIONS, "topics", "types", "pipelines"}:
                self.report(
                    (),
                    key,
                    f"unknown table [{_toml_key(key)}]; expected defaults, registry, lint, topics, types, "
                    "pipelines",
                )
        defaults = self.table(data, ("defaults",), _SECTIONS["defaults"])
        registry = self.table(data, ("registry",), _SECTIONS["registry"])
        lint = self.table(data, ("lint",), _SECTIONS["lint"])

        default_level = self.enum(("defaults",), defaults, "compatibility", Level, Level.BACKWARD)
        default_strategy = self.enum(
            ("defaults",), defaults, "subject_name_strategy", SubjectNameStrategy, SubjectNameStrategy.TOPIC
        )
        default_partitions = self.whole(
            ("defaults",), defaults, "partitions", 1, _positive, "a whole number ≥ 1"
        )
        default_rf = self.whole(
            ("defaults",), defaults, "replication_factor", -1, _replication, "-1 (broker default) or ≥ 1"
        )
        default_key = self.key(("defaults",), defaults, "string")
        references = self.enum(("registry",), registry, "references", ReferenceMode, ReferenceMode.SUBJECTS)

        docs = lint.get("docs", True)
        if not isinstance(docs, bool):
            self.report(("lint",), "docs", f"{docs!r} is not true or false")
            docs = True
        style = lint.get("field_names", "snake_case")
        if style not in ("snake_case", "camelCase", "off"):
            self.report(("lint",), "field_names", f"{style!r} is not one of snake_case, camelCase, off")
            style = "snake_case"
        field_style: FieldNameStyle = style

        types: dict[str, Level] = {}
        for name in self.table(data, ("types",), None):
            values = self.table(data, ("types", name), _TYPE_KEYS)
            if not is_legal_full_name(name):
                self.report(("types", name), None, f"{name!r} is not an Avro full name")
                continue
            types[name] = self.enum(("types", name), values, "compatibility", Level, default_level)

        topics = []
        for name in self.table(data, ("topics",), None):
            table = ("topics", name)
            values = self.table(data, table, _TOPIC_KEYS)
            if not _TOPIC_NAME.fullmatch(name) or name in (".", ".."):
                self.report(table, None, f"{name!r} is not a legal Kafka topic name ([A-Za-z0-9._-], ≤ 249)")
            value = values.get("value")
            listed = value if isinstance(value, list) else [value]
            if (
                not listed
                or not all(is_legal_full_name(v) for v in listed)
                or len(set(listed)) != len(listed)
            ):
                self.report(
                    table,
                    "value" if "value" in values else None,
                    'needs value = "<full name of the value\'s type>", or a list of distinct full names '
                    "for several event types on one topic",
                )
                continue
            names = [v for v in listed if is_legal_full_name(v)]
            strategy = self.enum(
                table, values, "subject_name_strategy", SubjectNameStrategy, default_strategy
            )
            if len(names) > 1 and strategy is SubjectNameStrategy.TOPIC:
                self.report(
                    table,
                    "value",
                    "several value types need a subject each: set subject_name_strategy to "
                    '"TopicRecordNameStrategy" or "RecordNameStrategy" (TopicNameStrategy has one '
                    "subject, <topic>-value, for one type)",
                )
                continue
            key = self.key(table, values, default_key)
            level = self.enum(table, values, "compatibility", Level, default_level)
            dlq = values.get("dlq", f"{name}.dlq")
            if not isinstance(dlq, str) or not _TOPIC_NAME.fullmatch(dlq) or dlq in (".", ".."):
                self.report(table, "dlq", f"{dlq!r} is not a legal Kafka topic name")
                dlq = f"{name}.dlq"
            topics.append(
                TopicConfig(
                    name=name,
                    value=names[0],
                    more_values=tuple(names[1:]),
                    key=key,
                    strategy=strategy,
                    compatibility=level,
                    key_compatibility=self.enum(table, values, "key_compatibility", Level, level),
                    partitions=self.whole(
                        table, values, "partitions", default_partitions, _positive, "a whole number ≥ 1"
                    ),
                    replication_factor=self.whole(
                        table,
                        values,
                        "replication_factor",
                        default_rf,
                        _replication,
                        "-1 (broker default) or ≥ 1",
                    ),
                    dlq=dlq,
                )
            )
        if not topics and not self.diagnostics:
            self.report((), None, "the catalog names no topics; add a [topics.<name>] table")
        self.check_topic_names(topics)
        pipelines = self.pipelines(data, {topic.name for topic in topics})
        return CatalogConfig(
            references, LintOptions(docs, field_style), default_level, types, tuple(topics), pipelines
        )

    def pipelines(self, data: dict[str, Any], topics: set[str]) -> tuple[PipelineConfig, ...]:
        found = []
        for name in self.table(data, ("pipelines",), None):
            table = ("pipelines", name)
            problems = len(self.diagnostics)
            values = self.table(data, table, _PIPELINE_KEYS)
            if not _GROUP.fullmatch(name):
                self.report(table, None, f"{name!r} is not a pipeline name ([A-Za-z0-9._-], ≤ 249)")
                continue
            source = values.get("input")
            if not isinstance(source, str) or source not in topics:
                self.report(
                    table, "input" if "input" in values else None, _topic_problem("input", source, topics)
                )
            sink = values.get("output")
            if sink is not None and (not isinstance(sink, str) or sink not in topics):
                self.report(table, "output", _topic_problem("output", sink, topics))
            elif sink is not None and sink == source:
                self.report(
                    table, "output", f"writes to its own input {sink!r}: it would read its output again"
                )
            handler = values.get("handler")
            if not isinstance(handler, str) or not _HANDLER.fullmatch(handler):
                self.report(
                    table,
                    "handler" if "handler" in values else None,
                    f'needs handler = "package.module:function", not {handler!r}',
                )
            group = values.get("group", f"pipeline-{name}")
            if not isinstance(group, str) or not _GROUP.fullmatch(group):
                self.report(table, "group", f"{group!r} is not a consumer group id ([A-Za-z0-9._-], ≤ 249)")
            exactly_once = values.get("exactly_once", True)
            if not isinstance(exactly_once, bool):
                self.report(table, "exactly_once", f"{exactly_once!r} is not true or false")
            batch = self.whole(table, values, "batch", 500, _positive, "a whole number ≥ 1")
            if len(self.diagnostics) == problems:
                found.append(
                    PipelineConfig(
                        name, str(source), sink, str(handler), str(group), bool(exactly_once), batch
                    )
                )
        return tuple(found)

    def key(self, table: tuple[str, ...], values: Mapping[str, Any], default: str) -> str:
        key = values.get("key", default)
        if not (key in PLAIN_KEY_TYPES or is_legal_full_name(key)):
            self.report(
                table,
                "key",
                f"{key!r} is neither a plain key ({', '.join(PLAIN_KEY_TYPES)}) "
                "nor the full name of an Avro type",
            )
            return "string"
        return str(key)

    def check_topic_names(self, topics: list[TopicConfig]) -> None:
        """Topic and DLQ names are distinct, also after Kafka's '.'/'_' folding (it refuses to create
        topics that differ only there, as their metric names would collide)."""
        owners: dict[str, str] = {}
        for topic in topics:
            for name, what in ((topic.name, "topic"), (topic.dlq, "dead-letter topic")):
                folded = name.replace(".", "_")
                if folded in owners:
                    self.report(
                        ("topics", topic.name),
                        "dlq" if what != "topic" else None,
                        f"{what} {name!r} collides with {owners[folded]}",
                    )
                else:
                    owners[folded] = f"the {what} {name!r} of [topics.{_toml_key(topic.name)}]"


def _topic_problem(role: str, value: Any, topics: set[str]) -> str:
    if value is None:
        return f'needs {role} = "<topic>", one of the catalog\'s topics'
    known = ", ".join(sorted(topics)) or "none"
    return f"{role} {value!r} is not a topic of this catalog (it has: {known})"


def catalog_diagnostic(
    file: str, text: str, table: tuple[str, ...], key: str | None, message: str
) -> Diagnostic:
    """A problem with the catalog file's ``table`` (and ``key`` in it), located as well as we can."""
    return _diagnostic(file, _TomlLines(text), table, key, message)


def _diagnostic(
    file: str, lines: _TomlLines, table: tuple[str, ...], key: str | None, message: str
) -> Diagnostic:
    path = ".".join(_toml_key(part) for part in (*table, *([key] if key else [])))
    return Diagnostic(file, lines.find(table, key), path, message)


def _positive(value: int) -> bool:
    return value >= 1


def _replication(value: int) -> bool:
    return value == -1 or value >= 1


def _toml_key(part: str) -> str:
    """``part`` as TOML spells a key: bare when it can be, else quoted with its escapes (one line)."""
    return part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else json.dumps(part, ensure_ascii=False)


def _toml_type(value: Any) -> str:
    kinds = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array"}
    return next((name for kind, name in kinds.items() if isinstance(value, kind)), "a date or time")


class _TomlLines:
    """Best-effort line numbers: the line of a table header, or of a key inside a table."""

    _HEADER = re.compile(r"\s*\[([^\[\]]+)\]\s*(#.*)?$")

    def __init__(self, text: str) -> None:
        self.entries: list[tuple[int, tuple[str, ...], str | None]] = []
        current: tuple[str, ...] = ()
        for number, line in enumerate(text.split("\n"), start=1):  # TOML breaks lines at \n only
            header = self._HEADER.match(line)
            if header:
                current = _header_path(header.group(1))
                self.entries.append((number, current, None))
                continue
            key = re.match(r'\s*("([^"]+)"|[A-Za-z0-9_-]+)\s*=', line)
            if key:
                self.entries.append((number, current, key.group(2) or key.group(1)))

    def find(self, table: tuple[str, ...], key: str | None) -> int | None:
        """The line of ``key`` in ``table`` (of the table when ``key`` is None), written as a header
        or as ``key = ...``; else the line of the nearest enclosing table written so."""
        path = (*table, *([key] if key is not None else []))
        while path:
            for number, where, name in self.entries:
                if (where, name) in ((path, None), (path[:-1], path[-1])):
                    return number
            path = path[:-1]
        return None


def _header_path(inner: str) -> tuple[str, ...]:
    try:
        node: Any = tomllib.loads(f"[{inner}]\n")
    except tomllib.TOMLDecodeError:
        return ()
    path: list[str] = []
    while isinstance(node, dict) and len(node) == 1:
        key = next(iter(node))
        path.append(key)
        node = node[key]
    return tuple(path)
