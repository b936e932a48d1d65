"""Argument types for argparse: each refuses a bad value with one sentence (argparse then exits 2 naming
the option), before any work is done; and the options every command spells alike."""

from __future__ import annotations

import argparse
import math
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "SCHEMAS",
    "DeprecatedAlias",
    "add_schemas_option",
    "folder_to_write",
    "free_port",
    "group_id",
    "new_file",
    "non_negative_rate",
    "port_number",
    "positive_int",
    "share",
]

SCHEMAS = Path("schemas")


def add_schemas_option(
    parser: argparse.ArgumentParser,
    help: str = "the schema folder: catalog.toml and one <full name>.avsc file per type (default: schemas)",
    default: Path | None = SCHEMAS,
    old: str | None = None,
) -> None:
    """``--schemas DIR``, the same on every command; ``old`` is a former spelling that still works,
    hidden from --help, with a warning."""
    parser.add_argument("--schemas", type=Path, default=default, metavar="DIR", help=help)
    if old is not None:
        parser.add_argument(
            old,
            type=Path,
            dest="schemas",
            default=argparse.SUPPRESS,
            help=argparse.SUPPRESS,
            action=DeprecatedAlias,
            successor="--schemas",
        )


class DeprecatedAlias(argparse.Action):
    """An option's former spelling: stores its value as the ``successor`` does, and says to use that."""

    def __init__(self, option_strings: Sequence[str], dest: str, successor: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.successor = successor

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        print(f"{parser.prog}: warning: {option_string} is deprecated; use {self.successor}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not 1 or more")
    return value


def non_negative_rate(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative (0 means as fast as possible)")
    return value


def share(text: str) -> float:
    value = _finite(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def group_id(text: str) -> str:
    if not text.strip() or any(ord(ch) < 32 for ch in text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a usable consumer group name (empty or control characters)"
        )
    return text


def port_number(text: str) -> int:
    """A TCP port number, 1 to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (1 to 65535)")
    return port


def free_port(text: str) -> int:
    """A TCP port in 1..65535 that nothing on this machine listens on yet."""
    port = port_number(text)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError as exc:
            raise argparse.ArgumentTypeError(f"port {port} cannot be used: {exc.strerror}") from None
    return port


def new_file(text: str) -> Path:
    """A file to write at the end: its folder must exist now, so that nothing is lost after the work."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"the folder {path.parent} does not exist")
    return path


def folder_to_write(text: str) -> Path:
    """A folder to write into: it may not exist yet, but it may not be a file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    return path


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number")
    return value
