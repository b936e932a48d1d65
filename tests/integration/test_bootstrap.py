"""The registration bootstrap on the real stack (embedded Kafka + Apicurio, or the cluster named in the
environment). Each test registers its own copy of the shipped catalog, with every namespace and topic
renamed so that no subject or topic collides with another test's or with the real catalog's."""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema, SchemaReference
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from pipeline.cli import main
from pipeline.compat import Level
from pipeline.config import serde_config
from pipeline.errors import ClusterUnavailableError, ConfigError
from pipeline.kafka.topics import TopicStatus, ensure_topics
from pipeline.registry.client import RegistryClient
from pipeline.registry.register import RegistrationReport, Status, register_schemas
from pipeline.schema import Catalog, load_catalog
from tests.conftest import StackHandle

pytestmark = pytest.mark.integration

SHIPPED = Path(__file__).resolve().parents[2] / "schemas"
MONEY, PAYMENT = "com.example.common.Money", "com.example.payments.PaymentEvent"


@dataclass
class CatalogCopy:
    """The shipped catalog under ``root``, namespaces prefixed with ``prefix.`` and topics suffixed."""

    root: Path
    prefix: str
    suffix: str

    def type(self, shipped: str) -> str:
        return f"{self.prefix}.{shipped}"

    def topic(self, shipped: str) -> str:
        return f"{shipped}-{self.suffix}"

    def load(self) -> Catalog:
        return load_catalog(self.root)

    def edit(self, shipped_type: str, change: Callable[[dict[str, Any]], None]) -> None:
        path = self.root / f"{self.type(shipped_type)}.avsc"
        schema = json.loads(path.read_text(encoding="utf-8"))
        change(schema)
        path.write_text(json.dumps(schema, indent=2), encoding="utf-8")

    def edit_catalog(self, old: str, new: str) -> None:
        path = self.root / "catalog.toml"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def copy(tmp_path: Path, stack: StackHandle) -> Iterator[CatalogCopy]:
    tag = uuid.uuid4().hex[:10]
    result = CatalogCopy(tmp_path / "schemas", f"t{tag}", tag)
    result.root.mkdir()
    for source in SHIPPED.iterdir():
        text = source.read_text(encoding="utf-8").replace("com.example", f"{result.prefix}.com.example")
        if source.name == "catalog.toml":
            text = re.sub(r"^\[topics\.([A-Za-z0-9_-]+)\]", rf"[topics.\1-{tag}]", text, flags=re.MULTILINE)
            text = re.sub(
                r'^(input|output) = "([A-Za-z0-9_-]+)"', rf'\1 = "\2-{tag}"', text, flags=re.MULTILINE
            )
        name = source.name.replace("com.example", f"{result.prefix}.com.example")
        (result.root / name).write_text(text, encoding="utf-8")
    catalog = result.load()
    assert all(t.name.endswith(tag) for t in catalog.topics)
    assert all(tag in s.subject for s in catalog.subjects)
    yield result
    _clean_up(stack, catalog, tag)


def _clean_up(stack: StackHandle, catalog: Catalog, tag: str) -> None:
    client = stack.registry_client()
    ours = [s for s in client.get_subjects() if tag in s]
    ours.sort(key=lambda s: s.startswith(f"t{tag}."))  # users before the shared types they reference
    for subject in ours:
        for permanent in (False, True):
            with contextlib.suppress(SchemaRegistryError):  # already gone
                client.delete_subject(subject, permanent=permanent)
    admin = stack.admin()
    topics = [t for t in admin.list_topics(timeout=10).topics if tag in t]
    if topics:
        for future in admin.delete_topics(topics, operation_timeout=30).values():
            future.result(timeout=30)


def _shipment_subjects(copy: CatalogCopy) -> list[str]:
    """The shipments topic's subjects: a type each (TopicRecordNameStrategy), the key last."""
    names = ("ShipmentCreated", "ShipmentDispatched", "ShipmentDelivered", "ShipmentKey")
    return [f"{copy.topic('shipments')}-{copy.type(f'com.example.shipments.{name}')}" for name in names]


def register(stack: StackHandle, catalog: Catalog, *, dry_run: bool = False) -> RegistrationReport:
    with RegistryClient(stack.settings.registry) as registry:
        return register_schemas(catalog, registry, dry_run=dry_run)


def run_cli(monkeypatch: pytest.MonkeyPatch, stack: StackHandle, *args: str) -> int:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", stack.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", stack.registry_url)
    return main(list(args))


def versions(stack: StackHandle, catalog: Catalog) -> dict[str, list[int]]:
    client = stack.registry_client()
    return {s.subject: client.get_versions(s.subject) for s in catalog.subjects}


