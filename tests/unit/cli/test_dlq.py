"""``pipeline dlq``'s own parts: arguments refused at parsing with one sentence, the table's cut messages,
inspect stopping after --limit entries, and replay's summary instead of a line per entry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.cli import build_parser, main
from pipeline.cli import dlq as cli_dlq
from pipeline.cli.dlq import filter_item, replay_summary, shorten, table_row
from pipeline.config import load_settings
from pipeline.dlq.envelope import DeadLetter
from pipeline.dlq.tools import DlqEntry, ReplayReport


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(argv)
    assert caught.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize("limit", ["0", "-1", "-100", "ten", "1.5"])
def test_a_limit_below_one_is_refused_at_parsing(limit: str, capsys: pytest.CaptureFixture[str]) -> None:
    error = _refused(["dlq", "inspect", "orders.dlq", "--limit", limit], capsys)
    assert "argument --limit:" in error


def test_a_positive_limit_is_taken() -> None:
    assert build_parser().parse_args(["dlq", "inspect", "orders.dlq", "--limit", "3"]).limit == 3


@pytest.mark.parametrize("command", ["inspect", "replay"])
def test_an_unknown_filter_name_is_refused_listing_the_valid_ones(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    error = _refused(["dlq", command, "orders.dlq", "--filter", "dlq.colour=red"], capsys)
    assert "argument --filter: 'dlq.colour' is not a dead-letter header; use one of dlq.stage," in error
    assert "dlq.field.path" in error and "dlq.error.class" in error


def test_a_filter_without_a_value_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    error = _refused(["dlq", "inspect", "orders.dlq", "--filter", "dlq.stage"], capsys)
    assert "is not NAME=VALUE" in error


def test_filters_take_the_documented_header_names_and_the_short_ones() -> None:
    args = build_parser().parse_args(
        ["dlq", "replay", "o.dlq", "--filter", "dlq.field.path=o.Order.amount", "--filter", "error_class=X"]
    )
    assert args.filter == [("field_path", "o.Order.amount"), ("error_class", "X")]
    assert filter_item("dlq.original.topic=orders") == ("original_topic", "orders")
    assert filter_item("dlq.error.message=a=b") == ("error_message", "a=b")


def test_a_cut_message_ends_in_an_ellipsis() -> None:
    assert shorten("short  message\n on two lines") == "short message on two lines"
    exact = "x" * 90
    assert shorten(exact) == exact
    cut = shorten("y" * 91)
    assert len(cut) == 90 and cut.endswith("\u2026") and cut.startswith("y" * 89)


def _entry(message: str, field_path: str | None = None) -> DlqEntry:
    letter = DeadLetter(
        "deserialize",
        "CorruptPayloadError",
        message,
        time=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
        original_topic="orders",
        original_partition=1,
        original_offset=7,
        field_path=field_path,
    )
    return DlqEntry("orders.dlq", 0, 3, letter, b"k", b"v", ())


def test_table_rows_cut_the_message_with_an_ellipsis() -> None:
    row = table_row(_entry("a long explanation " * 10, field_path="o.Order.amount"))
    assert row.startswith("2026-11-27 10:00:00  orders[1]@7")
    assert row.endswith("\u2026") and "[o.Order.amount] a long explanation" in row
    assert table_row(_entry("short")).endswith(" short")


def test_inspect_stops_reading_after_limit_entries(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pulled: list[int] = []
    closed: list[bool] = []

    def entries(_settings: object, _topic: str) -> Iterator[DlqEntry]:
        try:
            for i in range(1_000_000):
                pulled.append(i)
                yield _entry(f"entry {i}")
        finally:
            closed.append(True)

    settings = load_settings({}, embedded_defaults=("127.0.0.1:1", "http://127.0.0.1:1"))
    monkeypatch.setattr(cli_dlq, "read_entries", entries)
    monkeypatch.setattr(cli_dlq, "ensure_cluster", lambda progress: settings)
    monkeypatch.chdir(tmp_path)  # no schemas/ here: the name is the dead-letter topic's own
    assert main(["dlq", "inspect", "orders.dlq", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert len(pulled) == 3 and closed == [True], "read three, then stopped and closed the reader"
    assert out.count("entry ") == 3
    assert out.rstrip().endswith("orders.dlq: 3 entries (--limit 3: reading stopped there)")


def test_the_replay_summary_counts_instead_of_listing() -> None:
    report = ReplayReport(group="g", read=200_031, replayed=200_000, still_invalid=31)
    report.kinds = Counter(
        {
            ("re-drive", "deserialize", "UnknownSchemaError"): 150_000,
            ("re-drive", "process", "Rejected"): 50_000,
            ("still invalid", "serialize", "InvalidRecordError"): 31,
        }
    )
    report.examples = {"re-drive": ["a", "b", "c"], "still invalid": ["x", "y", "z"]}
    lines = replay_summary("orders.dlq", report, dry_run=True, verbose=False)
    assert lines[0].startswith("orders.dlq: read 200031, would re-drive 200000, still invalid 31")
    assert "  would re-drive 150000: stage deserialize, UnknownSchemaError" in lines
    assert "  would re-drive 50000: stage process, Rejected" in lines
    assert "  still invalid 31: stage serialize, InvalidRecordError" in lines
    assert sum(line.startswith("  e.g.") for line in lines) == 6
    assert "  (-v lists every entry)" in lines
    assert len(lines) < 15

    verbose = replay_summary("orders.dlq", report, dry_run=False, verbose=True)
    assert verbose[0].startswith("orders.dlq: read 200031, re-drove 200000")
    assert not any(line.startswith("  e.g.") for line in verbose), "-v has listed every entry already"


def test_a_schema_folder_named_must_hold_a_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dlq", "inspect", "orders", "--schemas", str(tmp_path / "missing")]) == 2
    assert f"--schemas {tmp_path / 'missing'}: no such schema folder" in capsys.readouterr().err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "catalog.toml").write_text("[topics.orders\n")
    assert main(["dlq", "inspect", "orders", "--schemas", str(tmp_path / "bad")]) == 1
    assert "catalog.toml" in capsys.readouterr().err
