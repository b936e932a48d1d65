"""The command line's contract, for every subcommand and each class of bad input: bad arguments, missing
or garbage files, bad environment values, a Kafka cluster or registry that is unreachable or hung.

Each run must end within 45 s with the documented exit code (1 invalid input or a failed check, 2 usage,
configuration or a service unreachable), print no traceback, and name the thing that is wrong. The
commands run as a user runs them (a subprocess each), many at a time: most of the time is waiting.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipeline.cli import build_parser
from tests.conftest import StackHandle

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 45.0


@dataclass(frozen=True)
class Case:
    command: tuple[str, ...]
    kind: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    codes: tuple[int, ...] = (2,)
    names: tuple[str, ...] = ()  # the sentence must name one of these

    @property
    def id(self) -> str:
        return f"{' '.join(self.command)}: {self.kind}"


@dataclass(frozen=True)
class Outcome:
    code: int
    seconds: float
    out: str
    err: str


def leaf_commands() -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()

    def walk(parser: argparse.ArgumentParser, prefix: tuple[str, ...]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs and prefix:
            found.add(prefix)
        for action in subs:
            for name, child in action.choices.items():
                walk(child, (*prefix, name))

    walk(build_parser(), ())
    return found


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def hung_registry() -> Iterator[str]:
    """An HTTP endpoint that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/apis/ccompat/v7"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def build_cases(stack: StackHandle, work: Path, hung: str) -> list[Case]:
    schemas = work / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    garbage = work / "garbage"
    shutil.copytree(ROOT / "schemas", garbage)
    (garbage / "com.example.orders.Order.avsc").write_text('{"type": "record", "name": ')
    bad_toml = work / "bad-toml"
    shutil.copytree(ROOT / "schemas", bad_toml)
    (bad_toml / "catalog.toml").write_text("[topics.orders\nvalue = ")
    missing = work / "no-such-folder"
    order = str(schemas / "com.example.orders.Order.avsc")
    a_file = work / "a-file"
    a_file.write_text("")
    kafka = stack.settings.kafka.bootstrap_servers
    registry = stack.settings.registry.url
    closed = f"127.0.0.1:{_closed_port()}"
    live = {"KAFKA_BOOTSTRAP_SERVERS": kafka, "SCHEMA_REGISTRY_URL": registry}
    stack_args = ("--state-dir", str(work / "stack-state"), "--kafka-port", str(_closed_port()))
    stack_args += ("--controller-port", str(_closed_port()), "--registry-port", str(_closed_port()))

    S = "{schemas}"  # replaced per case
    commands: dict[tuple[str, ...], tuple[str, ...]] = {
        ("run",): ("run", "-n", "5", "--schemas", S),
        ("dlq", "inspect"): ("dlq", "inspect", "orders", "--schemas", S),
        ("dlq", "replay"): ("dlq", "replay", "orders", "--dry-run", "--schemas", S),
        ("generate",): ("generate", "--schemas", S, "--out", str(work / "generated")),
        ("stack", "up"): ("stack", "up", *stack_args),
        ("stack", "down"): ("stack", "down", *stack_args),
        ("stack", "status"): ("stack", "status", *stack_args),
        ("stack", "env"): ("stack", "env", *stack_args),
        ("schemas", "validate"): ("schemas", "validate", "--schemas", S),
        ("schemas", "check"): ("schemas", "check", "--against", "registry", "--schemas", S),
        ("schemas", "register"): ("schemas", "register", "--dry-run", "--schemas", S),
        ("bootstrap",): ("bootstrap", "--dry-run", "--schemas", S),
        ("compat",): ("compat", order, order, "--level", "BACKWARD", "--schemas", S),
        ("bench",): ("bench", "--count", "1000", "--batch", "100", "--repeat", "1", "--schemas", S),
        ("worker",): (
            "worker",
            "orders-to-activity",
            "--max-inputs",
            "1",
            "--idle-timeout",
            "3",
            "--schemas",
            S,
        ),
    }
    assert set(commands) == leaf_commands(), "every subcommand is in the contract"
    uses_schemas = {c for c, argv in commands.items() if S in argv}
    uses_kafka = {("run",), ("dlq", "inspect"), ("dlq", "replay"), ("bench",), ("worker",)}
    uses_registry = {
        ("run",), ("dlq", "replay"), ("schemas", "check"), ("schemas", "register"), ("bench",), ("worker",),
    }  # fmt: skip
    uses_settings = uses_kafka | uses_registry | {("bootstrap",)}

    def argv_of(command: tuple[str, ...], folder: Path) -> tuple[str, ...]:
        return tuple(str(folder) if part == S else part for part in commands[command])

    cases: list[Case] = []
    for command in commands:
        base = argv_of(command, schemas)
        cases.append(
            Case(command, "unknown option", (*base, "--no-such-option"), live, (2,), ("--no-such-option",))
        )
        if command in uses_schemas:
            for kind, folder, codes, names in (
                ("missing schema folder", missing, (1, 2), (str(missing),)),
                ("garbage schema file", garbage, (1,), ("com.example.orders.Order.avsc",)),
                ("garbage catalog.toml", bad_toml, (1,), ("catalog.toml",)),
            ):
                if command == ("compat",) and kind != "missing schema folder":
                    continue  # compat reads only the two files it is given (and named types on demand)
                cases.append(Case(command, kind, argv_of(command, folder), live, codes, names))
        if command in uses_settings:
            for kind, env, names in (
                (
                    "bad tuning value",
                    {"PIPELINE_PRODUCER_LINGER_MS": "soon"},
                    ("PIPELINE_PRODUCER_LINGER_MS",),
                ),
                ("unknown tuning key", {"PIPELINE_CONSUMER_NO_SUCH": "1"}, ("PIPELINE_CONSUMER_NO_SUCH",)),
                ("missing Kafka CA file", {"KAFKA_SSL_CA_LOCATION": str(missing / "ca.pem")}, ("ca.pem",)),
                (
                    "missing registry CA file",
                    {"SCHEMA_REGISTRY_CA_LOCATION": str(missing / "r.pem")},
                    ("r.pem",),
                ),
            ):
                cases.append(Case(command, kind, base, {**live, **env}, (2,), names))
        if command in uses_kafka:
            env = {**live, "KAFKA_BOOTSTRAP_SERVERS": closed}
            cases.append(Case(command, "Kafka unreachable", base, env, (2,), (closed, "Kafka")))
        if command in uses_registry:
            down = f"http://{closed}/apis/ccompat/v7"
            cases.append(
                Case(
                    command,
                    "registry unreachable",
                    base,
                    {**live, "SCHEMA_REGISTRY_URL": down},
                    (2,),
                    (down, "registry"),
                )
            )
            cases.append(
                Case(
                    command,
                    "registry hung",
                    base,
                    {**live, "SCHEMA_REGISTRY_URL": hung},
                    (2,),
                    (hung, "registry"),
                )
            )
    cases.append(
        Case(
            ("generate",),
            "output is a file",
            ("generate", "--schemas", str(schemas), "--out", str(a_file)),
            live,
            (2,),
            (str(a_file),),
        )
    )
    cases.append(
        Case(
            ("worker",),
            "undeclared pipeline",
            ("worker", "no-such-pipeline", "--schemas", str(schemas)),
            live,
            (2,),
            ("no-such-pipeline", "orders-to-activity"),
        )
    )
    cases.append(
        Case(
            ("bench",),
            "unknown schema",
            ("bench", "--schema", "orders,no-such-topic", "--schemas", str(schemas)),
            live,
            (2,),
            ("no-such-topic", "customer-activity"),
        )
    )
    cases.append(
        Case(
            ("stack", "status"),
            "state dir is a file",
            ("stack", "status", "--state-dir", str(a_file)),
            {},
            (1, 2),
            (str(a_file),),
        )
    )
    return cases


