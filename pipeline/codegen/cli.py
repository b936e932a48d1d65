"""``pipeline generate [--check]``: one typed module per catalog topic."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from pipeline.catalog import load_catalog
from pipeline.codegen import generate, write

__all__ = ["register"]

DEFAULT_OUT = Path("pipeline/generated")


def _run(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.schemas)
    files = generate(catalog, source=f"{Path(args.schemas).resolve().name}/catalog.toml")
    out: Path = args.out
    if not args.check:
        write(files, out)
        stale = sorted(p.name for p in out.glob("*.py") if p.name not in files)
        for name in stale:
            (out / name).unlink()
        print(f"generated {len(files) - 1} topic modules in {out}" + (f"; removed {stale}" if stale else ""))
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
    gen = sub.add_parser("generate", help="generate typed pipeline modules from the schema catalog")
    gen.add_argument("--schemas", default="schemas", help="the catalog folder (default: schemas)")
    gen.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output package (default: {DEFAULT_OUT})")
    gen.add_argument(
        "--check", action="store_true", help="exit 1 if the committed code differs; write nothing"
    )
    gen.set_defaults(handler=_run)
