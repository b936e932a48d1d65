"""Each module of the schema catalog and bootstrap lists exactly its public names in ``__all__``."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = [
    "pipeline.avsc",
    "pipeline.validation",
    "pipeline.catalog",
    "pipeline.catalog.model",
    "pipeline.catalog.config",
    "pipeline.catalog.build",
    "pipeline.registry",
    "pipeline.bootstrap",
    "pipeline.provisioning",
    "pipeline.schemas_cli",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_complete_and_exists(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__)
    assert all(hasattr(module, item) for item in exported), "a name in __all__ does not exist"
    defined_here = {
        item
        for item, value in vars(module).items()
        if not item.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == name
    }
    assert defined_here <= exported, f"public but not in __all__: {sorted(defined_here - exported)}"