def test_first_run_registers_every_subject_with_references(stack: StackHandle, copy: CatalogCopy) -> None:
    catalog = copy.load()
    report = register(stack, catalog)
    assert [(r.subject, r.status, r.version) for r in report.results] == [
        (copy.type("com.example.common.Address"), Status.NEW, 1),
        (copy.type(MONEY), Status.NEW, 1),
        (f"{copy.topic('orders')}-value", Status.NEW, 1),
        (f"{copy.topic('payments')}-value", Status.NEW, 1),
        (f"{copy.topic('customers')}-value", Status.NEW, 1),
        *((subject, Status.NEW, 1) for subject in _shipment_subjects(copy)),
        (f"{copy.topic('customer-activity')}-value", Status.NEW, 1),
    ]
    payments = catalog.topic(copy.topic("payments")).value
    latest = stack.registry_client().get_latest_version(payments.subject)
    assert latest.schema.schema_str == payments.text
    assert [(r.name, r.subject, r.version) for r in latest.schema.references] == [
        (copy.type("com.example.common.Address"), copy.type("com.example.common.Address"), 1),
        (copy.type(MONEY), copy.type(MONEY), 1),
    ]
    money = stack.registry_client().get_latest_version(copy.type(MONEY))
    assert money.schema.schema_str == catalog.subject(copy.type(MONEY)).text


def test_registered_schemas_serve_confluent_serializers(stack: StackHandle, copy: CatalogCopy) -> None:
    catalog = copy.load()
    report = register(stack, catalog)
    topic = catalog.topic(copy.topic("payments"))
    refs = [SchemaReference(r.name, r.subject, 1) for r in topic.value.references]
    serializer = AvroSerializer(
        stack.registry_client(), Schema(topic.value.text, "AVRO", refs), conf=serde_config()
    )
    event = {
        "payment_id": str(uuid.uuid4()),
        "order_id": "order-0001",
        "amount": {"amount": Decimal("12.50"), "currency": "EUR"},
        "method": "CARD",
        "status": "CAPTURED",
        "billing_address": None,
        "occurred_at": 1_700_000_000_000,
    }
    data = serializer(event, SerializationContext(topic.name, MessageField.VALUE))
    assert data is not None
    schema_id = int.from_bytes(data[1:5], "big")
    assert schema_id == next(r.schema_id for r in report.results if r.subject == topic.value.subject)


