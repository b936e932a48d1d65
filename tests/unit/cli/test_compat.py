"""``pipeline compat``: exit codes, output, and files named in errors (through the real ``main``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main


def _order(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "record", "name": "Order", "namespace": "com.example.orders", "fields": list(fields)}


STATUS_3 = {
    "name": "status",
    "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "REFUNDED"]},
}
STATUS_2 = {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}}
TOTAL = {"name": "total", "type": "com.example.common.Money"}
MONEY = {
    "type": "record",
    "name": "Money",
    "namespace": "com.example.common",
    "fields": [{"name": "units", "type": "long"}],
}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    def write(name: str, content: Any) -> Path:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
        return path

    types = tmp_path / "types"
    types.mkdir()
    (types / "com.example.common.Money.avsc").write_text(json.dumps(MONEY), encoding="utf-8")
    return {
        "v1": write("v1.avsc", _order(STATUS_3)),
        "v2": write("v2.avsc", _order(STATUS_3, {"name": "note", "type": "string", "default": ""})),
        "narrowed": write(
            "narrowed.avsc", _order(STATUS_2, {"name": "note", "type": "string", "default": ""})
        ),
        "with_money": write("with_money.avsc", _order(STATUS_3, TOTAL)),
        "with_money_v2": write("with_money_v2.avsc", _order(STATUS_3, TOTAL, {"name": "n", "type": "int"})),
        "not_json": write("not_json.avsc", "{nope"),
        "not_avro": write("not_avro.avsc", {"type": "record", "name": "Order", "fields": [{"name": "x"}]}),
        "bad_default": write("bad_default.avsc", _order({"name": "n", "type": "int", "default": "one"})),
        "types": types,
        "missing": tmp_path / "missing.avsc",
    }


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, list[str], str]:
    code = main(["compat", *(str(arg) for arg in argv)])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_compatible_exits_0(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, files["v2"], files["v1"])
    assert code == 0
    assert out == [f"compatible: {files['v2']} passes BACKWARD against version 1"]


def test_incompatible_exits_1_with_one_explanation_per_line(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        capsys, files["narrowed"], files["v1"], files["v2"], "--level", "backward_transitive"
    )
    assert code == 1
    explanation = "Order.status: reader enum has no symbol REFUNDED that version {} writes; {}"
    hint = "add it or give the enum a default"
    assert out == [explanation.format(2, hint), explanation.format(1, hint)]
    assert f"version 1 = {files['v1']}" in err and f"version 2 = {files['v2']}" in err


def test_default_level_is_backward_and_non_transitive(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, files["v2"], files["narrowed"], files["v1"])
    assert (code, out) == (0, [f"compatible: {files['v2']} passes BACKWARD against version 2"])


def test_forward_level(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, files["v1"], files["narrowed"], "--level", "FORWARD")
    assert code == 1
    assert [line.split(":")[0] for line in out] == ["Order.status"]
    assert "version 1's enum has no symbol REFUNDED" in out[0]


def test_schemas_resolves_named_types(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, files["with_money_v2"], files["with_money"], "--schemas", files["types"])
    assert code == 1
    assert out[0].startswith("Order.n: field n has no default")


def test_the_former_schemas_dir_option_still_works_with_a_warning(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        capsys, files["with_money_v2"], files["with_money"], "--schemas-dir", files["types"]
    )
    assert code == 1 and out[0].startswith("Order.n: field n has no default")
    assert "warning: --schemas-dir is deprecated; use --schemas" in err


@pytest.mark.parametrize(
    ("new", "previous", "extra", "named", "reason"),
    [
        ("missing", "v1", [], "missing.avsc: cannot read schema file", "unreadable file"),
        ("not_json", "v1", [], "not_json.avsc: not valid JSON", "invalid JSON"),
        (
            "v1",
            "not_avro",
            [],
            "not_avro.avsc (version 1): invalid Avro schema",
            "a previous version is invalid",
        ),
        (
            "bad_default",
            "v1",
            [],
            "bad_default.avsc: invalid Avro schema",
            "the new schema's default is wrong",
        ),
        ("with_money", "v1", [], "--schemas DIR reads named types", "a reference without --schemas"),
        ("v1", "v1", ["--schemas", "missing"], "missing.avsc: not a folder", "the folder does not exist"),
    ],
)
def test_bad_input_exits_2_and_names_the_file(
    files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    new: str,
    previous: str,
    extra: list[str],
    named: str,
    reason: str,
) -> None:
    argv = [files[new], files[previous], *(str(files.get(arg, arg)) for arg in extra)]
    code, out, err = _run(capsys, *argv)
    assert (code, out) == (2, []), reason
    assert err.startswith("error: ") and named in err, reason


def test_unknown_level_is_rejected_by_argparse(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["compat", str(files["v2"]), str(files["v1"]), "--level", "SIDEWAYS"])
    assert exit_info.value.code == 2
    assert "unknown compatibility level 'SIDEWAYS'" in capsys.readouterr().err
