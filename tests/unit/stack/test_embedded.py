"""``EmbeddedStack.up`` when a component fails to start, with stand-in processes for Kafka and the
registry (no Java, no Maven): what this start started is stopped again, what it found running is not."""

from __future__ import annotations

import dataclasses
import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline.config import StackSettings, check_stack_ports
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
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kafka: str,
    registry: str,
    brokers: int = 1,
    node_code: dict[int, str] | None = None,
) -> tuple[EmbeddedStack, dict[str, int]]:
    """A stack whose Kafka nodes and registry run ``kafka`` (or ``node_code[node id]``) and ``registry``
    (Python code); the pids started."""
    kafka_port, controller_port, registry_port = _ports(3)
    stack = EmbeddedStack(
        StackSettings(
            state_dir=tmp_path / "stack",
            kafka_port=kafka_port,
            controller_port=controller_port,
            registry_port=registry_port,
            start_timeout=30,
            brokers=brokers,
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

    monkeypatch.setattr(
        stack,
        "_start_kafka",
        lambda node, _java, _lib: start(node.process, (node_code or {}).get(node.node_id, kafka)),
    )
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
        assert said[-1] == "the stack did not come up: stopped kafka-1 again"
        assert [component.state for component in stack.status()] == ["stopped", "stopped"]
        assert set(pids) == {"kafka-1", "registry"} and not any(_alive(pid) for pid in pids.values())
    finally:
        stack.down()


def test_a_component_that_was_already_running_is_left_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, _ = _stack(tmp_path, monkeypatch, kafka=SLEEPER, registry=FAILING)
    try:
        kafka = stack.nodes[0].process
        kafka.start([sys.executable, "-c", SLEEPER, kafka.marker], cwd=tmp_path)
        running = kafka.pid()
        said: list[str] = []
        with pytest.raises(ComponentFailedError, match=r"^registry exited during start"):
            stack.up(progress=said.append)
        assert kafka.pid() == running, "up did not start this Kafka, so it does not stop it"
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


def test_a_node_that_fails_to_start_takes_every_other_component_this_start_started_down_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, pids = _stack(
        tmp_path, monkeypatch, kafka=SLEEPER, registry=SLEEPER, brokers=3, node_code={3: FAILING}
    )
    said: list[str] = []
    try:
        with pytest.raises(ComponentFailedError, match=r"^kafka-3 exited during start"):
            stack.up(progress=said.append)
        assert said[-1].startswith("the stack did not come up: stopped ")
        assert set(
            said[-1].removeprefix("the stack did not come up: stopped ").removesuffix(" again").split(" and ")
        ) == {"registry", "kafka-1", "kafka-2"}  # kafka-3 had exited by itself
        assert [(c.name, c.state) for c in stack.status()] == [
            ("kafka-1", "stopped"), ("kafka-2", "stopped"), ("kafka-3", "stopped"), ("registry", "stopped"),
        ]  # fmt: skip
        assert set(pids) == {"kafka-1", "kafka-2", "kafka-3", "registry"}
        assert not any(_alive(pid) for pid in pids.values())
    finally:
        stack.down()


def test_three_nodes_listen_two_ports_apart_and_are_named_by_broker_id(tmp_path: Path) -> None:
    stack = EmbeddedStack(
        StackSettings(
            state_dir=tmp_path, kafka_port=19092, controller_port=19093, registry_port=18081, brokers=3
        )
    )
    assert [(n.process.name, n.node_id, n.port, n.controller_port) for n in stack.nodes] == [
        ("kafka-1", 1, 19092, 19093), ("kafka-2", 2, 19094, 19095), ("kafka-3", 3, 19096, 19097),
    ]  # fmt: skip
    assert stack.bootstrap_servers == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
    assert len({n.home for n in stack.nodes} | {n.process.marker for n in stack.nodes}) == 6
    rows = [row.as_json() for row in stack.status()]
    assert rows == [
        {"name": f"kafka-{n}", "node_id": n, "pid": None, "address": f"127.0.0.1:{19090 + 2 * n}",
         "state": "stopped", "log_file": str(stack.nodes[n - 1].process.log_file)}
        for n in (1, 2, 3)
    ] + [
        {"name": "registry", "pid": None, "address": "http://127.0.0.1:18081/apis/ccompat/v7",
         "state": "stopped", "log_file": str(stack.registry.log_file)}
    ]  # fmt: skip


def test_a_state_folder_keeps_its_node_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    three, _ = _stack(tmp_path, monkeypatch, kafka=SLEEPER, registry=SLEEPER, brokers=3)
    three._record_layout()  # as its first `up` does, before the nodes format their storage
    meta = three.nodes[0].home / "data" / "meta.properties"
    meta.parent.mkdir(parents=True)
    meta.write_text("node.id=1\n")
    three._check_layout()  # a second `up` of the same object finds its own layout
    config = three.config
    assert EmbeddedStack(dataclasses.replace(config, brokers=None)).brokers == 3, "unnamed: what it holds"
    one = EmbeddedStack(dataclasses.replace(config, brokers=1))
    with pytest.raises(ConfigError, match=r"holds a 3-node Kafka cluster, not 1; start it with --brokers 3"):
        one.up()
    assert [c.name for c in one.status()] == ["kafka-1", "registry"]
    assert {n.process.name for n in one._all_nodes()} == {"kafka-1", "kafka-2", "kafka-3"}, "down stops all"


def test_node_ports_that_clash_are_refused_naming_both() -> None:
    settings = StackSettings(kafka_port=19092, controller_port=19094, registry_port=18081, brokers=3)
    with pytest.raises(
        ConfigError, match=r"controller_port=19094 and node 2's kafka port .* same port 19094"
    ):
        check_stack_ports(settings)
    check_stack_ports(dataclasses.replace(settings, brokers=1))
    with pytest.raises(ConfigError, match=r"beyond the last port 65535"):
        check_stack_ports(StackSettings(kafka_port=65530, controller_port=65531, brokers=5))