def _run(case: Case, log: Path) -> Outcome:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "SCHEMA_REGISTRY_", "PIPELINE_"))
    }
    env.update(case.env, PIPELINE_LOG_FILE=str(log), HYPOTHESIS_PROFILE="ci")
    begin = time.monotonic()
    try:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "pipeline"), *case.argv],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=LIMIT + 15,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        return Outcome(-1, time.monotonic() - begin, str(exc.stdout), str(exc.stderr))
    return Outcome(done.returncode, time.monotonic() - begin, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def outcomes(
    stack: StackHandle, tmp_path_factory: pytest.TempPathFactory, hung_registry: str
) -> dict[str, tuple[Case, Outcome]]:
    work = tmp_path_factory.mktemp("contract")
    _bootstrap_with_a_dead_letter(stack)
    cases = build_cases(stack, work, hung_registry)
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda c: _run(c, work / "pipeline.log"), cases))
    return {case.id: (case, outcome) for case, outcome in zip(cases, results, strict=True)}


def _bootstrap_with_a_dead_letter(stack: StackHandle) -> None:
    """The shipped catalog's topics, and a producer-side dead letter in orders.dlq: so the DLQ commands
    get as far as needing the registry, whatever ran on this stack before."""
    from confluent_kafka.admin import AdminClient

    from pipeline.config import librdkafka_config
    from pipeline.generated import orders
    from pipeline.kafka.topics import ensure_topics
    from pipeline.registry.client import RegistryClient
    from pipeline.registry.register import register_schemas
    from pipeline.schema import load_catalog

    catalog = load_catalog(ROOT / "schemas")
    with RegistryClient(stack.settings.registry) as registry:
        assert register_schemas(catalog, registry).ok
    assert ensure_topics(catalog, AdminClient(librdkafka_config(stack.settings.kafka))).ok
    with orders.open_orders_producer(stack.settings) as producer:
        assert not producer.send({"order_id": 7}, key="contract").accepted  # not an Order: dead-lettered


def test_every_command_keeps_the_contract(outcomes: dict[str, tuple[Case, Outcome]]) -> None:
    broken = []
    for name, (case, outcome) in sorted(outcomes.items()):
        text = outcome.out + outcome.err
        why = []
        if outcome.code not in case.codes:
            why.append(f"exit {outcome.code}, expected {case.codes}")
        if "Traceback" in text:
            why.append("a traceback")
        if outcome.seconds > LIMIT:
            why.append(f"took {outcome.seconds:.0f} s")
        if case.names and not any(n in outcome.err for n in case.names):
            why.append(f"does not name {case.names}")
        if why:
            last = outcome.err.strip().splitlines()[-1:] or [""]
            broken.append(f"{name}: {', '.join(why)} | {last[0][:300]}")
    assert not broken, "\n".join(broken)
