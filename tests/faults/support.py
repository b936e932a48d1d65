"""What every fault scenario shares: its sizes (quick or full), its own embedded stack, the event schema
with unique ids and sequence numbers, exact reads of a topic, and the results file the report reads.

Sizes come from the environment, so the same code runs the quick subset in CI and the full run:

| variable | quick | full | meaning |
|---|---|---|---|
| FAULT_PROFILE | quick | full | picks the defaults below |
| FAULT_MESSAGES | 5000 | 100000 | messages in the consumer-kill and broker-restart scenarios |
| FAULT_KILLS | 3 | 20 | kill -9 cycles of the consumer |
| FAULT_OUTAGE_SECONDS | 5 | 30 | how long the registry is down |
| FAULT_POISON | 1000 | 1000 | poison messages in the fuzz (twice as many good ones around them) |
| FAULT_BROKER_DOWN_SECONDS | 2 | 10 | how long the broker stays down at each restart |
| (broker restarts) | kill | stop, kill | SIGKILL only; a clean SIGTERM stop, then a SIGKILL |
| FAULT_MEMBERS_CHANGES | 10 | 30 | joins and leaves (SIGTERM) of group members; a tenth as many kill -9 |
| FAULT_TRANSFORM_INPUTS | 5000 | 50000 | inputs in the transform-kill scenario (each mode) |
| FAULT_TRANSFORM_KILLS | 4 | 12 | kill -9 cycles of the transform worker (each mode), half at a commit |
| FAULT_SEED | 7 | 7 | seeds every random choice (kill moments, mutations) |
| FAULT_RESULTS | build/fault-results.jsonl | same | where each scenario appends its figures |
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, Message, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from pipeline.config import Settings, StackSettings, librdkafka_config, load_settings, registry_client_config
from pipeline.kafka.binding import SchemaBinding, TopicBinding, registry_client
from pipeline.registry.serde import AvroDecoder, SchemaResolver
from pipeline.stack import EmbeddedStack

REPO_ROOT = Path(__file__).resolve().parents[2]

_EVENT = {
    "type": "record",
    "name": "FaultEvent",
    "namespace": "test.faults",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "seq", "type": "long"},
        {"name": "payload", "type": "bytes", "default": ""},
    ],
}
EVENT_SCHEMA = json.dumps(_EVENT, separators=(",", ":"))

# The same record with one more field (a default keeps it BACKWARD-compatible): a second schema id.
EVENT_SCHEMA_V2 = json.dumps(
    {**_EVENT, "fields": [*_EVENT["fields"], {"name": "origin", "type": "string", "default": "v1"}]},
    separators=(",", ":"),
)


def event(seq: int, tag: str = "m") -> dict[str, Any]:
    """The event with sequence number ``seq``; its id is unique within the run ``tag``."""
    return {"id": f"{tag}-{seq}", "seq": seq, "payload": seq.to_bytes(4, "big")}


# -- sizes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultSizes:
    """How big each scenario is. ``quick`` is CI's subset; ``full`` is the documented run."""

    profile: str
    messages: int
    kills: int
    outage_seconds: float
    poison: int
    broker_down_seconds: float
    broker_restarts: tuple[str, ...]  # each "stop" (SIGTERM, clean shutdown) or "kill" (SIGKILL)
    seed: int
    members_changes: int
    transform_inputs: int
    transform_kills: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FaultSizes:
        """The profile named by FAULT_PROFILE (quick by default), each size overridable on its own."""
        env = os.environ if env is None else env
        profile = env.get("FAULT_PROFILE", "quick") or "quick"
        defaults = _PROFILES.get(profile)
        if defaults is None:
            raise ValueError(f"FAULT_PROFILE={profile!r}; expected one of {sorted(_PROFILES)}")

        def number(name: str, default: float) -> float:
            raw = env.get(name, "")
            try:
                return float(raw) if raw else default
            except ValueError as exc:
                raise ValueError(f"{name}={raw!r} is not a number") from exc

        return cls(
            profile=profile,
            messages=int(number("FAULT_MESSAGES", defaults.messages)),
            kills=int(number("FAULT_KILLS", defaults.kills)),
            outage_seconds=number("FAULT_OUTAGE_SECONDS", defaults.outage_seconds),
            poison=int(number("FAULT_POISON", defaults.poison)),
            broker_down_seconds=number("FAULT_BROKER_DOWN_SECONDS", defaults.broker_down_seconds),
            broker_restarts=defaults.broker_restarts,
            seed=int(number("FAULT_SEED", defaults.seed)),
            members_changes=int(number("FAULT_MEMBERS_CHANGES", defaults.members_changes)),
            transform_inputs=int(number("FAULT_TRANSFORM_INPUTS", defaults.transform_inputs)),
            transform_kills=int(number("FAULT_TRANSFORM_KILLS", defaults.transform_kills)),
        )


_PROFILES = {
    "quick": FaultSizes("quick", 5_000, 3, 5.0, 1_000, 2.0, ("kill",), 7, 10, 5_000, 4),
    "full": FaultSizes("full", 100_000, 20, 30.0, 1_000, 10.0, ("stop", "kill"), 7, 30, 50_000, 12),
}


