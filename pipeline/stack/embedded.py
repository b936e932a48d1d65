"""The embedded stack: KRaft Kafka (one node, or three in one quorum) and Apicurio Registry as local
processes under one state directory, started, reused, reported on and stopped by us alone."""

from __future__ import annotations

import functools
import json
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import httpx
from confluent_kafka.admin import AdminClient

from pipeline.config import StackSettings, check_stack_ports, load_stack_settings
from pipeline.errors import ComponentFailedError, ConfigError, PortInUseError
from pipeline.stack import artifacts, kafka, registry
from pipeline.stack.java import find_java
from pipeline.stack.process import ManagedProcess, log_tail, port_is_open

__all__ = ["ComponentStatus", "EmbeddedStack", "KafkaNode", "bootstrap_servers", "node_ports", "registry_url"]


def node_ports(settings: StackSettings, node_id: int) -> tuple[int, int]:
    """(Kafka port, controller port) of node ``node_id``: node 1 on the configured ports, node N two
    ports further for each node before it (9092/9093, 9094/9095, 9096/9097 by default)."""
    step = 2 * (node_id - 1)
    return settings.kafka_port + step, settings.controller_port + step


def bootstrap_servers(settings: StackSettings, brokers: int = 1) -> str:
    return ",".join(f"127.0.0.1:{node_ports(settings, n)[0]}" for n in range(1, brokers + 1))


def registry_url(settings: StackSettings) -> str:
    return f"http://127.0.0.1:{settings.registry_port}{registry.CCOMPAT_PATH}"


@dataclass(frozen=True)
class KafkaNode:
    """One KRaft node of the stack, broker and controller in one process; its broker id is ``node_id``."""

    node_id: int
    port: int
    controller_port: int
    home: Path
    process: ManagedProcess


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    ready: bool
    address: str
    log_file: Path
    node_id: int | None = None

    @property
    def state(self) -> str:
        if self.pid is None:
            return "stopped"
        return "ready" if self.ready else "running, not ready"

    def as_json(self) -> dict[str, object]:
        shown: dict[str, object] = {"name": self.name}
        if self.node_id is not None:
            shown["node_id"] = self.node_id
        shown.update(
            pid=self.pid, address=self.address, state="running" if self.state.startswith("running") else
            self.state, log_file=str(self.log_file),
        )  # fmt: skip
        return shown


