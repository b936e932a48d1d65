"""``pipeline schemas validate`` and the summary tables (no registry needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.cli.schemas import format_registration, format_topics
from pipeline.compat import Level
from pipeline.kafka.topics import TopicReport, TopicResult, TopicStatus
from pipeline.registry.register import RegistrationReport, Status, SubjectResult
from pipeline.schema import load_catalog

SHIPPED = Path(__file__).resolve().parents[3] / "schemas"


def test_validate_the_shipped_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "validate", "--schemas", str(SHIPPED)]) == 0
    assert "valid: 10 types, 5 topics, 10 subjects" in capsys.readouterr().out


def test_validate_prints_every_problem_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(SHIPPED, tmp_path / "s")
    money = tmp_path / "s" / "com.example.common.Money.avsc"
    money.write_text(money.read_text(encoding="utf-8").replace('"scale": 2', '"scale": 20'), encoding="utf-8")
    order = tmp_path / "s" / "com.example.orders.Order.avsc"
    order.write_text(order.read_text(encoding="utf-8").replace('"PENDING"', '"pending-x"'), encoding="utf-8")
    assert main(["schemas", "validate", "--schemas", str(tmp_path / "s")]) == 1
    out, err = capsys.readouterr()
    assert f"{money}:9: $.fields[0].type.scale: decimal scale must be" in err
    assert f"{order}:17: $.fields[4].type.symbols[0]: enum symbol 'pending-x' is not a legal Avro name" in err
    assert out == ""
    assert "2 problem(s)" in err


def test_validate_names_each_schema_file_it_would_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(SHIPPED, tmp_path / "s")
    money = tmp_path / "s" / "com.example.common.Money.avsc"
    shouting = money.rename(money.with_suffix(".AVSC"))
    (tmp_path / "s" / "v2").mkdir()
    nested = tmp_path / "s" / "v2" / "com.example.common.Extra.avsc"
    nested.write_text("{}", encoding="utf-8")
    assert main(["schemas", "validate", "--schemas", str(tmp_path / "s")]) == 1
    out, err = capsys.readouterr()
    assert f"{shouting}: not read (a schema file's name ends in .avsc, in lower case)" in err
    assert f"{nested}: not read (schema files are read from the top of {tmp_path / 's'} only)" in err
    assert "Traceback" not in out + err


def test_the_former_catalog_option_still_works_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "validate", "--catalog", str(SHIPPED)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"{SHIPPED}: valid")
    assert "warning: --catalog is deprecated; use --schemas" in err


def test_a_missing_catalog_directory_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "validate", "--schemas", str(tmp_path / "nope")]) == 1
    assert "no such schema directory" in capsys.readouterr().err


def test_registration_table_and_reasons() -> None:
    catalog = load_catalog(SHIPPED)
    money, orders, payments = (
        catalog.subject(s) for s in ("com.example.common.Money", "orders-value", "payments-value")
    )
    report = RegistrationReport(
        (
            SubjectResult(money, Status.UNCHANGED, 1, 7, Level.FULL),
            SubjectResult(orders, Status.NEW, None, None, None),
            SubjectResult(
                payments,
                Status.INCOMPATIBLE,
                None,
                None,
                Level.BACKWARD,
                ("merchant_id at /fields/7",),
                compared_with=2,
            ),
        ),
        dry_run=False,
    )
    lines = format_registration(report).splitlines()
    assert lines[0].split() == ["SUBJECT", "VERSION", "SCHEMA", "ID", "LEVEL", "STATUS"]
    assert lines[1].split() == ["com.example.common.Money", "1", "7", "FULL", "unchanged"]
    assert lines[2].split() == ["orders-value", "-", "-", "unset", "->", "BACKWARD", "new"]
    assert lines[3].split() == ["payments-value", "-", "-", "BACKWARD", "incompatible"]
    assert "payments-value (" in lines[5] and "is not BACKWARD-compatible with version 2:" in lines[5]
    assert lines[6] == "  - merchant_id at /fields/7"
    assert lines[-1] == "nothing was registered and no compatibility level was changed."


def test_unchanged_runs_say_so() -> None:
    money = load_catalog(SHIPPED).subject("com.example.common.Money")
    report = RegistrationReport((SubjectResult(money, Status.UNCHANGED, 1, 7, Level.FULL),), dry_run=True)
    assert format_registration(report).splitlines()[-2:] == [
        "all 1 subjects unchanged.",
        "dry run: the registry was not changed.",
    ]


def test_topic_table_reports_mismatches() -> None:
    report = TopicReport(
        (
            TopicResult("orders", 3, 3, TopicStatus.EXISTS),
            TopicResult("orders.dlq", 3, 1, TopicStatus.MISMATCH, dlq_of="orders"),
            TopicResult("payments", 3, None, TopicStatus.ABSENT),
        ),
        dry_run=True,
    )
    text = format_topics(report)
    assert "orders.dlq  3           orders  partition mismatch: the cluster has 1, the catalog says 3" in text
    assert "absent (would be created)" in text
    assert not report.ok and "never alters an existing topic's partitions" in text
