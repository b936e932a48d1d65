"""The embedded stack's pure parts: pinned versions, generated configuration, Java discovery, logs."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest

from pipeline.errors import ToolMissingError
from pipeline.stack import artifacts, kafka, registry
from pipeline.stack.java import find_java, java_version
from pipeline.stack.process import ManagedProcess, log_tail, port_is_open


def test_versions_are_pinned_once_in_the_pom() -> None:
    versions = artifacts.pinned_versions()
    assert set(versions) == {"kafka", "log4j", "apicurio"}
    assert versions["kafka"].startswith("4.")
    assert versions["apicurio"].startswith("3.")


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_single_node_properties_make_internal_topics_work_on_one_broker(tmp_path: Path) -> None:
    props = _properties(kafka.server_properties(1, 19092, [(1, 19093)], tmp_path / "data"))
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    for key in (
        "default.replication.factor",
        "min.insync.replicas",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert props[key] == "1", key
    assert props["log.dirs"] == str(tmp_path / "data")
    assert "broker.session.timeout.ms" not in props


def test_three_nodes_are_one_quorum_replicating_three_times_with_min_isr_two(tmp_path: Path) -> None:
    voters = [(1, 19093), (2, 19095), (3, 19097)]
    nodes = [
        _properties(kafka.server_properties(node, port, voters, tmp_path / str(node)))
        for node, port in ((1, 19092), (2, 19094), (3, 19096))
    ]
    assert {props["controller.quorum.voters"] for props in nodes} == {
        "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
    }
    assert [props["node.id"] for props in nodes] == ["1", "2", "3"]
    assert nodes[1]["listeners"] == "PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095"
    assert len({props["log.dirs"] for props in nodes}) == 3
    for props in nodes:
        for key in (
            "default.replication.factor",
            "offsets.topic.replication.factor",
            "transaction.state.log.replication.factor",
            "share.coordinator.state.topic.replication.factor",
        ):
            assert props[key] == "3", key
        for key in (
            "min.insync.replicas",
            "transaction.state.log.min.isr",
            "share.coordinator.state.topic.min.isr",
        ):
            assert props[key] == "2", key
        assert int(props["broker.session.timeout.ms"]) < 9000  # fenced sooner than Kafka's default


def test_cluster_id_looks_like_kafkas_and_is_kept(tmp_path: Path) -> None:
    ids = {kafka._new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    kept = tmp_path / "node" / "cluster.id"
    assert kafka.cluster_id(kept) == kafka.cluster_id(kept) == kept.read_text().strip()


def test_registry_is_local_durable_and_backward_by_default(tmp_path: Path) -> None:
    argv = registry.registry_argv(Path("java"), Path("app.jar"), 18081, tmp_path, "-Dpipeline.stack=x", 256)
    assert "-Dquarkus.http.host=127.0.0.1" in argv
    assert "-Dquarkus.http.port=18081" in argv
    assert "-Dquarkus.management.host=127.0.0.1" in argv
    assert f"-Dapicurio.datasource.url=jdbc:h2:file:{tmp_path / 'registry'};WRITE_DELAY=0" in argv
    assert "-Dapicurio.rules.global.compatibility=BACKWARD" in argv
    assert argv[-2:] == ["-jar", "app.jar"]


def _fake_jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text("#!/bin/sh\n")
    java.chmod(0o755)
    (home / "release").write_text(f'IMPLEMENTOR="x"\nJAVA_VERSION="{version}"\n')
    return java


@pytest.mark.parametrize(
    ("version", "major"), [("17.0.15", 17), ("21", 21), ("25.0.3", 25), ("1.8.0_392", 8)]
)
def test_java_version_read_from_release_file(tmp_path: Path, version: str, major: int) -> None:
    assert java_version(_fake_jdk(tmp_path, "jdk", version)) == major


def test_find_java_prefers_the_named_home_and_skips_old_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _fake_jdk(tmp_path, "old", "17.0.1")
    new = _fake_jdk(tmp_path, "new", "21.0.2")
    java_home, registry_home = old.parent.parent, new.parent.parent
    assert find_java("Apicurio Registry", 21, "PIPELINE_REGISTRY_JAVA_HOME", registry_home, java_home) == new
    assert find_java("Kafka", 17, "PIPELINE_KAFKA_JAVA_HOME", None, java_home) == old


def test_missing_java_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "pipeline.stack.java._candidates", lambda _homes: [_fake_jdk(tmp_path, "old", "11.0.2")]
    )
    with pytest.raises(ToolMissingError, match=r"Apicurio Registry needs Java 21 or newer .*apt-get install"):
        find_java("Apicurio Registry", 21, "PIPELINE_REGISTRY_JAVA_HOME")


def test_missing_maven_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda _name: None)
    with pytest.raises(ToolMissingError, match=r"Maven .* `apt-get install maven`"):
        artifacts.resolve(tmp_path / "empty-cache")


def test_log_tail_keeps_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert log_tail(log, 3) == ["line 97", "line 98", "line 99"]
    assert log_tail(tmp_path / "absent.log") == []


def test_port_is_open_sees_a_listener() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert port_is_open(port)
    assert not port_is_open(port)


def test_a_pid_file_naming_a_foreign_process_is_not_ours(tmp_path: Path) -> None:
    proc = ManagedProcess("x", tmp_path / "x.pid", tmp_path / "x.log", "-Dpipeline.stack=/nowhere")
    (tmp_path / "x.pid").write_text("1\n")  # pid 1 is alive but not ours
    assert proc.pid() is None
    assert not (tmp_path / "x.pid").exists()
    assert proc.stop() is False


def test_started_process_is_owned_stopped_and_logged(tmp_path: Path) -> None:
    marker = f"-Dpipeline.stack={tmp_path}"
    proc = ManagedProcess("sleeper", tmp_path / "s.pid", tmp_path / "s.log", marker)
    code = "import time; print('started', flush=True); time.sleep(30)"
    pid = proc.start([sys.executable, "-c", code, marker], cwd=tmp_path)
    assert proc.pid() == pid
    deadline = time.monotonic() + 10
    while "started" not in "\n".join(log_tail(tmp_path / "s.log")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.stop(timeout=5) is True
    assert proc.pid() is None
    assert "started" in "\n".join(log_tail(tmp_path / "s.log"))
