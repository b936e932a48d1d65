"""The embedded stack: a KRaft Kafka node and Apicurio Registry as local processes under one state
directory, started, reused, reported on and stopped by us alone."""

from __future__ import annotations

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
from pipeline.errors import ComponentFailedError, PortInUseError
from pipeline.stack import artifacts, kafka, registry
from pipeline.stack.java import find_java
from pipeline.stack.process import ManagedProcess, log_tail, port_is_open

__all__ = ["ComponentStatus", "EmbeddedStack", "bootstrap_servers", "registry_url"]


def bootstrap_servers(settings: StackSettings) -> str:
    return f"127.0.0.1:{settings.kafka_port}"


def registry_url(settings: StackSettings) -> str:
    return f"http://127.0.0.1:{settings.registry_port}{registry.CCOMPAT_PATH}"


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    ready: bool
    address: str
    log_file: Path

    @property
    def state(self) -> str:
        if self.pid is None:
            return "stopped"
        return "ready" if self.ready else "running, not ready"


class EmbeddedStack:
    """Start, reuse, inspect and stop the embedded Kafka + Apicurio Registry.

    ``up`` is idempotent: a healthy stack started from the same state directory is reused. ``down``
    stops only the processes this state directory started and keeps their data unless ``purge``.
    """

    def __init__(self, config: StackSettings | None = None) -> None:
        self.config = config or load_stack_settings()
        self.bootstrap_servers = bootstrap_servers(self.config)
        self.registry_url = registry_url(self.config)
        state = self.config.state_dir.resolve()
        self.state_dir = state
        self.kafka = ManagedProcess(
            "kafka", state / "kafka" / "kafka.pid", state / "kafka" / "kafka.log",
            f"-Dpipeline.stack={state / 'kafka'}",
        )  # fmt: skip
        self.registry = ManagedProcess(
            "registry", state / "registry" / "registry.pid", state / "registry" / "registry.log",
            f"-Dpipeline.stack={state / 'registry'}",
        )  # fmt: skip

    # -- health ------------------------------------------------------------------------------

    def kafka_ready(self, timeout: float = 2.0) -> bool:
        """The broker answers a metadata request."""
        if not port_is_open(self.config.kafka_port):
            return False
        client = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
        try:
            metadata = client.list_topics(timeout=timeout)
        except Exception:
            return False
        return bool(metadata.brokers) and metadata.controller_id >= 0

    def registry_ready(self, timeout: float = 2.0) -> bool:
        """The registry answers ``GET .../subjects``."""
        if not port_is_open(self.config.registry_port):
            return False
        try:
            return httpx.get(f"{self.registry_url}/subjects", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def status(self) -> list[ComponentStatus]:
        kafka_pid, registry_pid = self.kafka.pid(), self.registry.pid()
        return [
            ComponentStatus(
                "kafka", kafka_pid, kafka_pid is not None and self.kafka_ready(),
                self.bootstrap_servers, self.kafka.log_file,
            ),
            ComponentStatus(
                "registry", registry_pid, registry_pid is not None and self.registry_ready(),
                self.registry_url, self.registry.log_file,
            ),
        ]  # fmt: skip

    # -- lifecycle ---------------------------------------------------------------------------

    def up(self, progress: Callable[[str], None] = lambda _msg: None) -> dict[str, float]:
        """Make both components run and answer. Returns seconds spent per phase. When a component
        fails to start, whatever this call started is stopped before the error is raised.

        Raises ConfigError (two components on one port), ToolMissingError, ArtifactError,
        PortInUseError or ComponentFailedError.
        """
        check_stack_ports(self.config)
        started = time.monotonic()
        timings: dict[str, float] = {}
        kafka_pid, registry_pid = self.kafka.pid(), self.registry.pid()
        if kafka_pid and registry_pid and self.kafka_ready() and self.registry_ready():
            progress(f"reusing the running stack in {self.state_dir}")
            return {"total": time.monotonic() - started}

        if kafka_pid is None:
            self._check_ports("kafka", self.config.kafka_port, self.config.controller_port)
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
            if kafka_pid is None:
                progress(f"starting Kafka {resolved.versions['kafka']} on {self.bootstrap_servers}")
                ours.append(self.kafka)
                self._start_kafka(kafka_java, resolved.kafka_lib)
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
        (self.state_dir / "stack.json").write_text(
            json.dumps({"bootstrap_servers": self.bootstrap_servers, "registry_url": self.registry_url})
        )
        timings["total"] = time.monotonic() - started
        progress(f"stack ready in {timings['total']:.1f} s")
        return timings

    def down(self, purge: bool = False) -> list[str]:
        """Stop the processes this state directory started (registry first). Returns their names."""
        stopped = [proc.name for proc in (self.registry, self.kafka) if proc.stop()]
        if purge:
            for component in ("kafka", "registry"):
                shutil.rmtree(self.state_dir / component, ignore_errors=True)
            (self.state_dir / "stack.json").unlink(missing_ok=True)
        return stopped

    def env_exports(self) -> str:
        """Shell lines that point clients at this stack."""
        return (
            f"export KAFKA_BOOTSTRAP_SERVERS={self.bootstrap_servers}\n"
            f"export SCHEMA_REGISTRY_URL={self.registry_url}\n"
        )

    # -- internals ---------------------------------------------------------------------------

    def _check_ports(self, component: str, *ports: int, grace: float = 5.0) -> None:
        # A process that has just died (ours, stopped a moment ago) can hold its port for a few more
        # milliseconds; only a port still taken after ``grace`` seconds belongs to someone else.
        deadline = time.monotonic() + grace
        for port in ports:
            while port_is_open(port):
                if time.monotonic() >= deadline:
                    raise PortInUseError(component, port)
                time.sleep(0.1)

    def _start_kafka(self, java: Path, lib: Path) -> None:
        home = self.state_dir / "kafka"
        data = home / "data"
        home.mkdir(parents=True, exist_ok=True)
        properties = home / "server.properties"
        properties.write_text(
            kafka.server_properties(self.config.kafka_port, self.config.controller_port, data)
        )
        log4j = home / "log4j2.properties"
        log4j.write_text(kafka.LOG4J2)
        failure = kafka.ensure_formatted(java, lib, properties, home, self.kafka.log_file)
        if failure is not None:
            raise ComponentFailedError(
                "kafka",
                "could not format its storage",
                str(self.kafka.log_file),
                log_tail(self.kafka.log_file),
            )
        self.kafka.start(
            kafka.broker_argv(java, lib, properties, log4j, self.kafka.marker, self.config.kafka_heap_mb),
            cwd=home,
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
        """Wait for both components at once; the first to fail ends the wait (its error is raised)."""
        give_up = threading.Event()
        with ThreadPoolExecutor(max_workers=2) as pool:
            waits = {
                "kafka": pool.submit(self._wait_ready, self.kafka, self.kafka_ready, started, give_up),
                "registry": pool.submit(
                    self._wait_ready, self.registry, self.registry_ready, started, give_up
                ),
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
