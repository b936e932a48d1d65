"""Realistic sample records for any schema, reproducible from a seed: the main job's generator.

Driven by the schema alone, so a new topic gets a run at once: every field is exercised, optional
fields are set and unset in turn, every union branch and enum symbol turns up, decimals stay within
their precision, timestamps fall in the past year (in whole milliseconds for the millis types). Field
names steer plain strings towards realistic values (``*_id``, ``email``, ``city``, ``country_code``,
``currency``...). ``poison`` breaks one field so that the record does not fit its schema: the dead-letter
path of every topic is exercised too. Pure: the randomness comes from the seed.
"""

from __future__ import annotations

import datetime as dt
import decimal
import random
import uuid
from typing import Any

from pipeline.avro import Array, Enum, Fixed, Map, Primitive, Record, Schema, Union
from pipeline.codec.typed import AVRO_NAME, TypedModel, attribute_names
from pipeline.codec.values import converted

__all__ = ["SampleGenerator"]

_FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Linus", "Katherine", "Ken"]
_LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Torvalds", "Johnson"]
_CITIES = [("Berlin", "DE", "10115"), ("Lyon", "FR", "69001"), ("Porto", "PT", "4000-001"),
           ("Utrecht", "NL", "3511"), ("Graz", "AT", "8010"), ("Leeds", "GB", "LS1 1UR")]  # fmt: skip
_STREETS = ["Hauptstraße", "Rue de la République", "Rua das Flores", "Oudegracht", "Herrengasse", "Briggate"]
_PRODUCTS = ["espresso machine", "coffee grinder", "milk frother", "tamper", "descaler", "travel mug",
             "pour-over kettle", "beans 1kg"]  # fmt: skip
_WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
_CURRENCIES = ["EUR", "EUR", "EUR", "GBP", "USD", "CHF"]
_NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
_YEAR_MS = 365 * 24 * 3600 * 1000