# -- the scenario's own stack ----------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 right now."""
    with ExitStack() as held:
        socks = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def stack_config(state_dir: Path) -> StackSettings:
    """A second stack on free ports with small heaps, so the shared one on 9092/8081 is never touched."""
    kafka_port, controller_port, registry_port = free_ports(3)
    return StackSettings(
        state_dir=state_dir,
        kafka_port=kafka_port,
        controller_port=controller_port,
        registry_port=registry_port,
        kafka_heap_mb=512,
        registry_heap_mb=384,
    )


@dataclass
class FaultStack:
    """A private embedded stack plus helpers for unique topics, subjects and exact reads."""

    stack: EmbeddedStack
    sizes: FaultSizes
    settings: Settings = field(init=False)

    def __post_init__(self) -> None:
        self.settings = load_settings(self.env_overrides())

    def env_overrides(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.stack.bootstrap_servers,
            "SCHEMA_REGISTRY_URL": self.stack.registry_url,
        }

    def subprocess_env(self) -> dict[str, str]:
        """The environment for a child process (a worker, the CLI) that must talk to this stack."""
        return {**os.environ, **self.env_overrides()}

    def kafka_config(self, **extra: Any) -> dict[str, Any]:
        return {**librdkafka_config(self.settings.kafka), **extra}

    def registry_client(self) -> SchemaRegistryClient:
        return SchemaRegistryClient(registry_client_config(self.settings.registry))

    @staticmethod
    def unique(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    def create_topic(self, name: str, partitions: int) -> str:
        admin = AdminClient(self.kafka_config())
        # -1: the broker's default (1 on one node, 3 on the three-node cluster)
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=-1)])[name].result(
            30
        )
        return name

    def event_binding(self, prefix: str, partitions: int = 3) -> TopicBinding:
        """A fresh topic and DLQ topic, the event schema registered under ``<topic>-value``."""
        topic = self.create_topic(self.unique(prefix), partitions)
        dlq = self.create_topic(f"{topic}.dlq", 1)
        subject = f"{topic}-value"
        self.registry_client().register_schema(subject, Schema(EVENT_SCHEMA, "AVRO"))
        return TopicBinding(topic=topic, value=SchemaBinding(subject, EVENT_SCHEMA), dlq_topic=dlq)

    def restore(self) -> None:
        """Bring back whatever a scenario stopped (``up`` reuses what still runs)."""
        self.stack.up()

    def registry_snapshot(self) -> dict[str, Any]:
        """Every subject with its versions (id and text) and compatibility level, plus the global level."""
        base = self.settings.registry.url
        with httpx.Client(base_url=base + "/", timeout=10) as http:
            snapshot: dict[str, Any] = {"global": http.get("config").json()}
            for subject in sorted(http.get("subjects").json()):
                versions = []
                for version in http.get(f"subjects/{subject}/versions").json():
                    body = http.get(f"subjects/{subject}/versions/{version}").json()
                    versions.append((version, body.get("id"), body.get("schema"), body.get("references")))
                level = http.get(f"config/{subject}")
                snapshot[subject] = {
                    "versions": versions,
                    "level": level.json() if level.status_code == 200 else None,
                }
        return snapshot


# -- exact reads -------------------------------------------------------------------------------------


def end_offsets(fault_stack: FaultStack, topic: str) -> dict[int, int]:
    """The high watermark of every partition of ``topic``."""
    consumer = Consumer(fault_stack.kafka_config(**{"group.id": fault_stack.unique("watermarks")}))
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = sorted(metadata.topics[topic].partitions)
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
            for p in partitions
        }
    finally:
        consumer.close()


def read_topic(fault_stack: FaultStack, topic: str, timeout: float = 120.0) -> list[Message]:
    """Every message in ``topic`` right now: each partition read from its start to its high watermark."""
    ends = end_offsets(fault_stack, topic)
    consumer = Consumer(
        fault_stack.kafka_config(**{"group.id": fault_stack.unique("reader"), "enable.auto.commit": False})
    )
    consumer.assign([TopicPartition(topic, p, 0) for p, end in ends.items() if end > 0])
    remaining = {p for p, end in ends.items() if end > 0}
    got: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while remaining and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.5):
                if msg.error() is not None:
                    continue
                got.append(msg)
                partition, offset = int(msg.partition() or 0), int(msg.offset() or 0)
                if offset + 1 >= ends[partition]:
                    remaining.discard(partition)
    finally:
        consumer.close()
    if remaining:
        raise AssertionError(f"{topic}: partitions {sorted(remaining)} not read to their end in {timeout} s")
    return got


def committed_offsets(fault_stack: FaultStack, group: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer(fault_stack.kafka_config(**{"group.id": group}))
    try:
        offsets = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    finally:
        consumer.close()
    return {tp.partition: max(0, tp.offset) for tp in offsets}


# -- results -----------------------------------------------------------------------------------------


def results_path() -> Path:
    return Path(os.environ.get("FAULT_RESULTS") or REPO_ROOT / "build" / "fault-results.jsonl")


def record_result(scenario: str, sizes: FaultSizes, **figures: Any) -> None:
    """Append one scenario's figures to the results file (before its assertions, so a failing run is
    reported too)."""
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {"scenario": scenario, "profile": sizes.profile, "seed": sizes.seed, **figures}
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(row, sort_keys=True) + "\n")


def event_decoder(fault_stack: FaultStack, binding: TopicBinding) -> AvroDecoder:
    """A decoder for the binding's topic with its own registry client and caches."""
    return AvroDecoder(SchemaResolver(registry_client(fault_stack.settings)), binding.value.parsed())
