"""Argument types refuse every bad value with ArgumentTypeError (argparse's exit 2 and one sentence),
and take every good one."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.cli import main
from pipeline.cli.arguments import folder_to_write, group_id, new_file, non_negative_rate, positive_int, share

TYPES: list[Callable[[str], Any]] = [positive_int, non_negative_rate, share, group_id]


@pytest.mark.parametrize("kind", TYPES, ids=lambda t: t.__name__)
@given(
    text=st.text()
    | st.from_regex(r"-?[0-9]+(\.[0-9]+)?(e[0-9]+)?", fullmatch=True)
    | st.sampled_from(["nan", "inf", "-0", "1e400"])
)
def test_a_value_is_taken_or_refused_with_a_sentence(kind: Callable[[str], Any], text: str) -> None:
    try:
        value = kind(text)
    except argparse.ArgumentTypeError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    if kind is positive_int:
        assert value >= 1
    elif kind is non_negative_rate:
        assert value >= 0 and math.isfinite(value)
    elif kind is share:
        assert 0 <= value <= 1
    else:
        assert value.strip() and value == text


def test_files_and_folders(tmp_path: Path) -> None:
    a_file = tmp_path / "f"
    a_file.write_text("")
    assert folder_to_write(str(tmp_path / "new")) == tmp_path / "new"
    with pytest.raises(argparse.ArgumentTypeError, match="is a file"):
        folder_to_write(str(a_file))
    assert new_file(str(tmp_path / "out.json")) == tmp_path / "out.json"
    with pytest.raises(argparse.ArgumentTypeError, match="does not exist"):
        new_file(str(tmp_path / "missing" / "out.json"))
    with pytest.raises(argparse.ArgumentTypeError, match="is a folder"):
        new_file(str(tmp_path))


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["run", "-n", "0"], "--count"),
        (["run", "--rate", "-1"], "--rate"),
        (["run", "--poison-rate", "1.5"], "--poison-rate"),
        (["run", "--group", ""], "--group"),
        (["run", "--metrics-port", "70000"], "--metrics-port"),
        (["run", "--summary-json", "/no/such/folder/s.json"], "--summary-json"),
    ],
)
def test_run_refuses_bad_arguments_before_any_work(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert named in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("pipeline ")
