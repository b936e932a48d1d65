"""The public API: every module lists exactly its public names in ``__all__``, the facade
``pipeline`` offers each of them from the module that defines it, and importing a generated topic
module loads the runtime only (none of codegen, compat, gate, the schema lint or the catalog)."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys

import pytest

import pipeline

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(pipeline.__path__, "pipeline.")
    if not info.name.startswith("pipeline.generated.")
)


@pytest.mark.parametrize("name", MODULES)
def test_all_is_complete_and_exists(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(getattr(module, "__all__", []))
    assert all(hasattr(module, item) for item in exported), "a name in __all__ does not exist"
    defined_here = {
        item
        for item, value in vars(module).items()
        if not item.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == name
    }
    assert defined_here <= exported, f"public but not in __all__: {sorted(defined_here - exported)}"


@pytest.mark.parametrize("name", sorted(set(pipeline.__all__) - {"__version__"}))
def test_the_facade_offers_each_public_name(name: str) -> None:
    value = getattr(pipeline, name)
    home = importlib.import_module(value.__module__)
    assert name in home.__all__, f"{name} comes from {value.__module__}, which does not export it"


def test_the_package_has_at_most_six_top_level_modules() -> None:
    top = [info.name for info in pkgutil.iter_modules(pipeline.__path__) if not info.ispkg]
    assert len(top) + 1 <= 6, top  # and __init__


def test_importing_generated_topic_modules_loads_no_tooling() -> None:
    code = (
        "import json, sys\n"
        "import pipeline.generated.orders, pipeline.generated.payments, pipeline.generated.customers\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('pipeline'))))\n"
    )
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    )
    tooling = (
        "pipeline.codegen",
        "pipeline.compat",
        "pipeline.gate",
        "pipeline.schema",
        "pipeline.app",
        "pipeline.cli",
    )
    assert not [m for m in loaded if m.startswith(tooling)], loaded
    assert "pipeline.kafka.typed" in loaded and "pipeline.codec.compiled" in loaded
