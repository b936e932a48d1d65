"""How generated classes stand for Avro types, the convention the codec and the code generator share.

- A record is a class whose instances carry one attribute per field, named by :func:`attribute_names`
  (a Python keyword gets a ``_`` suffix; a name starting with ``__``, which Python would mangle inside a
  class, an ``f`` prefix), and which is built by calling it with those attributes as keywords.
- An enum is an ``enum.Enum`` whose member values are the Avro symbols.
- Each such class names its Avro type in ``__avro_name__`` (the full name), so a value is recognised by
  the type it stands for, not by the module its class came from.

A :data:`TypedModel` maps full names to those classes. Records without a class in the model are plain
dicts; enums without one are their symbols. Pure.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Mapping, Sequence

__all__ = ["AVRO_NAME", "TypedModel", "attribute_names", "avro_name", "member_names"]

AVRO_NAME = "__avro_name__"

TypedModel = Mapping[str, type]
"""Full name -> the class generated for that record or enum."""


def attribute_names(field_names: Sequence[str]) -> tuple[str, ...]:
    """The Python attribute for each Avro field name of one record, in order, all distinct."""
    return _distinct(
        field_names,
        lambda name: name + "_" if keyword.iskeyword(name) else "f" + name if name.startswith("__") else name,
    )


def member_names(symbols: Sequence[str]) -> tuple[str, ...]:
    """The Python enum member for each Avro symbol of one enum, in order, all distinct: a keyword or
    ``mro`` gets a ``_`` suffix, a symbol starting with ``_`` (which ``Enum`` reserves) an ``S`` prefix.
    Only the code generator names members; the codec goes by their values."""
    return _distinct(
        symbols,
        lambda s: s + "_" if keyword.iskeyword(s) or s == "mro" else "S" + s if s.startswith("_") else s,
    )


def _distinct(names: Sequence[str], rename: Callable[[str], str]) -> tuple[str, ...]:
    taken: set[str] = set()
    out = []
    for name in map(rename, names):
        while name in taken:
            name += "_"
        taken.add(name)
        out.append(name)
    return tuple(out)


def avro_name(cls: type) -> str | None:
    """The full name of the Avro type ``cls`` was generated for, or None for any other class."""
    name = getattr(cls, AVRO_NAME, None)
    return name if isinstance(name, str) else None
