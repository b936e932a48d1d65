"""The example GitHub Actions workflow (.github/workflows/schemas.yml) cannot run here; check that it
says what it must: full history, validate, the gate with annotations, and registration on main only
with the registry's address and credentials from secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

WORKFLOW = Path(__file__).resolve().parents[3] / ".github" / "workflows" / "schemas.yml"


def load() -> dict[Any, Any]:
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def steps() -> list[dict[str, Any]]:
    (job,) = load()["jobs"].values()
    return list(job["steps"])


def test_triggers_on_pull_requests_and_pushes_to_main() -> None:
    triggers = load()[True]  # YAML 1.1 reads the key `on` as a boolean
    assert set(triggers) == {"pull_request", "push"}
    assert triggers["push"]["branches"] == ["main"]


def test_checks_out_the_whole_history() -> None:
    checkout = next(step for step in steps() if str(step.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0


def test_validates_then_gates_then_registers_in_that_order() -> None:
    runs = [str(step.get("run", "")) for step in steps()]
    order = [
        next(i for i, run in enumerate(runs) if run.startswith(command))
        for command in (
            "pip install",
            "pipeline schemas validate",
            "pipeline schemas check",
            "pipeline schemas register",
        )
    ]
    assert order == sorted(order)
    assert "--format github" in runs[order[2]]
    assert any(str(step.get("uses", "")).startswith("actions/setup-python@") for step in steps())


def test_registers_only_on_push_to_main_with_secrets() -> None:
    register = next(
        step for step in steps() if str(step.get("run", "")).startswith("pipeline schemas register")
    )
    assert register["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    env = register["env"]
    assert env["SCHEMA_REGISTRY_URL"] == "${{ secrets.SCHEMA_REGISTRY_URL }}"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "${{ secrets.KAFKA_BOOTSTRAP_SERVERS }}"
    assert all(value.startswith("${{ secrets.") for value in env.values()), "credentials only from secrets"
    gate = next(step for step in steps() if str(step.get("run", "")).startswith("pipeline schemas check"))
    assert "if" not in gate and "env" not in gate, "the offline gate runs everywhere and needs no registry"
