"""A declared pipeline's handler (``package.module:function``): imported, and checked against the
pipeline's output topic before anything starts."""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Callable
from enum import Enum
from typing import Any

from pipeline.errors import ConfigError
from pipeline.schema import PipelineSpec

__all__ = ["load_handler"]


def load_handler(spec: PipelineSpec, output_types: tuple[str, ...]) -> Callable[[Any], Any]:
    """The pipeline's handler, imported; ConfigError naming the pipeline and the handler when it does
    not import, is not callable, or is annotated to return a type its output topic does not take."""
    module_name, _, function = spec.handler.partition(":")
    where = f"pipeline {spec.name}: handler {spec.handler!r}"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an ImportError, or anything the module raises while importing
        raise ConfigError(f"{where} does not import: {type(exc).__name__}: {exc}") from exc
    handler = getattr(module, function, None)
    if handler is None or not callable(handler):
        raise ConfigError(f"{where}: module {module_name} has no function {function}")
    returned = _returned_types(handler)
    wrong = [name for name in returned if name not in output_types]
    if wrong and output_types:
        raise ConfigError(
            f"{where} returns {', '.join(wrong)}, but its output topic takes {', '.join(output_types)}"
        )
    if wrong and not output_types:
        raise ConfigError(f"{where} returns {', '.join(wrong)}, but the pipeline has no output topic")
    return handler


def _returned_types(handler: Callable[..., Any]) -> list[str]:
    """The Avro full names of the generated classes ``handler``'s return annotation names (best effort:
    a class, ``(key, class)``, a list or ``Optional`` of these)."""
    try:
        hint = typing.get_type_hints(handler).get("return")
    except Exception:
        return []
    names: list[str] = []

    def visit(node: Any) -> None:
        name = getattr(node, "__avro_name__", None)
        if isinstance(name, str) and inspect.isclass(node) and not issubclass(node, Enum):
            names.append(name)
            return
        args = typing.get_args(node)
        if typing.get_origin(node) is tuple and len(args) == 2:
            visit(args[1])  # (key, record): the key is not an output record
            return
        for arg in args:
            visit(arg)

    visit(hint)
    return names
