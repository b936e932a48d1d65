"""``pipeline schemas check --against registry`` on the real stack: the registry's compatibility endpoint
and the local checker judge the same candidates, and a disagreement between them is a failure of its
own. Each test registers its own copy of a catalog (unique namespaces, topics and subjects)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from pipeline.registry.client import RegistryClient
from pipeline.registry.register import register_schemas
from pipeline.schema import load_catalog
from tests.conftest import StackHandle
from tests.integration import test_bootstrap
from tests.integration.test_bootstrap import MONEY, PAYMENT, CatalogCopy, _clean_up, run_cli

pytestmark = pytest.mark.integration


# The bootstrap tests' fixture: the shipped catalog under unique names, cleaned up afterwards.
copy = test_bootstrap.copy


def register(stack: StackHandle, root: Path) -> None:
    with RegistryClient(stack.settings.registry) as registry:
        report = register_schemas(load_catalog(root), registry)
    assert report.ok, [r.reasons for r in report.incompatible]


def gate(
    monkeypatch: pytest.MonkeyPatch, stack: StackHandle, capsys: pytest.CaptureFixture[str], root: Path
) -> tuple[int, dict[str, Any]]:
    code = run_cli(
        monkeypatch,
        stack,
        "schemas",
        "check",
        "--against",
        "registry",
        "--schemas",
        str(root),
        "--format",
        "json",
    )
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert document["exit_code"] == code, err
    return code, {subject["subject"]: subject for subject in document["subjects"]}


def add_field(field: dict[str, Any]) -> Any:
    return lambda schema: schema["fields"].append(field)


def is_apicurio(stack: StackHandle) -> bool:
    return "/apis/ccompat/" in stack.registry_url


def test_passes_then_fails_with_the_registry_and_the_checker_agreeing(
    stack: StackHandle, copy: CatalogCopy, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    orders, payments = f"{copy.topic('orders')}-value", f"{copy.topic('payments')}-value"
    money = copy.type(MONEY)
    register(stack, copy.root)
    code, subjects = gate(monkeypatch, stack, capsys, copy.root)
    assert code == 0, {s: (v["status"], v["notes"], v.get("registry")) for s, v in subjects.items()}
    assert {s["status"] for s in subjects.values()} == {"unchanged"}

    optional = {"name": "note", "type": ["null", "string"], "default": None, "doc": "A note."}
    copy.edit("com.example.orders.Order", add_field(optional))
    copy.edit(PAYMENT, add_field(optional))  # a schema with references: judged by the registry too
    copy.edit(MONEY, add_field({"name": "rounding", "type": "string", "default": "HALF_EVEN", "doc": "How."}))
    code, subjects = gate(monkeypatch, stack, capsys, copy.root)
    assert code == 0, {s: (v["status"], v["notes"], v.get("registry")) for s, v in subjects.items()}
    for subject in (orders, payments, money):
        assert subjects[subject]["status"] == "compatible", subjects[subject]
        assert subjects[subject]["registry"]["compatible"] is True, subjects[subject]
    # customers is unedited but uses Money: registration gives it a new version, and the gate says so
    assert subjects[f"{copy.topic('customers')}-value"]["status"] == "compatible"
    assert subjects[f"{copy.topic('orders')}-value"]["status"] == "compatible"
    with RegistryClient(stack.settings.registry) as registry:
        planned = register_schemas(load_catalog(copy.root), registry, dry_run=True)
    changed = {r.subject for r in planned.results if r.status.value != "unchanged"}
    assert changed == {s for s, v in subjects.items() if v["status"] != "unchanged"}

    copy.edit("com.example.orders.Order", add_field({"name": "channel", "type": "string", "doc": "Where."}))
    code, subjects = gate(monkeypatch, stack, capsys, copy.root)
    assert code == 1
    verdict = subjects[orders]
    assert (verdict["status"], verdict["registry"]["compatible"]) == ("incompatible", False)
    (problem,) = verdict["incompatibilities"]
    assert (problem["kind"], problem["location"], problem["version"]) == (
        "READER_FIELD_MISSING_DEFAULT_VALUE",
        "Order.channel",
        1,
    )
    assert verdict["versions"] == [{"number": 1, "source": "registry version 1"}]
    order_file = copy.root / f"{copy.type('com.example.orders.Order')}.avsc"
    lines = order_file.read_text().splitlines()
    assert '"channel"' in lines[problem["line"] - 1]


WIDGET = """[lint]
docs = false

[topics.widgets-{tag}]
value = "{namespace}.Widget"
"""


def test_a_registry_that_disagrees_with_the_checker_fails_the_gate(
    stack: StackHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three versions at BACKWARD: v3 reads v2 (no size) but not v1 (size was a string). Confluent's
    POST /compatibility/subjects/{s}/versions checks the latest only at BACKWARD, like registration;
    Apicurio's checks every version, so it refuses what registration accepts."""
    tag = uuid.uuid4().hex[:10]
    namespace, root = f"t{tag}", tmp_path / "schemas"
    root.mkdir()
    (root / "catalog.toml").write_text(WIDGET.format(tag=tag, namespace=namespace))

    def widget(*fields: dict[str, Any]) -> None:
        schema = {
            "type": "record",
            "name": "Widget",
            "namespace": namespace,
            "fields": [{"name": "id", "type": "string"}, *fields],
        }
        (root / f"{namespace}.Widget.avsc").write_text(json.dumps(schema, indent=2))

    subject = f"widgets-{tag}-value"
    try:
        widget({"name": "size", "type": "string"})
        register(stack, root)
        widget()
        register(stack, root)
        widget({"name": "size", "type": "int", "default": 0})
        code, subjects = gate(monkeypatch, stack, capsys, root)
        verdict = subjects[subject]
        assert verdict["checked_versions"] == [2]
        if is_apicurio(stack):
            assert (code, verdict["status"], verdict["registry"]["compatible"]) == (1, "disagreement", False)
            assert any("local checker says compatible" in note for note in verdict["notes"])
            assert any("answered as BACKWARD_TRANSITIVE would" in note for note in verdict["notes"])
            # ... and registration, which the gate predicts, does accept it
            register(stack, root)
            code, subjects = gate(monkeypatch, stack, capsys, root)
            assert (code, subjects[subject]["status"]) == (0, "unchanged")
        else:
            assert (code, verdict["status"], verdict["registry"]["compatible"]) == (0, "compatible", True)
    finally:
        _clean_up(stack, load_catalog(root), tag)


def test_a_registry_that_cannot_judge_is_never_a_silent_pass(
    stack: StackHandle, copy: CatalogCopy, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A catalog switched to ``references = "inline"`` against versions registered with references:
    Apicurio's compatibility endpoint cannot parse the stored versions (HTTP 422) and the candidate has
    no references for the dry-run fallback. Confluent resolves the stored references and judges."""
    payments = f"{copy.topic('payments')}-value"
    register(stack, copy.root)
    copy.edit_catalog('references = "subjects"', 'references = "inline"')
    copy.edit(
        PAYMENT, add_field({"name": "note", "type": ["null", "string"], "default": None, "doc": "A note."})
    )
    code, subjects = gate(monkeypatch, stack, capsys, copy.root)
    verdict = subjects[payments]
    if is_apicurio(stack):
        assert (code, verdict["status"], verdict["registry"]["compatible"]) == (2, "unjudged", None)
        assert any("could not judge the candidate" in note and "422" in note for note in verdict["notes"])
    else:
        assert (code, verdict["status"], verdict["registry"]["compatible"]) == (0, "compatible", True)
