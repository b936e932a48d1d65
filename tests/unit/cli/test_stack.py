"""``pipeline stack``'s arguments: ports are checked before anything is started or looked at."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main


def test_equal_ports_exit_2_with_one_sentence_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--state-dir", str(tmp_path / "s"), "--kafka-port", "19092", "--registry-port", "19092"]
    assert main(["stack", "up", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "error: --kafka-port 19092 and --registry-port 19092 name the same port 19092; every Kafka "
        "node, its controller and the registry each need a port of their own\n"
    )
    assert not (tmp_path / "s").exists(), "nothing was started"


def test_a_third_node_on_the_registry_port_is_refused_naming_how_its_port_was_chosen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--state-dir", str(tmp_path / "s"), "--kafka-port", "19092", "--registry-port", "19096"]
    assert main(["stack", "up", "--brokers", "3", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(
        "error: --registry-port 19096 and node 3's kafka port (--kafka-port 19092 + 4) name the same "
        "port 19096"
    ), err
    assert not (tmp_path / "s").exists(), "nothing was started"


@pytest.mark.parametrize("count", ["2", "0", "three"])
def test_a_broker_count_other_than_one_three_or_five_is_a_usage_error(count: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["stack", "up", "--brokers", count])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_a_port_that_is_no_port_is_a_usage_error(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["stack", "status", "--controller-port", port])
    assert exit_info.value.code == 2
    assert "argument --controller-port:" in capsys.readouterr().err


def test_status_of_a_stack_that_is_not_up_is_a_failed_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.faults.support import free_ports

    kafka, controller, registry = (str(p) for p in free_ports(3))
    argv = ["--state-dir", str(tmp_path), "--kafka-port", kafka, "--controller-port", controller]
    assert main(["stack", "status", *argv, "--registry-port", registry]) == 1
    assert "stopped" in capsys.readouterr().out
