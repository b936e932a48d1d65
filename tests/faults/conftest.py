"""The fault suite's own stack: a second embedded Kafka + registry on free ports in a temporary state
directory, started once per session and deleted at the end. The shared stack other tests use (9092/8081)
is never touched. Scenarios that stop the broker or the registry bring it back themselves; every test
also starts from a healthy stack (``up`` is a no-op when it is)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from pipeline.stack import EmbeddedStack
from tests.faults.support import REPO_ROOT, FaultSizes, FaultStack, stack_config


@pytest.fixture(scope="session")
def sizes() -> FaultSizes:
    return FaultSizes.from_env()


@pytest.fixture(scope="session")
def fault_stack(tmp_path_factory: pytest.TempPathFactory, sizes: FaultSizes) -> Iterator[FaultStack]:
    stack = EmbeddedStack(stack_config(tmp_path_factory.mktemp("fault-stack")))
    try:
        stack.up()
        yield FaultStack(stack, sizes)
    finally:
        stack.down(purge=True)


@pytest.fixture(autouse=True)
def _healthy_stack(fault_stack: FaultStack) -> Iterator[None]:
    """Each scenario starts on a healthy stack and leaves one, whatever it stopped and however it ended."""
    fault_stack.restore()
    yield
    fault_stack.restore()


@pytest.fixture(scope="session")
def catalog(fault_stack: FaultStack) -> FaultStack:
    """The shipped catalog registered and its topics created on the fault stack (`pipeline bootstrap`)."""
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "bootstrap"],
        cwd=REPO_ROOT,
        env=fault_stack.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"bootstrap failed:\n{result.stdout}\n{result.stderr}"
    return fault_stack
