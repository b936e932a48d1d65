"""Schema files on disk: one ``.avsc`` file, and a folder of ``<full name>.avsc`` files that supplies
named types by their full name (the layout fastavro's schema repository and our catalog use)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pipeline.avro import nesting_problem
from pipeline.errors import SchemaLoadError

__all__ = ["SchemaDirectory", "read_schema_file"]


def read_schema_file(path: Path) -> Any:
    """The JSON of one schema file; raises :class:`SchemaLoadError` naming the file when it cannot be
    read or is not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaLoadError(f"{path}: cannot read schema file: {exc}") from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaLoadError(f"{path}: not valid JSON: {exc}") from exc
    except RecursionError:
        raise SchemaLoadError(f"{path}: its JSON nests too deeply to read") from None
    too_deep = nesting_problem(value)
    if too_deep is not None:
        raise SchemaLoadError(f"{path}: {too_deep}")
    return value


class SchemaDirectory(Mapping[str, Any]):
    """Named types read on first use from ``<folder>/<full name>.avsc``, e.g.
    ``com.example.common.Money.avsc``; pass it as ``named_types``."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise SchemaLoadError(f"{folder}: not a folder of <full name>.avsc schema files")
        self.folder = folder
        self._read: dict[str, Any] = {}

    def path_of(self, fullname: str) -> Path:
        return self.folder / f"{fullname}.avsc"

    def __getitem__(self, fullname: str) -> Any:
        if fullname not in self._read:
            path = self.path_of(fullname)
            if not path.is_file():
                raise KeyError(fullname)
            self._read[fullname] = read_schema_file(path)
        return self._read[fullname]

    def __contains__(self, fullname: object) -> bool:
        return isinstance(fullname, str) and self.path_of(fullname).is_file()

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(path.name.removesuffix(".avsc") for path in self.folder.glob("*.avsc")))

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob("*.avsc"))