class EmbeddedStack:
    """Start, reuse, inspect and stop the embedded Kafka (one node, or three in one quorum) and Apicurio
    Registry.

    ``up`` is idempotent: a healthy stack started from the same state directory is reused. ``down``
    stops only the processes this state directory started and keeps their data unless ``purge``. How
    many Kafka nodes a state directory holds is fixed when it is first started (``layout.json``);
    ``config.brokers`` None means "what the state directory holds, else one".
    """

    def __init__(self, config: StackSettings | None = None) -> None:
        self.config = config or load_stack_settings()
        state = self.config.state_dir.resolve()
        self.state_dir = state
        self.layout_file = state / "layout.json"
        self.brokers = self.config.brokers or self._held_brokers() or 1
        self.nodes = [self._node(n) for n in range(1, self.brokers + 1)]
        self.bootstrap_servers = bootstrap_servers(self.config, self.brokers)
        self.registry_url = registry_url(self.config)
        self.registry = ManagedProcess(
            "registry", state / "registry" / "registry.pid", state / "registry" / "registry.log",
            f"-Dpipeline.stack={state / 'registry'}",
        )  # fmt: skip

    def _node(self, node_id: int) -> KafkaNode:
        home = self.state_dir / ("kafka" if node_id == 1 else f"kafka-{node_id}")
        process = ManagedProcess(
            f"kafka-{node_id}", home / "kafka.pid", home / "kafka.log", f"-Dpipeline.stack={home}"
        )
        return KafkaNode(node_id, *node_ports(self.config, node_id), home, process)

    def _held_brokers(self) -> int | None:
        try:
            held = json.loads(self.layout_file.read_text())["brokers"]
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None
        return held if isinstance(held, int) and held >= 1 else None

    # -- health ------------------------------------------------------------------------------

    def node_ready(self, node: KafkaNode, timeout: float = 2.0) -> bool:
        """The node answers a metadata request that lists it as a broker, with a controller elected."""
        if not port_is_open(node.port):
            return False
        client = AdminClient({"bootstrap.servers": f"127.0.0.1:{node.port}", "log_level": 0})
        try:
            metadata = client.list_topics(timeout=timeout)
        except Exception:
            return False
        return node.node_id in metadata.brokers and metadata.controller_id >= 0

    def kafka_ready(self, timeout: float = 2.0) -> bool:
        """Every node answers and lists itself as a broker."""
        return all(self.node_ready(node, timeout) for node in self.nodes)

    def registry_ready(self, timeout: float = 2.0) -> bool:
        """The registry answers ``GET .../subjects``."""
        if not port_is_open(self.config.registry_port):
            return False
        try:
            return httpx.get(f"{self.registry_url}/subjects", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def status(self) -> list[ComponentStatus]:
        """Each Kafka node, then the registry."""
        rows = []
        for node in self.nodes:
            pid = node.process.pid()
            rows.append(
                ComponentStatus(
                    node.process.name,
                    pid,
                    pid is not None and self.node_ready(node),
                    f"127.0.0.1:{node.port}",
                    node.process.log_file,
                    node.node_id,
                )
            )
        registry_pid = self.registry.pid()
        rows.append(
            ComponentStatus(
                "registry",
                registry_pid,
                registry_pid is not None and self.registry_ready(),
                self.registry_url,
                self.registry.log_file,
            )
        )
        return rows

    # -- lifecycle ---------------------------------------------------------------------------

    def up(self, progress: Callable[[str], None] = lambda _msg: None) -> dict[str, float]:
        """Make every component run and answer. Returns seconds spent per phase. When a component
        fails to start, whatever this call started is stopped before the error is raised.

        Raises ConfigError (two components on one port, or a state directory that holds another
        number of nodes), ToolMissingError, ArtifactError, PortInUseError or ComponentFailedError.
        """
        check_stack_ports(self.config, brokers=self.brokers)
        self._check_layout()
        started = time.monotonic()
        timings: dict[str, float] = {}
        running = {node.node_id: node.process.pid() for node in self.nodes}
        registry_pid = self.registry.pid()
        if all(running.values()) and registry_pid and self.kafka_ready() and self.registry_ready():
            progress(f"reusing the running stack in {self.state_dir}")
            return {"total": time.monotonic() - started}

        for node in self.nodes:
            if running[node.node_id] is None:
                self._check_ports(node.process.name, node.port, node.controller_port)
        if registry_pid is None:
            self._check_ports("registry", self.config.registry_port)

        progress("resolving artifacts (Maven; cached after the first run)")
        resolved = artifacts.resolve(self.config.cache_dir, log=self.state_dir / "maven.log")
        timings["artifacts"] = time.monotonic() - started
        config = self.config
        kafka_java = find_java(
            "Kafka", 17, "PIPELINE_KAFKA_JAVA_HOME", config.kafka_java_home, config.java_home
        )
        registry_java = find_java(
            "Apicurio Registry",
            21,
            "PIPELINE_REGISTRY_JAVA_HOME",
            config.registry_java_home,
            config.java_home,
        )

        ours: list[ManagedProcess] = []  # what this call started, to stop again if the stack fails
        try:
            stopped_nodes = [node for node in self.nodes if running[node.node_id] is None]
            if stopped_nodes:
                names = ", ".join(node.process.name for node in stopped_nodes)
                progress(f"starting Kafka {resolved.versions['kafka']} ({names}) on {self.bootstrap_servers}")
                self._record_layout()
            for node in stopped_nodes:
                ours.append(node.process)
                self._start_kafka(node, kafka_java, resolved.kafka_lib)
            if registry_pid is None:
                progress(f"starting Apicurio Registry {resolved.versions['apicurio']} on {self.registry_url}")
                ours.append(self.registry)
                self._start_registry(registry_java, resolved.registry_jar)
            timings.update(self._wait_all_ready(started))
        except BaseException:
            stopped = [proc.name for proc in reversed(ours) if proc.stop()]
            if stopped:
                progress(f"the stack did not come up: stopped {' and '.join(stopped)} again")
            raise
        timings["total"] = time.monotonic() - started
        progress(f"stack ready in {timings['total']:.1f} s")
        return timings

    def down(self, purge: bool = False) -> list[str]:
        """Stop the processes this state directory started (registry first). Returns their names."""
        stopped = [proc.name for proc in (self.registry, *self._every_node()) if proc.stop()]
        if purge:
            for home in [self.state_dir / "registry", *(node.home for node in self._all_nodes())]:
                shutil.rmtree(home, ignore_errors=True)
            self.layout_file.unlink(missing_ok=True)
        return stopped

    def env_exports(self) -> str:
        """Shell lines that point clients at this stack."""
        return (
            f"export KAFKA_BOOTSTRAP_SERVERS={self.bootstrap_servers}\n"
            f"export SCHEMA_REGISTRY_URL={self.registry_url}\n"
        )

    # -- internals ---------------------------------------------------------------------------

    def _all_nodes(self) -> list[KafkaNode]:
        """Every node this state directory may hold, whatever ``brokers`` this object was made with."""
        return [self._node(n) for n in range(1, max(self.brokers, self._held_brokers() or 1) + 1)]

    def _every_node(self) -> list[ManagedProcess]:
        return [node.process for node in reversed(self._all_nodes())]

    def _check_layout(self) -> None:
        formatted = (self.nodes[0].home / "data" / "meta.properties").exists()
        held = self._held_brokers() or (1 if formatted else None)
        if held is not None and held != self.brokers:
            raise ConfigError(
                f"the stack in {self.state_dir} holds a {held}-node Kafka cluster, not {self.brokers}; "
                f"start it with --brokers {held}, or remove its data first (pipeline stack down --purge) "
                "or choose another --state-dir"
            )

    def _record_layout(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.layout_file.write_text(json.dumps({"brokers": self.brokers}) + "\n")

    def _check_ports(self, component: str, *ports: int, grace: float = 5.0) -> None:
        # A process that has just died (ours, stopped a moment ago) can hold its port for a few more
        # milliseconds; only a port still taken after ``grace`` seconds belongs to someone else.
        deadline = time.monotonic() + grace
        for port in ports:
            while port_is_open(port):
                if time.monotonic() >= deadline:
                    raise PortInUseError(component, port)
                time.sleep(0.1)

    def _start_kafka(self, node: KafkaNode, java: Path, lib: Path) -> None:
        node.home.mkdir(parents=True, exist_ok=True)
        properties = node.home / "server.properties"
        voters = [(n.node_id, n.controller_port) for n in self.nodes]
        properties.write_text(kafka.server_properties(node.node_id, node.port, voters, node.home / "data"))
        log4j = node.home / "log4j2.properties"
        log4j.write_text(kafka.LOG4J2)
        cluster_id = kafka.cluster_id(self.nodes[0].home / "cluster.id")
        failure = kafka.ensure_formatted(java, lib, properties, cluster_id, node.process.log_file)
        if failure is not None:
            raise ComponentFailedError(
                node.process.name,
                "could not format its storage",
                str(node.process.log_file),
                log_tail(node.process.log_file),
            )
        heap = self.config.kafka_heap_mb
        node.process.start(
            kafka.broker_argv(java, lib, properties, log4j, node.process.marker, heap), cwd=node.home
        )

    def _start_registry(self, java: Path, jar: Path) -> None:
        home = self.state_dir / "registry"
        (home / "data").mkdir(parents=True, exist_ok=True)
        argv = registry.registry_argv(
            java,
            jar,
            self.config.registry_port,
            home / "data",
            self.registry.marker,
            self.config.registry_heap_mb,
        )
        self.registry.start(argv, cwd=home)

    def _wait_all_ready(self, started: float) -> dict[str, float]:
        """Wait for every component at once; the first to fail ends the wait (its error is raised)."""
        give_up = threading.Event()
        checks: dict[str, tuple[ManagedProcess, Callable[[], bool]]] = {
            node.process.name: (node.process, functools.partial(self.node_ready, node)) for node in self.nodes
        }
        checks["registry"] = (self.registry, self.registry_ready)
        with ThreadPoolExecutor(max_workers=len(checks)) as pool:
            waits = {
                name: pool.submit(self._wait_ready, proc, ready, started, give_up)
                for name, (proc, ready) in checks.items()
            }
            try:
                wait(waits.values(), return_when=FIRST_EXCEPTION)
            finally:
                give_up.set()
        for future in waits.values():
            error = future.exception()
            if error is not None:
                raise error
        return {name: future.result() for name, future in waits.items()}

    def _wait_ready(
        self, proc: ManagedProcess, ready: Callable[[], bool], started: float, give_up: threading.Event
    ) -> float:
        deadline = started + self.config.start_timeout
        while time.monotonic() < deadline and not give_up.is_set():
            if proc.pid() is None:
                raise ComponentFailedError(
                    proc.name, "exited during start", str(proc.log_file), log_tail(proc.log_file)
                )
            if ready():
                return time.monotonic() - started
            give_up.wait(0.25)
        if give_up.is_set():
            return time.monotonic() - started  # the other component failed: no verdict on this one
        proc.stop()
        raise ComponentFailedError(
            proc.name,
            f"did not become ready within {self.config.start_timeout:.0f} s (stopped it)",
            str(proc.log_file),
            log_tail(proc.log_file),
        )
