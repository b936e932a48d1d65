"""``--help`` of every command and subcommand: exit 0, a description of its own, plain text (no
reStructuredText from a docstring), and one spelling of the schema folder everywhere."""

from __future__ import annotations

import argparse
import re

import pytest

from pipeline.cli import build_parser, main


def _commands() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found: list[tuple[tuple[str, ...], argparse.ArgumentParser]] = []

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        found.append((path, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, (*path, name))

    walk(build_parser(), ())
    return found


COMMANDS = _commands()
RST = re.compile(r"``|`[^`\s]|:(mod|class|func|meth|attr|data|exc|obj|ref):")


def test_the_walk_reaches_every_command() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"run", "compat", "schemas check", "stack up", "dlq replay", "bootstrap", "generate"} <= paths


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=[" ".join(p) or "pipeline" for p, _ in COMMANDS])
def test_help_is_a_plain_text_description(
    path: tuple[str, ...], parser: argparse.ArgumentParser, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0 and err == ""
    assert parser.description and parser.description.strip()
    assert " ".join(parser.description.split()[:4]) in " ".join(out.split())
    assert not RST.search(out), RST.search(out)


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=[" ".join(p) or "pipeline" for p, _ in COMMANDS])
def test_the_schema_folder_is_spelled_schemas_everywhere(
    path: tuple[str, ...], parser: argparse.ArgumentParser
) -> None:
    shown = {
        option
        for action in parser._actions
        if action.help != argparse.SUPPRESS
        for option in action.option_strings
    }
    assert not shown & {"--catalog", "--schemas-dir", "--schema-dir", "--catalog-dir"}, path
