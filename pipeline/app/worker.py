"""``pipeline worker``: a declared pipeline (``[pipelines.<name>]`` in the catalog) run as a long-running
service. One worker is one TransformLoop in this process; ``--workers N`` starts N such processes in the
pipeline's group, each its own transactional slot, and stops them all on SIGTERM or Ctrl-C.

Each worker serves ``/metrics`` (Prometheus), ``/healthz`` (alive: its loop runs) and ``/readyz`` (ready:
it has joined the group and owns partitions) on its metrics port (``--metrics-port`` + its instance)."""

from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from pipeline.app.handlers import load_handler
from pipeline.app.run import group_lag, load_generated
from pipeline.codegen import module_name
from pipeline.config import Settings
from pipeline.kafka.binding import TopicBinding
from pipeline.kafka.transform import TransformLoop, TransformStats
from pipeline.schema import Catalog, PipelineSpec

__all__ = ["WorkerStatus", "bindings", "lag_of", "open_worker", "report_line", "serve_status"]


class WorkerStatus:
    """What a worker's endpoints report: Prometheus counters and its liveness and readiness."""

    def __init__(self, name: str, instance: int, ready: Callable[[], bool] = lambda: False) -> None:
        self.registry = CollectorRegistry()
        labels = {"pipeline": name, "instance": str(instance)}
        self._labels = labels
        self.inputs = Counter(
            "pipeline_transform_inputs", "Inputs read", list(labels), registry=self.registry
        )
        self.outputs = Counter(
            "pipeline_transform_outputs", "Outputs written", list(labels), registry=self.registry
        )
        self.dead_lettered = Counter(
            "pipeline_transform_dead_lettered",
            "Inputs and outputs dead-lettered",
            list(labels),
            registry=self.registry,
        )
        self.aborted = Counter(
            "pipeline_transform_aborted_transactions",
            "Transactions aborted",
            list(labels),
            registry=self.registry,
        )
        self.lag = Gauge(
            "pipeline_transform_lag", "Inputs not yet read by the group", list(labels), registry=self.registry
        )
        self.alive = False
        self.is_ready = ready
        self._seen = TransformStats()
        self.update(self._seen)  # every series exists from the start, at 0

    def update(self, stats: TransformStats) -> None:
        self.inputs.labels(**self._labels).inc(stats.consumed - self._seen.consumed)
        self.outputs.labels(**self._labels).inc(stats.outputs - self._seen.outputs)
        dead = stats.dead_lettered_inputs + stats.dead_lettered_outputs
        self.dead_lettered.labels(**self._labels).inc(
            dead - self._seen.dead_lettered_inputs - self._seen.dead_lettered_outputs
        )
        self.aborted.labels(**self._labels).inc(stats.aborted - self._seen.aborted)
        self._seen = TransformStats(**vars(stats))


def serve_status(status: WorkerStatus, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` for ``status`` from a daemon thread."""

    class Endpoints(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/metrics"):
                body, code = generate_latest(status.registry), 200
            elif self.path.startswith("/healthz"):
                body, code = (b"alive\n", 200) if status.alive else (b"stopped\n", 503)
            elif self.path.startswith("/readyz"):
                ready = status.alive and status.is_ready()
                body, code = (b"ready\n", 200) if ready else (b"not ready: no partitions assigned yet\n", 503)
            else:
                body, code = b"see /metrics, /healthz, /readyz\n", 404
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, port), Endpoints)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def bindings(catalog: Catalog, spec: PipelineSpec) -> tuple[TopicBinding, TopicBinding | None]:
    """The input's and output's bindings, from the catalog's typed modules generated now."""
    workdir = Path(tempfile.mkdtemp(prefix="pipeline-worker-"))
    package = load_generated(catalog, workdir, f"worker-{uuid.uuid4().hex[:8]}")
    source: TopicBinding = getattr(package, module_name(spec.input)).BINDING
    sink: TopicBinding | None = getattr(package, module_name(spec.output)).BINDING if spec.output else None
    return source, sink


def open_worker(settings: Settings, catalog: Catalog, name: str, instance: int = 0) -> TransformLoop:
    """One worker of the declared pipeline ``name`` (KeyError naming the declared ones if there is none;
    ConfigError for a handler that cannot serve it)."""
    spec = catalog.pipeline(name)
    output_types = catalog.topic(spec.output).values if spec.output else ()
    handler = load_handler(spec, tuple(subject.full_name for subject in output_types))
    source, sink = bindings(catalog, spec)
    return TransformLoop(
        settings,
        spec.name,
        source,
        sink,
        handler,
        group=spec.group,
        exactly_once=spec.exactly_once,
        batch=spec.batch,
        instance=instance,
    )


def report_line(name: str, instance: int, stats: TransformStats, lag: int | None) -> str:
    return json.dumps(
        {
            "pipeline": name,
            "instance": instance,
            "inputs": stats.consumed,
            "outputs": stats.outputs,
            "dlq": stats.dead_lettered_inputs + stats.dead_lettered_outputs,
            "aborted": stats.aborted,
            "lag": lag,
            "at": round(time.time(), 1),
        }
    )


def lag_of(settings: Settings, spec: PipelineSpec) -> int | None:
    try:
        return group_lag(settings, spec.group, spec.input)
    except Exception:
        return None
