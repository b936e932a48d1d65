"""Each module of the gate lists exactly its public names in ``__all__``, and the package re-exports
them all."""

from __future__ import annotations

import importlib
import inspect

import pytest

import pipeline.gate

MODULES = ["core", "history", "locate", "model", "offline", "online", "output"]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_complete(name: str) -> None:
    module = importlib.import_module(f"pipeline.gate.{name}")
    assert all(hasattr(module, item) for item in module.__all__)
    defined_here = {
        item
        for item, value in vars(module).items()
        if not item.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == module.__name__
    }
    assert defined_here <= set(module.__all__), (
        f"public but not in __all__: {defined_here - set(module.__all__)}"
    )


def test_the_package_exports_every_public_name_but_the_location_helpers() -> None:
    exported = set(pipeline.gate.__all__)
    for name in MODULES:
        if name != "locate":
            assert set(importlib.import_module(f"pipeline.gate.{name}").__all__) <= exported, name
