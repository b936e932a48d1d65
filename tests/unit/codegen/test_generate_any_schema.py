"""The code generator over generated schemas: whatever the catalog holds (keywords, mangled names,
recursion, every logical type, names that clash with what a generated module imports), the generated
package imports, its classes follow the codec's convention, and typed values round-trip through them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.avro import Enum, Record
from pipeline.codec import Decoder, Encoder, attribute_names, problem
from pipeline.codegen import generate
from pipeline.schema import load_catalog
from tests.generative.schemas import SchemaCase, full_name, schema_cases
from tests.generative.values import same, values, walk
from tests.unit.codegen.test_generate import load_package

pytestmark = pytest.mark.usefixtures("each_codec")  # the same answers from every codec path

CATALOG = """
[lint]
docs = false
field_names = "off"
[topics.anything]
value = "{value}"
"""


def write_catalog(case: SchemaCase, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for schema in (*case.references, case.root):
        (directory / f"{full_name(schema)}.avsc").write_text(json.dumps(schema))
    (directory / "catalog.toml").write_text(CATALOG.format(value=full_name(case.root)))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.data(), schema_cases(strict=True))
def test_generated_classes_carry_any_schema(
    tmp_path_factory: Any, data: st.DataObject, case: SchemaCase
) -> None:
    root = tmp_path_factory.mktemp("case")
    write_catalog(case, root / "schemas")
    catalog = load_catalog(root / "schemas")
    out = root / "out"
    out.mkdir()
    for name, text in generate(catalog).items():
        (out / name).write_text(text, encoding="utf-8")
    package = load_package(out)
    module = package.anything
    schema = module.BINDING.value.parsed()
    model = package.types.MODEL
    for node in walk(schema):
        if isinstance(node, Record | Enum):
            cls = model[node.name.fullname]
            assert cls.__avro_name__ == node.name.fullname
        if isinstance(node, Record):
            names = [f.name for f in dataclasses.fields(model[node.name.fullname])]
            assert names == list(attribute_names([f.name for f in node.fields]))
        if isinstance(node, Enum):
            assert [m.value for m in model[node.name.fullname]] == list(node.symbols)
    value = data.draw(values(schema, model))
    assert problem(schema, value, model) is None
    back = Decoder(schema, schema, model).decode(Encoder(schema, model).encode(value))
    assert same(back, value)