def test_second_run_is_unchanged_with_no_new_versions(
    stack: StackHandle, copy: CatalogCopy, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = copy.load()
    first = register(stack, catalog)
    before = versions(stack, catalog)
    assert run_cli(monkeypatch, stack, "schemas", "register", "--schemas", str(copy.root)) == 0
    out = capsys.readouterr().out
    assert "all 10 subjects unchanged." in out
    for result in first.results:
        assert re.search(
            rf"^{re.escape(result.subject)}\s+1\s+{result.schema_id}\s+\S+\s+unchanged$", out, re.M
        )
    assert versions(stack, catalog) == before == {s.subject: [1] for s in catalog.subjects}


def test_dry_run_leaves_the_registry_untouched(
    stack: StackHandle, copy: CatalogCopy, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, stack, "bootstrap", "--dry-run", "--schemas", str(copy.root)) == 0
    out = capsys.readouterr().out
    assert "would register 10 of 10 subjects" in out and "dry run: the registry was not changed." in out
    assert "absent (would be created)" in out
    assert not [s for s in stack.registry_client().get_subjects() if copy.suffix in s]
    assert not [t for t in stack.admin().list_topics(timeout=10).topics if copy.suffix in t]
    with httpx.Client() as http:
        for spec in copy.load().subjects:
            assert http.get(f"{stack.registry_url}/config/{spec.subject}").status_code == 404


def test_an_incompatible_edit_registers_nothing_and_names_subject_and_reason(
    stack: StackHandle, copy: CatalogCopy, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = copy.load()
    register(stack, catalog)
    before = versions(stack, catalog)
    optional = {"name": "fx_rate", "type": ["null", "double"], "default": None, "doc": "Rate to EUR."}
    copy.edit(MONEY, lambda s: s["fields"].append(optional))  # fine on its own
    required = {"name": "merchant_id", "type": "string", "doc": "The merchant."}
    copy.edit(PAYMENT, lambda s: s["fields"].append(required))  # breaks BACKWARD
    orders = f"[topics.{copy.topic('orders')}]"
    copy.edit_catalog(orders, f'{orders}\ncompatibility = "FORWARD"')  # a level change, to be undone

    assert run_cli(monkeypatch, stack, "schemas", "register", "--schemas", str(copy.root)) == 1
    out = capsys.readouterr().out
    payments = f"{copy.topic('payments')}-value"
    assert re.search(rf"^{re.escape(payments)}\s+-\s+-\s+BACKWARD\s+incompatible$", out, re.M)
    assert f"{payments} (" in out and "is not BACKWARD-compatible with version 1:" in out
    # the checker's sentence, as `schemas check` gives it: file, line, field and what to do
    payment_file = copy.root / f"{copy.type(PAYMENT)}.avsc"
    assert re.search(
        rf"{re.escape(str(payment_file))}:\d+: PaymentEvent\.merchant_id: field merchant_id has no default",
        out,
    )
    assert "nothing was registered" in out
    assert versions(stack, catalog) == before
    client = stack.registry_client()
    assert client.get_compatibility(f"{copy.topic('orders')}-value") == "BACKWARD"


def test_compatibility_levels_read_back_equal_the_catalog(stack: StackHandle, copy: CatalogCopy) -> None:
    catalog = copy.load()
    register(stack, catalog)
    client = stack.registry_client()
    levels = {s.subject: Level(client.get_compatibility(s.subject)) for s in catalog.subjects}
    assert levels == {s.subject: s.compatibility for s in catalog.subjects}
    assert levels[copy.type(MONEY)] is Level.FULL


def test_a_shared_type_change_re_registers_its_users_against_the_new_version(
    stack: StackHandle, copy: CatalogCopy
) -> None:
    register(stack, copy.load())
    optional = {"name": "fx_rate", "type": ["null", "double"], "default": None, "doc": "Rate to EUR."}
    copy.edit(MONEY, lambda s: s["fields"].append(optional))
    catalog = copy.load()
    report = register(stack, catalog)
    assert {r.subject: (r.status, r.version) for r in report.results} == {
        copy.type("com.example.common.Address"): (Status.UNCHANGED, 1),
        copy.type(MONEY): (Status.NEW, 2),
        f"{copy.topic('orders')}-value": (Status.UNCHANGED, 1),
        f"{copy.topic('payments')}-value": (Status.NEW, 2),
        f"{copy.topic('customers')}-value": (Status.NEW, 2),
        **{s: (Status.UNCHANGED, 1) for s in _shipment_subjects(copy)},  # Address only, which is unchanged
        f"{copy.topic('customer-activity')}-value": (Status.UNCHANGED, 1),  # no shared type
    }
    latest = stack.registry_client().get_latest_version(f"{copy.topic('payments')}-value")
    assert {r.name: r.version for r in latest.schema.references}[copy.type(MONEY)] == 2
    assert {r.status for r in register(stack, catalog).results} == {Status.UNCHANGED}


def test_inline_mode_registers_whole_schemas_without_shared_subjects(
    stack: StackHandle, copy: CatalogCopy
) -> None:
    copy.edit_catalog('references = "subjects"', 'references = "inline"')
    catalog = copy.load()
    report = register(stack, catalog)
    assert [r.subject for r in report.results] == [
        *(f"{copy.topic(t)}-value" for t in ("orders", "payments", "customers")),
        *_shipment_subjects(copy),
        f"{copy.topic('customer-activity')}-value",
    ]
    client = stack.registry_client()
    latest = client.get_latest_version(f"{copy.topic('payments')}-value")
    assert latest.schema.references == []
    assert '"name":"Money"' in latest.schema.schema_str
    assert copy.type(MONEY) not in client.get_subjects()


def test_bootstrap_creates_topics_and_dlqs_and_reports_partition_drift(
    stack: StackHandle, copy: CatalogCopy, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, stack, "bootstrap", "--schemas", str(copy.root)) == 0
    catalog = copy.load()
    topics = stack.admin().list_topics(timeout=10).topics
    for topic in catalog.topics:
        assert len(topics[topic.name].partitions) == topic.partitions == 3
        assert len(topics[topic.dlq].partitions) == 3 and topic.dlq == f"{topic.name}.dlq"

    again = ensure_topics(catalog, stack.admin())
    assert {r.status for r in again.results} == {TopicStatus.EXISTS} and len(again.results) == 10

    orders = f"[topics.{copy.topic('orders')}]"
    copy.edit_catalog(orders, f"{orders}\npartitions = 4")
    capsys.readouterr()
    assert run_cli(monkeypatch, stack, "bootstrap", "--schemas", str(copy.root)) == 1
    out = capsys.readouterr().out
    assert "all 10 subjects unchanged." in out
    name = copy.topic("orders")
    assert re.search(
        rf"^{re.escape(name)}\s+4\s+partition mismatch: the cluster has 3, the catalog says 4$", out, re.M
    )
    assert len(stack.admin().list_topics(timeout=10).topics[name].partitions) == 3


def test_an_unreachable_registry_exits_2_without_showing_secrets(
    copy: CatalogCopy, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", "http://127.0.0.1:1/apis/ccompat/v7")
    monkeypatch.setenv("SCHEMA_REGISTRY_BASIC_AUTH", "svc:s3cret-value")
    assert main(["schemas", "register", "--schemas", str(copy.root)]) == 2
    out, err = capsys.readouterr()
    assert "unreachable" in err
    assert "s3cret-value" not in out + err


def test_an_unreachable_cluster_is_reported_as_such(copy: CatalogCopy) -> None:
    admin = AdminClient({"bootstrap.servers": "127.0.0.1:1", "socket.connection.setup.timeout.ms": 1000})
    with pytest.raises(ClusterUnavailableError, match="did not answer within 2 s"):
        ensure_topics(copy.load(), admin, timeout=2)


def test_a_replication_factor_above_the_broker_count_is_refused_at_once(
    copy: CatalogCopy, stack: StackHandle
) -> None:
    copy.edit_catalog("replication_factor = -1", "replication_factor = 3")
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"replication factor 3: .*check the catalog's \[topics\."):
        ensure_topics(copy.load(), stack.admin())
    assert time.monotonic() - started < 10, "no broker is down, so there is nothing to wait for"