class SampleGenerator:
    """Records of ``schema`` (typed against ``model``) for a run: ``record(i)`` is the i-th."""

    def __init__(self, schema: Schema, model: TypedModel | None, seed: int, run_id: str) -> None:
        self.schema = schema
        self.model = model
        self.rng = random.Random(seed)
        self.run_id = run_id
        self._turn: dict[int, int] = {}  # per union / optional: which branch comes next

    def record(self, index: int) -> Any:
        return self._value(self.schema, "", index, 0)

    def poison(self, value: Any) -> Any:
        """``value`` with one field broken (a value of the wrong type); None when it has no field."""
        schema = self.schema
        if isinstance(schema, Union):  # several event types: the one ``value`` is
            name = getattr(type(value), AVRO_NAME, None)
            schema = next(
                (b for b in schema.branches if isinstance(b, Record) and b.name.fullname == name), schema
            )
        if not isinstance(schema, Record) or not schema.fields:
            return None
        entry = self.rng.choice(schema.fields)
        wrong: Any = 12345 if _is_text(entry.type) else "not a " + _kind(entry.type)
        names = attribute_names([f.name for f in schema.fields])
        attr = names[schema.fields.index(entry)]
        if isinstance(value, dict):
            value[entry.name] = wrong
        else:
            setattr(value, attr, wrong)
        return value

    # -- values ------------------------------------------------------------------------------------

    def _next(self, node: object, choices: int) -> int:
        """Round robin per schema position: every branch (or set/unset) in turn."""
        turn = self._turn.get(id(node), self.rng.randrange(choices))
        self._turn[id(node)] = turn + 1
        return turn % choices

    def _value(self, schema: Schema, name: str, index: int, depth: int) -> Any:
        rng = self.rng
        logical = converted(schema)
        if logical is not None:
            return self._logical(logical.name, logical, schema, name)
        if isinstance(schema, Union):
            branches = list(schema.branches)
            if depth > 3:  # recursion: end it where the union allows
                branches = [b for b in branches if not isinstance(b, Record)] or branches
            return self._value(branches[self._next(schema, len(branches))], name, index, depth + 1)
        if isinstance(schema, Primitive):
            return self._primitive(schema.type, name, index)
        if isinstance(schema, Fixed):
            return bytes(rng.getrandbits(8) for _ in range(schema.size))
        if isinstance(schema, Enum):
            symbol = schema.symbols[self._next(schema, len(schema.symbols))]
            cls = self.model.get(schema.name.fullname) if self.model is not None else None
            return cls(symbol) if cls is not None else symbol
        if isinstance(schema, Array):
            size = 0 if depth > 3 else rng.randrange(4)
            return [self._value(schema.items, name, index, depth + 1) for _ in range(size)]
        if isinstance(schema, Map):
            size = 0 if depth > 3 else rng.randrange(4)
            return {
                f"{rng.choice(_WORDS)}-{i}": self._value(schema.values, name, index, depth + 1)
                for i in range(size)
            }
        assert isinstance(schema, Record)
        values = {f.name: self._value(f.type, f.name, index, depth + 1) for f in schema.fields}
        cls = self.model.get(schema.name.fullname) if self.model is not None else None
        if cls is None:
            return values
        return cls(**dict(zip(attribute_names(list(values)), values.values(), strict=True)))

    def _primitive(self, kind: str, name: str, index: int) -> Any:
        rng = self.rng
        if kind == "null":
            return None
        if kind == "boolean":
            return rng.random() < 0.5
        if kind in ("int", "long"):
            return (
                rng.randrange(1, 100)
                if any(w in name for w in ("count", "quantity", "qty"))
                else rng.randrange(0, 10_000)
            )
        if kind in ("float", "double"):
            return round(rng.uniform(1, 500), 2)
        if kind == "bytes":
            return bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 16)))
        return self._text(name, index)

    def _text(self, name: str, index: int) -> str:
        rng = self.rng
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        city, country, postal = rng.choice(_CITIES)
        if name == "order_id" or (
            name.endswith("_id") and index >= 0 and name.startswith(("event", "payment"))
        ):
            return f"{self.run_id}-{index:07d}"
        if name.endswith("_id"):
            return f"{name.removesuffix('_id')}-{rng.randrange(1, 201):04d}"
        table = {
            "email": f"{first}.{last}@example.com".lower(),
            "city": city,
            "country_code": country,
            "country": country,
            "postal_code": postal,
            "zip": postal,
            "currency": rng.choice(_CURRENCIES),
            "product": rng.choice(_PRODUCTS),
            "line1": f"{rng.choice(_STREETS)} {rng.randrange(1, 120)}",
            "street": f"{rng.choice(_STREETS)} {rng.randrange(1, 120)}",
            "line2": f"{rng.randrange(1, 6)}. floor",
        }
        if name in table:
            return table[name]
        if "name" in name:
            return f"{first} {last}"
        return f"{rng.choice(_WORDS)}-{rng.randrange(1000)}"

    def _logical(self, kind: str, logical: Any, schema: Schema, name: str) -> Any:
        rng = self.rng
        if kind in ("decimal", "big-decimal"):
            scale = logical.scale if kind == "decimal" else 2
            digits = (logical.precision - scale) if kind == "decimal" else 6
            top = min(10 ** max(digits, 0), 10_000)
            unscaled = rng.randrange(1, max(2, top * 10**scale))
            return decimal.Decimal(unscaled).scaleb(-scale)
        if kind == "uuid":
            return uuid.UUID(int=rng.getrandbits(128), version=4)
        if kind == "date":
            born = "birth" in name
            start = dt.date(1940, 1, 1) if born else dt.date(2025, 1, 1)
            return start + dt.timedelta(days=rng.randrange(0, 23_000 if born else 700))
        if kind.startswith("time-"):
            micros = rng.randrange(0, 86_400_000_000)
            micros -= micros % 1000 if kind == "time-millis" else 0
            return (dt.datetime.min + dt.timedelta(microseconds=micros)).time()
        moment = _NOW - dt.timedelta(milliseconds=rng.randrange(0, _YEAR_MS))
        if kind.endswith("micros"):
            moment -= dt.timedelta(microseconds=rng.randrange(0, 1000))
        return moment.replace(tzinfo=None) if kind.startswith("local-") else moment


def _is_text(schema: Schema) -> bool:
    return isinstance(schema, Primitive) and schema.type == "string" and converted(schema) is None


def _kind(schema: Schema) -> str:
    if isinstance(schema, Record | Enum | Fixed):
        return schema.name.name
    return schema.type
