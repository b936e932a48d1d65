"""``EmbeddedStack.up`` when a component fails to start, with stand-in processes for Kafka and the
registry (no Java, no Maven): what this start started is stopped again, what it found running is not."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline.config import StackSettings
from pipeline.errors import ComponentFailedError, ConfigError
from pipeline.stack import embedded
from pipeline.stack.embedded import EmbeddedStack

SLEEPER = "import time; print('up', flush=True); time.sleep(120)"
FAILING = "import sys; print('cannot bind the H2 database', flush=True); sys.exit(1)"


def _ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kafka: str, registry: str
) -> tuple[EmbeddedStack, dict[str, int]]:
    """A stack whose Kafka and registry run ``kafka`` and ``registry`` (Python code); the pids started."""
    kafka_port, controller_port, registry_port = _ports(3)
    stack = EmbeddedStack(
        StackSettings(
            state_dir=tmp_path / "stack",
            kafka_port=kafka_port,
            controller_port=controller_port,
            registry_port=registry_port,
            start_timeout=30,
        )
    )
    found = SimpleNamespace(
        versions={"kafka": "test", "apicurio": "test"}, kafka_lib=tmp_path, registry_jar=tmp_path
    )
    monkeypatch.setattr(embedded.artifacts, "resolve", lambda *_args, **_kwargs: found)
    monkeypatch.setattr(embedded, "find_java", lambda *_args: Path(sys.executable))

    pids: dict[str, int] = {}

    def start(proc: embedded.ManagedProcess, code: str) -> None:
        pids[proc.name] = proc.start([sys.executable, "-c", code, proc.marker], cwd=tmp_path)

    monkeypatch.setattr(stack, "_start_kafka", lambda _java, _lib: start(stack.kafka, kafka))
    monkeypatch.setattr(stack, "_start_registry", lambda _java, _jar: start(stack.registry, registry))
    return stack, pids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_registry_that_fails_to_start_takes_the_kafka_this_start_started_down_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, pids = _stack(tmp_path, monkeypatch, kafka=SLEEPER, registry=FAILING)
    said: list[str] = []
    try:
        with pytest.raises(ComponentFailedError, match=r"^registry exited during start") as caught:
            stack.up(progress=said.append)
        assert caught.value.log_tail[-1] == "cannot bind the H2 database"
        assert said[-1] == "the stack did not come up: stopped kafka again"
        assert [component.state for component in stack.status()] == ["stopped", "stopped"]
        assert set(pids) == {"kafka", "registry"} and not any(_alive(pid) for pid in pids.values())
    finally:
        stack.down()


def test_a_component_that_was_already_running_is_left_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, _ = _stack(tmp_path, monkeypatch, kafka=SLEEPER, registry=FAILING)
    try:
        stack.kafka.start([sys.executable, "-c", SLEEPER, stack.kafka.marker], cwd=tmp_path)
        running = stack.kafka.pid()
        said: list[str] = []
        with pytest.raises(ComponentFailedError, match=r"^registry exited during start"):
            stack.up(progress=said.append)
        assert stack.kafka.pid() == running, "up did not start this Kafka, so it does not stop it"
        assert not any(line.startswith("the stack did not come up") for line in said)
    finally:
        stack.down()


def test_two_components_on_one_port_are_refused_before_anything_starts(tmp_path: Path) -> None:
    config = StackSettings(
        state_dir=tmp_path / "stack", kafka_port=19092, controller_port=19093, registry_port=19093
    )
    with pytest.raises(
        ConfigError, match=r"^controller_port=19093 and registry_port=19093 name the same port"
    ):
        EmbeddedStack(config).up()
    assert not (tmp_path / "stack").exists()
