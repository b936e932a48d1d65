"""``catalog.toml``, whatever it holds: loading ends in a catalog or in problems that each name the file
(and the line and key when known) on one line, never in another exception or an empty ``: :`` path."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.errors import ConfigError, SchemaValidationError
from pipeline.schema import CatalogSources, build_catalog
from pipeline.schema.catalog_toml import parse_config

SHIPPED = Path(__file__).resolve().parents[3] / "schemas"
ROOT = Path("schemas")
CATALOG = "schemas/catalog.toml"


def _record(full_name: str) -> str:
    # One-word field names and docs everywhere: no [lint] setting can fail these files, so every
    # problem the test meets is about catalog.toml.
    namespace, _, name = full_name.rpartition(".")
    fields = [{"name": "n", "type": "long", "doc": "A number."}]
    return json.dumps({"type": "record", "name": name, "namespace": namespace, "doc": ".", "fields": fields})


TYPES = ("t.a.Event", "t.a.Other", "t.a.Key")
FILES = {f"{ROOT}/{name}.avsc": _record(name) for name in TYPES}
WORDS = [
    *TYPES,
    "t.a.Missing",
    "string",
    "bytes",
    "BACKWARD",
    "FULL_TRANSITIVE",
    "NONE",
    "TopicNameStrategy",
    "RecordNameStrategy",
    "TopicRecordNameStrategy",
    "subjects",
    "inline",
    "snake_case",
    "camelCase",
    "off",
    "orders",
    "orders.dlq",
    "",
]
TABLE_KEYS = {
    "defaults": ["compatibility", "subject_name_strategy", "partitions", "replication_factor", "key"],
    "registry": ["references"],
    "lint": ["docs", "field_names"],
}
TOPIC_KEYS = [
    "value",
    "key",
    "subject_name_strategy",
    "compatibility",
    "key_compatibility",
    "partitions",
    "replication_factor",
    "dlq",
]
PIPELINE_KEYS = ["input", "output", "handler", "group", "exactly_once", "batch"]

keys = st.one_of(
    st.sampled_from(
        [*TABLE_KEYS, "topics", "types", "pipelines", *TOPIC_KEYS, *PIPELINE_KEYS, "docs", "nope"]
    ),
    st.text(),
)
scalars = st.one_of(
    st.sampled_from(WORDS),
    st.text(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.floats(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=8,
)
names = st.one_of(st.sampled_from(WORDS), st.text(max_size=6))
levels = st.sampled_from(["BACKWARD", "FORWARD_TRANSITIVE", "FULL", "NONE"])
RIGHT = {  # a right value for each key
    "value": st.one_of(st.sampled_from(TYPES), st.just(list(TYPES))),
    "key": st.sampled_from(["string", "bytes", *TYPES]),
    "subject_name_strategy": st.sampled_from(
        ["TopicNameStrategy", "RecordNameStrategy", "TopicRecordNameStrategy"]
    ),
    "compatibility": levels,
    "key_compatibility": levels,
    "partitions": st.integers(1, 6),
    "replication_factor": st.sampled_from([-1, 1, 3]),
    "dlq": st.sampled_from(["a.dlq", "b.dlq", "a"]),
    "references": st.sampled_from(["subjects", "inline"]),
    "docs": st.booleans(),
    "field_names": st.sampled_from(["snake_case", "camelCase", "off"]),
    "input": st.sampled_from(["a", "b", "c_d"]),
    "output": st.sampled_from(["a", "b", "c_d"]),
    "handler": st.sampled_from(["mod:fn", "pkg.mod:handle_it", "_p.q:_r"]),
    "group": st.sampled_from(["g", "group-1", "a.b_c"]),
    "exactly_once": st.booleans(),
    "batch": st.integers(1, 1000),
}


def right(allowed: list[str], *required: str) -> st.SearchStrategy[dict[str, Any]]:
    """A table of ``allowed`` keys (``required`` ones always there), each with a right value."""
    optional = {key: RIGHT[key] for key in allowed if key not in required}
    return st.fixed_dictionaries({key: RIGHT[key] for key in required}, optional=optional)


def near(allowed: list[str]) -> st.SearchStrategy[Any]:
    """A table with right keys and values, known keys with any value, or any value at all."""
    anything = st.one_of(st.sampled_from(WORDS), values)
    return st.one_of(
        right(allowed),
        st.dictionaries(st.one_of(st.sampled_from(allowed), keys), anything, max_size=4),
        values,
    )


# Sound catalogs load, or fail the checks across topics (levels, subjects, DLQ names); near-catalogs
# reach every check of a single key; arbitrary documents and garbled text reach the rest.
sound_catalogs = st.fixed_dictionaries(
    {"topics": st.dictionaries(st.sampled_from(["a", "b", "c_d"]), right(TOPIC_KEYS, "value"), min_size=1)},
    optional={
        **{table: right(allowed) for table, allowed in TABLE_KEYS.items()},
        "types": st.dictionaries(st.sampled_from(TYPES), right(["compatibility"])),
        "pipelines": st.dictionaries(
            st.sampled_from(["p", "to-b"]), right(PIPELINE_KEYS, "input", "handler")
        ),
    },
)
near_catalogs = st.fixed_dictionaries(
    {},
    optional={
        **{table: near(allowed) for table, allowed in TABLE_KEYS.items()},
        "topics": st.one_of(
            st.dictionaries(st.one_of(st.sampled_from(["a", "a.dlq", "a_dlq"]), names), near(TOPIC_KEYS)),
            values,
        ),
        "types": st.one_of(
            st.dictionaries(st.one_of(st.sampled_from(TYPES), names), near(["compatibility"])), values
        ),
        "pipelines": st.one_of(st.dictionaries(st.one_of(st.just("p"), names), near(PIPELINE_KEYS)), values),
    },
)
documents = st.one_of(sound_catalogs, near_catalogs, st.dictionaries(keys, values, max_size=4))


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{_value(k)} = {_value(v)}" for k, v in value.items()) + "}"


def to_toml(document: dict[str, Any], header: tuple[str, ...] = ()) -> str:
    """TOML text for ``document``: tables as ``[a."b"]`` headers, so that lines can be located."""
    lines = [f"[{'.'.join(_value(part) for part in header)}]"] if header else []
    lines += [f"{_value(k)} = {_value(v)}" for k, v in document.items() if not isinstance(v, dict)]
    text = "\n".join(lines) + "\n"
    for key, value in document.items():
        if isinstance(value, dict):
            text += to_toml(value, (*header, key))
    return text


@st.composite
def garbled(draw: st.DrawFn) -> str:
    """A valid-looking catalog with a slice cut out and arbitrary text put in its place."""
    text = draw(
        st.one_of(st.just((SHIPPED / "catalog.toml").read_text(encoding="utf-8")), documents.map(to_toml))
    )
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, min(len(text), start + 40)))
    return text[:start] + draw(st.text(max_size=20)) + text[end:]


texts = st.one_of(documents.map(to_toml), garbled(), st.text())

# A quoted or bare TOML key, dot-separated; never an empty segment.
_KEY_PATH = re.compile(r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*")(?:\.(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"))*')


def check(text: str) -> None:
    try:
        build_catalog(CatalogSources(ROOT, CATALOG, text, FILES))
    except SchemaValidationError as exc:
        assert CATALOG in str(exc)
        for problem in exc.diagnostics:
            line = str(problem)
            assert problem.file == CATALOG, line
            assert problem.message and "\n" not in line, line
            assert ": :" not in line and not re.search(r":\s*:\s", line), line
            assert problem.path == "" or _KEY_PATH.fullmatch(problem.path), line
            assert problem.line is None or 1 <= problem.line <= text.count("\n") + 1, line
    except ConfigError as exc:
        assert CATALOG in str(exc)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
@example("x = \n")  # a syntax error
@example("topics = 3\n")  # a table that is not one
@example("[topics]\n")  # no topics
@example('types = [[1]]\n[topics.a]\nvalue = "t.a.Event"\n')
@example("[topics.a]\nvalue = [[1], {}]\n")
@example('["\\n"]\n')
@example("x = " + "[" * 5000)  # deeper than the parser recurses
@example('[topics.a]\nvalue = "t.a.Event"\nkey = "\u2028"\nbad = 1\n')  # a line break only to Python
def test_any_catalog_text_loads_or_names_the_file_line_and_key(text: str) -> None:
    check(text)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("x = \n", f"{CATALOG}:1: not valid TOML: "),
        ("[topics]\n", f"{CATALOG}: the catalog names no topics"),
        ("types = 3\n", f"{CATALOG}:1: types: expected a table, not an integer"),
        ('["x\\ny"]\n', f'{CATALOG}:1: "x\\ny": unknown table ["x\\ny"]'),
        (
            '[topics.a]\nvalue = "t.a.Event"\nkey = "\u2028"\nbad = 1\n',
            f"{CATALOG}:4: topics.a.bad: unknown key 'bad'",
        ),
    ],
)
def test_a_problem_without_a_key_says_file_and_line_then_the_message(text: str, shown: str) -> None:
    _, problems = parse_config(text, CATALOG)
    assert str(problems[0]).startswith(shown)


PIPELINED = '[topics.a]\nvalue = "t.a.Event"\n[topics.b]\nvalue = "t.a.Other"\n'


def test_a_declared_pipeline_is_read_with_its_defaults() -> None:
    text = PIPELINED + '[pipelines.a-to-b]\ninput = "a"\noutput = "b"\nhandler = "pkg.mod:fn"\n'
    config, problems = parse_config(text, CATALOG)
    assert problems == [] and config is not None
    (pipeline,) = config.pipelines
    assert (pipeline.name, pipeline.input, pipeline.output, pipeline.handler) == (
        "a-to-b",
        "a",
        "b",
        "pkg.mod:fn",
    )
    assert (pipeline.group, pipeline.exactly_once, pipeline.batch) == ("pipeline-a-to-b", True, 500)


@pytest.mark.parametrize(
    ("table", "shown"),
    [
        (
            'input = "nope"\nhandler = "m:f"',
            "pipelines.p.input: input 'nope' is not a topic of this catalog (it has: a, b)",
        ),
        ('handler = "m:f"', 'pipelines.p: needs input = "<topic>", one of the catalog\'s topics'),
        ('input = "a"\noutput = "zz"\nhandler = "m:f"', "pipelines.p.output: output 'zz' is not a topic"),
        ('input = "a"\noutput = "a"\nhandler = "m:f"', "pipelines.p.output: writes to its own input 'a'"),
        ('input = "a"\nhandler = "m.f"', 'pipelines.p.handler: needs handler = "package.module:function"'),
        ('input = "a"', "pipelines.p: needs handler ="),
        ('input = "a"\nhandler = "m:f"\ngroup = ""', "pipelines.p.group: '' is not a consumer group id"),
        (
            'input = "a"\nhandler = "m:f"\nexactly_once = "yes"',
            "pipelines.p.exactly_once: 'yes' is not true or false",
        ),
        ('input = "a"\nhandler = "m:f"\nbatch = 0', "pipelines.p.batch: 0 is not a whole number ≥ 1"),
        ('input = "a"\nhandler = "m:f"\nworkers = 2', "pipelines.p.workers: unknown key 'workers'"),
    ],
)
def test_every_problem_of_a_pipeline_is_named_with_its_key(table: str, shown: str) -> None:
    config, problems = parse_config(PIPELINED + "[pipelines.p]\n" + table + "\n", CATALOG)
    assert any(shown in str(problem) for problem in problems), [str(p) for p in problems]
    assert all(str(problem).startswith(f"{CATALOG}:") for problem in problems)
    assert config is None or config.pipelines == ()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_any_handler_text_is_taken_only_in_module_colon_function_form(handler: str) -> None:
    text = PIPELINED + f'[pipelines.p]\ninput = "a"\nhandler = {json.dumps(handler)}\n'
    config, problems = parse_config(text, CATALOG)
    taken = config is not None and len(config.pipelines) == 1
    module, colon, function = handler.partition(":")
    well_formed = bool(colon) and all(
        part.isidentifier() and part.isascii() for part in [*module.split("."), function]
    )
    assert taken == well_formed, (handler, [str(p) for p in problems])
