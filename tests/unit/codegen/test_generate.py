"""Generated modules: typed classes for every Avro type, the codec reading and writing them exactly,
shared types generated once, determinism, drift check."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import importlib.util
import io
import json
import shutil
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import fastavro
import pytest

from pipeline.cli import main
from pipeline.codec import Decoder, Encoder
from pipeline.codec.convert import Converter
from pipeline.codegen import generate, write
from pipeline.schema import load_catalog

ROOT = Path(__file__).resolve().parents[3]
EVERYTHING = ROOT / "tests" / "data" / "everything.avsc"
CATALOG = """
[defaults]
partitions = 2
[lint]
docs = false
field_names = "off"
[topics.everything]
value = "test.types.Everything"
"""


def load_package(directory: Path) -> ModuleType:
    """Import a directory of generated modules as a package of its own (a unique name per directory)."""
    name = f"generated_{uuid.uuid4().hex[:10]}"
    spec = importlib.util.spec_from_file_location(
        name, directory / "__init__.py", submodule_search_locations=[str(directory)]
    )
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    spec.loader.exec_module(package)
    return package


def generate_into(schemas: Path, out: Path) -> ModuleType:
    write(generate(load_catalog(schemas)), out)
    return load_package(out)


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    schemas = tmp_path_factory.mktemp("schemas")
    (schemas / "catalog.toml").write_text(CATALOG)
    shutil.copy(EVERYTHING, schemas / "test.types.Everything.avsc")
    package = generate_into(schemas, tmp_path_factory.mktemp("generated"))
    module: ModuleType = package.everything
    return module


def typed(m: ModuleType, i: int) -> Any:
    return m.Everything(
        null_field=None,
        flag=i % 2 == 0,
        small=-(2**31),
        big=2**63 - 1,
        ratio=0.25,
        precise=1 / 3,
        blob=b"\x00\xff",
        text="ünïcode ✓",
        digest=b"abcd",
        colour=m.Colour.BLUE,
        tags=["a", "b"],
        scores={"x": 1, "y": -2},
        maybe=None if i % 2 else "here",
        either=[7, "seven", b"wxyz"][i % 3],
        inner=m.Inner(label="root", children=[m.Inner(label="leaf")]),
        price=decimal.Decimal("-12.34"),
        fixed_price=decimal.Decimal("1.500"),
        id=uuid.UUID(int=i + 1),
        day=datetime.date(2000, 1, 1),
        at_millis=datetime.time(12, 30, 15, 250000),
        at_micros=datetime.time(1, 2, 3, 4),
        ts_millis=datetime.datetime(2026, 11, 27, 9, 15, 0, 123000, tzinfo=datetime.UTC),
        ts_micros=datetime.datetime(2026, 11, 27, 9, 15, 0, 123456, tzinfo=datetime.UTC),
    )


def test_types_map_to_python(everything: ModuleType) -> None:
    m = everything
    hints = {f.name: f.type for f in dataclasses.fields(m.Everything)}
    assert hints["small"] == "int" and hints["precise"] == "float" and hints["blob"] == "bytes"
    assert hints["digest"] == "bytes", "fixed is bytes"
    assert hints["colour"] == "Colour" and issubclass(m.Colour, enum.Enum)
    assert hints["tags"] == "list[str]" and hints["scores"] == "dict[str, int]"
    assert hints["maybe"] == "str | None", "optional union"
    assert hints["either"] == "int | str | bytes", "other unions: a union of the member types"
    assert hints["price"] == "decimal.Decimal" and hints["fixed_price"] == "decimal.Decimal"
    assert hints["id"] == "uuid.UUID" and hints["day"] == "datetime.date"
    assert hints["at_millis"] == "datetime.time" and hints["ts_micros"] == "datetime.datetime"
    assert hints["inner"] == "Inner"


def test_defaults_are_honoured(everything: ModuleType) -> None:
    m = everything
    assert m.Inner(label="x").children == []
    assert m.Inner(label="x").children is not m.Inner(label="y").children, "a fresh list each time"
    fields = {f.name: f for f in dataclasses.fields(m.Everything)}
    assert fields["maybe"].default is None
    # The enum's own "default" is for schema resolution (unknown symbols), not a field default.
    assert fields["colour"].default is dataclasses.MISSING


@pytest.mark.parametrize("i", range(3))
def test_typed_to_bytes_to_typed_is_exact(everything: ModuleType, i: int) -> None:
    m = everything
    record = typed(m, i)
    schema = m.BINDING.value.parsed()
    data = Encoder(schema, m.MODEL).encode(record)
    back = Decoder(schema, schema, m.MODEL).decode(data)
    assert back == record
    assert isinstance(back.colour, m.Colour) and isinstance(back.inner.children[0], m.Inner)
    assert back.ts_millis.tzinfo is not None, "timestamps come back timezone-aware"
    assert data == _fastavro_bytes(m, record), "fastavro writes the same bytes for the generic value"


def _fastavro_bytes(m: ModuleType, record: Any) -> bytes:
    schema = m.BINDING.value.parsed()
    buf = io.BytesIO()
    generic = Converter(schema, m.MODEL).to_generic(record)
    fastavro.schemaless_writer(buf, fastavro.parse_schema(json.loads(m.BINDING.value.schema_text)), generic)
    return buf.getvalue()


def test_union_of_records_keeps_the_branch(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "catalog.toml").write_text(
        CATALOG.replace("test.types.Everything", "t.Shape").replace("everything", "shapes")
    )
    (schemas / "t.Shape.avsc").write_text(
        '{"type":"record","name":"Shape","namespace":"t","fields":[{"name":"kind","type":['
        '{"type":"record","name":"Circle","fields":[{"name":"r","type":"double"}]},'
        '{"type":"record","name":"Square","fields":[{"name":"r","type":"double"}]},'
        '{"type":"enum","name":"Blank","symbols":["NONE"]}, "string"]}]}'
    )
    m = generate_into(schemas, tmp_path / "out").shapes
    schema = m.BINDING.value.parsed()
    for value in (m.Circle(r=1.0), m.Square(r=1.0), m.Blank.NONE, "text"):
        back = Decoder(schema, schema, m.MODEL).decode(Encoder(schema, m.MODEL).encode(m.Shape(kind=value)))
        assert back.kind == value and type(back.kind) is type(value), "same-shaped records stay apart"


def test_output_is_deterministic() -> None:
    catalog = load_catalog(ROOT / "schemas")
    assert generate(catalog) == generate(catalog)


def test_committed_generated_code_matches_the_schemas() -> None:
    assert (
        main(
            [
                "generate",
                "--check",
                "--schemas",
                str(ROOT / "schemas"),
                "--out",
                str(ROOT / "pipeline" / "generated"),
            ]
        )
        == 0
    )


def test_editing_a_schema_without_regenerating_is_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schemas = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    out = tmp_path / "generated"
    assert main(["generate", "--schemas", str(schemas), "--out", str(out)]) == 0
    assert main(["generate", "--check", "--schemas", str(schemas), "--out", str(out)]) == 0

    order = schemas / "com.example.orders.Order.avsc"
    order.write_text(order.read_text().replace('"DELIVERED"]', '"DELIVERED", "RETURNED"]'))
    assert main(["generate", "--check", "--schemas", str(schemas), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "subjects.py" in captured.err and "run `make generate`" in captured.err
    assert '+    RETURNED = "RETURNED"' in captured.out
