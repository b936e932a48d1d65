"""Bad schema files: copies of the shipped catalog, each with one defect, handed to
``pipeline schemas register`` on a registry that already holds the shipped catalog. Each run must refuse
(exit 1) with an error naming the file or subject at fault, and leave the registry exactly as it was:
same subjects, versions, ids, texts and compatibility levels.

A last, defect-free change (a compatible new field) is registered to show that the comparison does see a
change when there is one.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.faults.support import REPO_ROOT, FaultStack, record_result

pytestmark = pytest.mark.fault

ORDER = "com.example.orders.Order.avsc"
PAYMENT = "com.example.payments.PaymentEvent.avsc"
CUSTOMER = "com.example.customers.CustomerEvent.avsc"


def _edit_json(root: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / name
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")


def _replace(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{name} no longer contains {old!r}: update this scenario"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def _add_compatible_field(root: Path) -> None:
    _edit_json(
        root,
        CUSTOMER,
        lambda s: s["fields"].append(
            {"name": "nickname", "type": ["null", "string"], "default": None, "doc": "What to call them."}
        ),
    )


def _make_incompatible(root: Path) -> None:
    _edit_json(root, ORDER, lambda s: _field(s, "amount").update(type="string"))


def _incompatible_beside_compatible(root: Path) -> None:
    _make_incompatible(root)
    _add_compatible_field(root)


@dataclass(frozen=True)
class Defect:
    name: str
    apply: Callable[[Path], None]
    expected: tuple[str, ...]  # phrases the error output must contain
    why: str


DEFECTS = [
    Defect(
        "syntax error",
        lambda root: _replace(
            root, ORDER, '"namespace": "com.example.orders",', '"namespace": "com.example.orders"'
        ),
        (ORDER,),
        "a missing comma: the file is not JSON",
    ),
    Defect(
        "invalid default",
        lambda root: _edit_json(
            root,
            ORDER,
            lambda s: s["fields"].append(
                {"name": "note", "type": "int", "default": "none", "doc": "A note."}
            ),
        ),
        (ORDER, "note"),
        "a string default for an int field",
    ),
    Defect(
        "missing reference",
        lambda root: _replace(root, PAYMENT, '"com.example.common.Money"', '"com.example.common.Currency"'),
        (PAYMENT, "com.example.common.Currency"),
        "a named type no file defines",
    ),
    Defect(
        "incompatible change",
        _make_incompatible,
        ("orders-value", "nothing was registered"),
        "double -> string breaks BACKWARD against the registered version",
    ),
    Defect(
        "incompatible change beside a compatible one",
        _incompatible_beside_compatible,
        ("orders-value", "nothing was registered"),
        "all or nothing: the compatible customers change must not be registered either",
    ),
]


def _register(fault_stack: FaultStack, catalog: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "schemas", "register", "--schemas", str(catalog)],
        cwd=REPO_ROOT,
        env=fault_stack.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name.replace(" ", "-")
    shutil.copytree(REPO_ROOT / "schemas", root)
    return root


def test_bad_schema_files_are_refused_and_the_registry_is_unchanged(
    catalog: FaultStack, tmp_path: Path
) -> None:
    fault_stack = catalog
    before = fault_stack.registry_snapshot()
    started = time.monotonic()
    outcomes: dict[str, dict[str, Any]] = {}
    for defect in DEFECTS:
        root = _copy(tmp_path, defect.name)
        defect.apply(root)
        result = _register(fault_stack, root)
        output = result.stdout + result.stderr
        outcomes[defect.name] = {
            "exit": result.returncode,
            "named": all(phrase in output for phrase in defect.expected),
            "registry_unchanged": fault_stack.registry_snapshot() == before,
            "error": next(
                (line.replace(f"{root}/", "") for line in output.splitlines() if defect.expected[0] in line),
                "",
            ),
            "output": output,
        }

    control = _copy(tmp_path, "compatible change")
    _add_compatible_field(control)
    control_result = _register(fault_stack, control)
    after_control = fault_stack.registry_snapshot()
    elapsed = time.monotonic() - started

    refused = sum(o["exit"] == 1 and o["named"] for o in outcomes.values())
    unchanged = sum(o["registry_unchanged"] for o in outcomes.values())
    record_result(
        "bad schema files",
        fault_stack.sizes,
        messages=None,
        lost=None,
        duplicated=None,
        dlq=None,
        recovered_after_s=None,
        seconds=round(elapsed, 1),
        details={
            "defects": len(DEFECTS),
            "refused_with_a_named_error": refused,
            "registry_unchanged": unchanged,
            "errors": {name: o["error"] for name, o in outcomes.items()},
        },
    )

    for defect in DEFECTS:
        outcome = outcomes[defect.name]
        assert outcome["exit"] == 1, (
            f"{defect.name} ({defect.why}): exit {outcome['exit']}\n{outcome['output']}"
        )
        assert outcome["named"], f"{defect.name}: the error names {defect.expected}\n{outcome['output']}"
        assert outcome["registry_unchanged"], f"{defect.name}: the registry changed"
    assert control_result.returncode == 0, control_result.stdout + control_result.stderr
    assert after_control != before, "a registered change shows in the snapshot"
    assert len(after_control["customers-value"]["versions"]) == len(before["customers-value"]["versions"]) + 1
