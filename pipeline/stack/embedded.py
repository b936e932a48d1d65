"""The embedded stack: a KRaft Kafka node and Apicurio Registry as local processes under one state
directory, started, reused, reported on and stopped by us alone."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
from confluent_kafka.admin import AdminClient

from pipeline.errors import ComponentFailedError, ConfigError, PortInUseError
from pipeline.stack import artifacts, kafka, registry
from pipeline.stack.java import find_java
from pipeline.stack.process import ManagedProcess, log_tail, port_is_open

__all__ = ["ComponentStatus", "EmbeddedStack", "StackConfig"]


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from exc


@dataclass(frozen=True)
class StackConfig:
    """Where the embedded stack keeps its state and which ports it listens on (all on 127.0.0.1)."""

    state_dir: Path = Path(".stack")
    cache_dir: Path = field(default_factory=artifacts.default_cache_dir)
    kafka_port: int = 9092
    controller_port: int = 9093
    registry_port: int = 8081
    kafka_heap_mb: int = 768
    registry_heap_mb: int = 512
    start_timeout: float = 120.0

    @classmethod
    def from_env(cls, **overrides: object) -> StackConfig:
        """Defaults overridden by PIPELINE_STACK_DIR, PIPELINE_KAFKA_PORT, PIPELINE_CONTROLLER_PORT,
        PIPELINE_REGISTRY_PORT, then by ``overrides`` (None values ignored)."""
        kafka_port = _int_env("PIPELINE_KAFKA_PORT", 9092)
        config = cls(
            state_dir=Path(os.environ.get("PIPELINE_STACK_DIR") or ".stack"),
            kafka_port=kafka_port,
            controller_port=_int_env("PIPELINE_CONTROLLER_PORT", kafka_port + 1),
            registry_port=_int_env("PIPELINE_REGISTRY_PORT", 8081),
        )
        return replace(config, **{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def registry_url(self) -> str:
        return f"http://127.0.0.1:{self.registry_port}{registry.CCOMPAT_PATH}"


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

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig.from_env()
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
        client = AdminClient({"bootstrap.servers": self.config.bootstrap_servers, "log_level": 0})
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
            return httpx.get(f"{self.config.registry_url}/subjects", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def status(self) -> list[ComponentStatus]:
        kafka_pid, registry_pid = self.kafka.pid(), self.registry.pid()
        return [
            ComponentStatus(
                "kafka", kafka_pid, kafka_pid is not None and self.kafka_ready(),
                self.config.bootstrap_servers, self.kafka.log_file,
            ),
            ComponentStatus(
                "registry", registry_pid, registry_pid is not None and self.registry_ready(),
                self.config.registry_url, self.registry.log_file,
            ),
        ]  # fmt: skip

    # -- lifecycle ---------------------------------------------------------------------------

    def up(self, progress: Callable[[str], None] = lambda _msg: None) -> dict[str, float]:
        """Make both components run and answer. Returns seconds spent per phase.

        Raises ToolMissingError, ArtifactError, PortInUseError or ComponentFailedError.
        """
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
        kafka_java = find_java("Kafka", 17, "PIPELINE_KAFKA_JAVA_HOME")
        registry_java = find_java("Apicurio Registry", 21, "PIPELINE_REGISTRY_JAVA_HOME")

        if kafka_pid is None:
            progress(f"starting Kafka {resolved.versions['kafka']} on {self.config.bootstrap_servers}")
            self._start_kafka(kafka_java, resolved.kafka_lib)
        if registry_pid is None:
            progress(
                f"starting Apicurio Registry {resolved.versions['apicurio']} on {self.config.registry_url}"
            )
            self._start_registry(registry_java, resolved.registry_jar)

        with ThreadPoolExecutor(max_workers=2) as pool:
            waits = [
                pool.submit(self._wait_ready, self.kafka, self.kafka_ready, started),
                pool.submit(self._wait_ready, self.registry, self.registry_ready, started),
            ]
            for name, future in zip(("kafka", "registry"), waits, strict=True):
                timings[name] = future.result()
        (self.state_dir / "stack.json").write_text(
            json.dumps(
                {"bootstrap_servers": self.config.bootstrap_servers, "registry_url": self.config.registry_url}
            )
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
            f"export KAFKA_BOOTSTRAP_SERVERS={self.config.bootstrap_servers}\n"
            f"export SCHEMA_REGISTRY_URL={self.config.registry_url}\n"
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

    def _wait_ready(self, proc: ManagedProcess, ready: Callable[[], bool], started: float) -> float:
        deadline = started + self.config.start_timeout
        while time.monotonic() < deadline:
            if proc.pid() is None:
                raise ComponentFailedError(
                    proc.name, "exited during start", str(proc.log_file), log_tail(proc.log_file)
                )
            if ready():
                return time.monotonic() - started
            time.sleep(0.25)
        proc.stop()
        raise ComponentFailedError(
            proc.name,
            f"did not become ready within {self.config.start_timeout:.0f} s (stopped it)",
            str(proc.log_file),
            log_tail(proc.log_file),
        )
