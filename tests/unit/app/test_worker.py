"""``pipeline worker``'s checks before anything starts: the handler imports, is a function, and is not
annotated to return a type its output topic does not take; and the status endpoints."""

from __future__ import annotations

import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipeline.app.handlers import load_handler
from pipeline.app.worker import WorkerStatus, serve_status
from pipeline.errors import ConfigError
from pipeline.kafka.transform import TransformStats
from pipeline.schema import PipelineSpec
from tests.faults.support import free_ports

ACTIVITY = "com.example.activity.CustomerActivity"


def _spec(handler: str, output: str | None = "customer-activity") -> PipelineSpec:
    return PipelineSpec("p", "orders", output, handler, "g")


@pytest.fixture
def handlers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module of handlers, importable as ``handlers_for_test``."""
    (tmp_path / "handlers_for_test.py").write_text(
        textwrap.dedent(
            """
            from pipeline.generated.types import CustomerActivity, Order

            def activity(order: Order) -> tuple[str, CustomerActivity]: ...
            def activities(order: Order) -> list[CustomerActivity] | None: ...
            def echo(order: Order) -> Order: ...
            def untyped(order): ...
            not_a_function = 3
            """
        )
    )
    (tmp_path / "broken_handlers.py").write_text("raise RuntimeError('no database here')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "handlers_for_test"


@pytest.mark.parametrize("function", ["activity", "activities", "untyped"])
def test_a_handler_that_fits_its_output_is_loaded(handlers: str, function: str) -> None:
    assert callable(load_handler(_spec(f"{handlers}:{function}"), (ACTIVITY,)))


@pytest.mark.parametrize(
    ("handler", "output_types", "message"),
    [
        ("no_such_module_xyz:f", (ACTIVITY,), "pipeline p: handler 'no_such_module_xyz:f' does not import: "
         "ModuleNotFoundError"),
        ("broken_handlers:f", (ACTIVITY,), "does not import: RuntimeError: no database here"),
        ("handlers_for_test:missing", (ACTIVITY,), "module handlers_for_test has no function missing"),
        ("handlers_for_test:not_a_function", (ACTIVITY,), "has no function not_a_function"),
        ("handlers_for_test:echo", (ACTIVITY,),
         f"returns com.example.orders.Order, but its output topic takes {ACTIVITY}"),
        ("handlers_for_test:activity", (), f"returns {ACTIVITY}, but the pipeline has no output topic"),
    ],
)  # fmt: skip
def test_a_handler_that_cannot_serve_is_refused_in_one_sentence(
    handlers: str, handler: str, output_types: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_handler(_spec(handler), output_types)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_status_endpoints_say_alive_ready_and_count() -> None:
    assigned: list[int] = []
    status = WorkerStatus("p", 0, ready=lambda: bool(assigned))
    (port,) = free_ports(1)
    server = serve_status(status, port)

    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    try:
        assert get("/healthz")[0] == 503 and get("/readyz")[0] == 503
        status.alive = True
        assert get("/healthz") == (200, "alive\n")
        assert get("/readyz")[0] == 503, "alive, but no partitions yet"
        assigned.append(0)
        assert get("/readyz") == (200, "ready\n")
        status.update(TransformStats(consumed=7, outputs=6, dead_lettered_inputs=1))
        metrics = get("/metrics")[1]
        assert 'pipeline_transform_inputs_total{instance="0",pipeline="p"} 7.0' in metrics
        assert 'pipeline_transform_outputs_total{instance="0",pipeline="p"} 6.0' in metrics
        assert 'pipeline_transform_dead_lettered_total{instance="0",pipeline="p"} 1.0' in metrics
        assert get("/other")[0] == 404
    finally:
        server.shutdown()
