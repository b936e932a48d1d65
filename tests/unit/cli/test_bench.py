"""``pipeline bench``'s arguments: which schemas run (``--schema``, repeated or comma-separated), and an
unknown one refused as a usage error naming it and the catalog's topics, before anything connects."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.cli import build_parser, main
from pipeline.cli.bench import chosen_schemas, schema_names
from pipeline.errors import ConfigError

SHIPPED = Path(__file__).resolve().parents[3] / "schemas"
KNOWN = ["orders", "payments", "customers", "shipments", "customer-activity"]
NAME = st.from_regex(r"[A-Za-z0-9._-]{1,30}", fullmatch=True)  # Kafka's topic alphabet: no commas


@given(names=st.lists(NAME, min_size=1, max_size=6), spaces=st.sampled_from(["", " ", "  "]))
def test_a_comma_list_gives_its_names_in_order(names: list[str], spaces: str) -> None:
    assert schema_names(f"{spaces},{spaces}".join(names)) == names


@pytest.mark.parametrize("text", ["", ",", "orders,", ",orders", "orders,,payments", " , "])
def test_an_empty_name_is_refused_with_a_sentence(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="empty name"):
        schema_names(text)


@given(groups=st.lists(st.lists(st.sampled_from(KNOWN), min_size=1, max_size=3), min_size=1, max_size=4))
def test_asked_schemas_run_in_the_order_asked_once_each(groups: list[list[str]]) -> None:
    chosen = chosen_schemas(KNOWN, groups)
    asked = [name for group in groups for name in group]
    assert list(chosen) == sorted(set(asked), key=asked.index)


@pytest.mark.parametrize("asked", [None, []])
def test_every_topic_runs_when_none_is_asked_for(asked: list[list[str]] | None) -> None:
    assert chosen_schemas(KNOWN, asked) == tuple(KNOWN)


@given(unknown=NAME.filter(lambda name: name not in KNOWN), known=st.sampled_from(KNOWN))
def test_an_unknown_schema_is_named_with_the_known_ones(unknown: str, known: str) -> None:
    with pytest.raises(ConfigError) as caught:
        chosen_schemas(KNOWN, [[known, unknown]])
    message = str(caught.value)
    assert repr(unknown) in message and ", ".join(KNOWN) in message
    assert repr(known) not in message.split(";")[0], "only the unknown one is called unknown"


def test_the_parser_keeps_each_schema_option_and_the_scale_out_switch() -> None:
    args = build_parser().parse_args(["bench", "--schema", "orders,payments", "--schema", "shipments"])
    assert args.schema == [["orders", "payments"], ["shipments"]]
    assert args.no_scale_out is False
    assert build_parser().parse_args(["bench", "--no-scale-out"]).no_scale_out is True
    assert build_parser().parse_args(["bench"]).schema is None


def test_an_unknown_schema_exits_2_naming_it_before_anything_connects(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cluster nobody listens on: reaching it would fail differently (and slowly).
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", "http://127.0.0.1:1")
    assert main(["bench", "--schema", "orders,nope", "--schemas", str(SHIPPED)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "error: --schema: no topic 'nope' in the catalog; its topics are orders, payments, customers, "
        "shipments, customer-activity\n"
    )


def test_an_empty_schema_value_is_argparse_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["bench", "--schema", "orders,"])
    assert exited.value.code == 2
    assert "argument --schema: 'orders,' has an empty name" in capsys.readouterr().err
