"""``pipeline generate [--check]``: one typed module per catalog topic."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from pipeline.cli.arguments import add_schemas_option, folder_to_write
from pipeline.codegen import generate, write
from pipeline.errors import ConfigError
from pipeline.schema import load_catalog

__all__ = ["register"]

DEFAULT_OUT = Path("pipeline/generated")


def _run(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.schemas)
    files = generate(catalog, source=f"{Path(args.schemas).resolve().name}/catalog.toml")
    out: Path = args.out
    if not args.check:
        try:
            write(files, out)
        except OSError as exc:
            raise ConfigError(f"cannot write the generated code into {out}: {exc.strerror}") from exc
        stale = sorted(p.name for p in out.glob("*.py") if p.name not in files)
        for name in stale:
            (out / name).unlink()
        print(
            f"generated {len(catalog.topics)} topic modules and their types and subjects in {out}"
            + (f"; removed {stale}" if stale else "")
        )
        return 0
    drift = []
    for name, text in sorted(files.items()):
        path = out / name
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            drift.append(name)
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                text.splitlines(keepends=True),
                str(path),
                f"{path} (regenerated)",
            )
            sys.stdout.writelines(list(diff)[:40])
    extra = sorted(p.name for p in out.glob("*.py") if p.name not in files) if out.is_dir() else []
    if drift or extra:
        print(
            f"generated code in {out} is out of date with {args.schemas}: "
            f"{', '.join(drift + [f'{e} (no longer generated)' for e in extra])}; run `make generate`",
            file=sys.stderr,
        )
        return 1
    print(f"generated code in {out} matches {args.schemas}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gen = sub.add_parser(
        "generate",
        help="generate typed pipeline modules from the schema catalog",
        description="Write one typed module per catalog topic (its classes, producer and consumer), a "
        "module of every named type and one of subjects into the output package. With --check, write "
        "nothing and exit 1 if the committed modules differ from what would be generated.",
    )
    add_schemas_option(gen)
    gen.add_argument(
        "--out", type=folder_to_write, default=DEFAULT_OUT, help=f"output package (default: {DEFAULT_OUT})"
    )
    gen.add_argument(
        "--check", action="store_true", help="exit 1 if the committed code differs; write nothing"
    )
    gen.set_defaults(handler=_run)
