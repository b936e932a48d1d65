"""`pipeline run` beside other runs: a rerun right after a kill -9 holds (it outwaits the dead member's
session), and two runs sharing one group say why they do not balance instead of failing silently."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import StackHandle

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = str(Path(sys.executable).parent / "pipeline")


def _start(group: str, count: int, summary: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    argv = [PIPELINE, "run", "-n", str(count), "--group", group, "--summary-json", str(summary)]
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@pytest.fixture
def env(stack: StackHandle) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": stack.settings.kafka.bootstrap_servers,
        "SCHEMA_REGISTRY_URL": stack.settings.registry.url,
        # a short session, so that the dead member is noticed within the test's patience
        "PIPELINE_CONSUMER_SESSION_TIMEOUT_MS": "10000",
    }


def test_a_rerun_right_after_kill_9_holds(stack: StackHandle, tmp_path: Path, env: dict[str, str]) -> None:
    group = stack.unique("rerun")
    first = _start(group, 200_000, tmp_path / "first.json", {**env, "PIPELINE_PRODUCER_LINGER_MS": "5"})
    time.sleep(20)  # well into producing and consuming
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    second = _start(group, 2_000, tmp_path / "second.json", env)
    output, _ = second.communicate(timeout=240)
    summary = json.loads((tmp_path / "second.json").read_text())
    assert second.returncode == 0, output[-2000:]
    assert all(t["produced"] == 2_000 and t["balanced"] for t in summary["topics"].values())


def test_two_runs_in_one_group_say_why(stack: StackHandle, tmp_path: Path, env: dict[str, str]) -> None:
    group = stack.unique("shared")
    runs = [_start(group, 3_000, tmp_path / f"{i}.json", env) for i in range(2)]
    outputs = [run.communicate(timeout=240)[0] for run in runs]
    for run, output, i in zip(runs, outputs, range(2), strict=True):
        summary = json.loads((tmp_path / f"{i}.json").read_text())
        if run.returncode == 0:
            continue  # this run happened to own every partition it wrote to
        assert run.returncode == 1, output[-2000:]
        assert summary["notes"], output[-2000:]
        assert "another member of group" in " ".join(summary["notes"])
        assert "why:" in output and "--group of its own" in output


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_one_signal_stops_the_whole_run_and_keeps_its_summary(
    stack: StackHandle, tmp_path: Path, env: dict[str, str], signum: int, code: int
) -> None:
    summary_file = tmp_path / "summary.json"
    run = _start(stack.unique("signal"), 1_000_000, summary_file, env)
    time.sleep(15)  # producing and consuming
    run.send_signal(signum)
    output, _ = run.communicate(timeout=45)  # producers stop, consumers drain what was sent, then it ends
    assert run.returncode == code, output[-2000:]
    summary = json.loads(summary_file.read_text())
    assert all(0 < t["produced"] < 1_000_000 for t in summary["topics"].values()), "producing stopped early"
    assert all(t["balanced"] for t in summary["topics"].values()), output[-2000:]
