"""An incompatibility's location -> the line of the .avsc file to annotate."""

from __future__ import annotations

import pytest

from pipeline.gate.locate import line_of_location

ORDER = """{
  "type": "record",
  "name": "Order",
  "namespace": "shop",
  "fields": [
    {"name": "id", "type": "string"},
    {
      "name": "lines",
      "type": {
        "type": "array",
        "items": {
          "type": "record",
          "name": "Line",
          "fields": [
            {"name": "sku", "type": "string"},
            {"name": "qty", "type": "int"}
          ]
        }
      }
    },
    {"name": "attributes", "type": {"type": "map", "values": "long"}},
    {"name": "payer", "type": ["null", {"type": "record", "name": "Payer", "fields": [
      {"name": "vip", "type": "boolean"}
    ]}]},
    {"name": "previous_line", "type": ["null", "Line"]},
    {"name": "price", "type": "common.Money"}
  ]
}
"""


@pytest.mark.parametrize(
    ("location", "line", "reason"),
    [
        ("Order", 1, "the root is the document"),
        ("Order.id", 6, "a top-level field: the line of its name"),
        ("Order.lines", 8, "a field spread over lines: the line of its name, not of its brace"),
        ("Order.lines[]", 11, "array items"),
        ("Order.lines[].qty", 16, "a field of a record inside an array"),
        ("Order.attributes{}", 21, "map values"),
        ("Order.payer.vip", 23, "into a union's record branch"),
        ("Order.previous_line.sku", 15, "a name defined earlier in the file leads to its definition"),
        ("Order.price.currency", 26, "a type from another file: the field that uses it"),
        ("Order.gone", 1, "a field only an earlier version has: the deepest node reached"),
        ("Order.lines[].gone", 11, "stops at the items when the field is not there"),
    ],
)
def test_line_of_location(location: str, line: int, reason: str) -> None:
    assert line_of_location(ORDER, location) == line, reason


def test_text_that_is_not_json_has_no_line() -> None:
    assert line_of_location("{oops", "Order.id") is None
