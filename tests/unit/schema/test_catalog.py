"""The schema catalog: loading, subject naming, dependency order, registered text, references."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import fastavro
import pytest

from pipeline.compat import Level
from pipeline.errors import SchemaLoadError, SchemaValidationError
from pipeline.schema import (
    ReferenceMode,
    SubjectNameStrategy,
    canonical_json,
    check_catalog,
    dependency_order,
    load_catalog,
    read_sources,
    subject_name,
)

SHIPPED = Path(__file__).resolve().parents[3] / "schemas"


def avsc(full_name: str, *fields: dict[str, Any], kind: str = "record") -> str:
    namespace, _, name = full_name.rpartition(".")
    body: dict[str, Any] = {"type": kind, "name": name, "namespace": namespace, "doc": f"{name}."}
    if kind == "record":
        body["fields"] = [{"doc": "A field.", **f} for f in fields]
    else:
        body["symbols"] = ["A", "B"]
    return json.dumps(body, indent=2)


def write(root: Path, toml: str, *files: tuple[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "catalog.toml").write_text(toml, encoding="utf-8")
    for name, text in files:
        (root / f"{name}.avsc").write_text(text, encoding="utf-8")
    return root


MONEY = ("t.common.Money", avsc("t.common.Money", {"name": "units", "type": "long"}))
CURRENCY = ("t.common.Currency", avsc("t.common.Currency", kind="enum"))
PAY = ("t.pay.Pay", avsc("t.pay.Pay", {"name": "amount", "type": "t.common.Money"}))
ORDER = ("t.o.Order", avsc("t.o.Order", {"name": "id", "type": "string"}))


# -- the shipped catalog -----------------------------------------------------------------------------
def test_shipped_catalog_registers_shared_types_first_and_references_them() -> None:
    catalog = load_catalog(SHIPPED)
    assert [s.subject for s in catalog.subjects] == [
        "com.example.common.Address",
        "com.example.common.Money",
        "orders-value",
        "payments-value",
        "customers-value",
        "shipments-com.example.shipments.ShipmentCreated",
        "shipments-com.example.shipments.ShipmentDispatched",
        "shipments-com.example.shipments.ShipmentDelivered",
        "shipments-com.example.shipments.ShipmentKey",
        "customer-activity-value",
    ]
    payments = catalog.topic("payments")
    assert [(r.name, r.subject) for r in payments.value.references] == [
        ("com.example.common.Address", "com.example.common.Address"),
        ("com.example.common.Money", "com.example.common.Money"),
    ]
    assert [t.full_name for t in payments.value.uses] == [
        "com.example.common.Address",
        "com.example.common.Money",
    ]
    assert catalog.subject("com.example.common.Money").compatibility is Level.FULL
    assert payments.value.compatibility is Level.BACKWARD
    assert (payments.dlq, payments.partitions, payments.key, payments.key_type) == (
        "payments.dlq",
        3,
        None,
        "string",
    )
    assert catalog.topic("orders").value.references == ()


def test_shipped_order_schema_is_registered_exactly_as_its_file_says() -> None:
    order = load_catalog(SHIPPED).topic("orders").value
    on_disk = json.loads((SHIPPED / "com.example.orders.Order.avsc").read_text(encoding="utf-8"))
    assert json.loads(order.text) == on_disk
    assert order.text == canonical_json(on_disk)
    assert order.path == SHIPPED / "com.example.orders.Order.avsc"


def test_resolved_schema_has_every_named_type_written_out_and_parses() -> None:
    payments = load_catalog(SHIPPED).topic("payments").value
    resolved = payments.resolved
    amount = next(f for f in resolved["fields"] if f["name"] == "amount")
    assert amount["type"]["name"] == "Money" and amount["type"]["namespace"] == "com.example.common"
    fastavro.parse_schema(json.loads(payments.resolved_text))  # no named_schemas needed
    assert payments.parsed["name"] == "com.example.payments.PaymentEvent"


def test_reformatting_a_file_does_not_change_the_registered_text(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED, tmp_path / "s")
    path = tmp_path / "s" / "com.example.common.Money.avsc"
    path.write_text(
        json.dumps(json.loads(path.read_text(encoding="utf-8")), indent=8) + "\n\n", encoding="utf-8"
    )
    before = load_catalog(SHIPPED).subject("com.example.common.Money").text
    assert load_catalog(tmp_path / "s").subject("com.example.common.Money").text == before


# -- naming and ordering -----------------------------------------------------------------------------
NAMES = [
    (
        "topic strategy: <topic>-value",
        SubjectNameStrategy.TOPIC,
        "orders",
        "value",
        "a.Order",
        "orders-value",
    ),
    ("topic strategy: <topic>-key", SubjectNameStrategy.TOPIC, "orders", "key", "a.Key", "orders-key"),
    (
        "record strategy: the full name, whatever the topic",
        SubjectNameStrategy.RECORD,
        "orders",
        "value",
        "a.Order",
        "a.Order",
    ),
    (
        "topic-record strategy: <topic>-<full name>",
        SubjectNameStrategy.TOPIC_RECORD,
        "orders",
        "value",
        "a.Order",
        "orders-a.Order",
    ),
]


@pytest.mark.parametrize(
    ("reason", "strategy", "topic", "role", "full_name", "expected"), NAMES, ids=[row[0] for row in NAMES]
)
def test_subject_name(
    reason: str, strategy: SubjectNameStrategy, topic: str, role: str, full_name: str, expected: str
) -> None:
    assert subject_name(strategy, topic, role, full_name) == expected, reason


ORDERS = [
    ("independent names in name order", {"b": [], "a": []}, ["a", "b"]),
    ("a dependency comes first even if its name sorts later", {"a": ["z"], "z": []}, ["z", "a"]),
    ("a chain", {"a": ["b"], "b": ["c"], "c": []}, ["c", "b", "a"]),
    (
        "a diamond: shared base once, first",
        {"top": ["l", "r"], "l": ["base"], "r": ["base"], "base": []},
        ["base", "l", "r", "top"],
    ),
    ("names outside the mapping are ignored", {"a": ["elsewhere"]}, ["a"]),
    ("a cycle is left out", {"a": ["b"], "b": ["a"], "c": []}, ["c"]),
]


@pytest.mark.parametrize(("reason", "uses", "expected"), ORDERS, ids=[row[0] for row in ORDERS])
def test_dependency_order(reason: str, uses: dict[str, list[str]], expected: list[str]) -> None:
    assert dependency_order(uses) == expected, reason


IMPLIES = [
    ("a level implies itself", "BACKWARD", "BACKWARD", True),
    ("FULL implies BACKWARD", "FULL", "BACKWARD", True),
    ("FULL implies FORWARD", "FULL", "FORWARD", True),
    ("BACKWARD does not imply FORWARD", "BACKWARD", "FORWARD", False),
    ("non-transitive does not imply transitive", "FULL", "BACKWARD_TRANSITIVE", False),
    ("transitive implies non-transitive", "BACKWARD_TRANSITIVE", "BACKWARD", True),
    ("everything implies NONE", "NONE", "NONE", True),
    ("NONE implies nothing stricter", "NONE", "BACKWARD", False),
    ("FULL_TRANSITIVE implies everything", "FULL_TRANSITIVE", "FORWARD_TRANSITIVE", True),
]


@pytest.mark.parametrize(("reason", "a", "b", "expected"), IMPLIES, ids=[row[0] for row in IMPLIES])
def test_compatibility_implies(reason: str, a: str, b: str, expected: bool) -> None:
    assert Level(a).implies(Level(b)) is expected, reason


# -- catalog file problems ---------------------------------------------------------------------------
BASE = '[topics.pay]\nvalue = "t.pay.Pay"\n'
CONFIG_ERRORS = [
    ("invalid TOML is located", "x = \n[topics.pay]\n", 1, "", "not valid TOML"),
    (
        "an unknown table",
        BASE + '[registy]\nreferences = "inline"\n',
        3,
        "registy",
        "unknown table [registy]",
    ),
    (
        "an unknown key in a topic",
        BASE + "partition = 3\n",
        3,
        "topics.pay.partition",
        "unknown key 'partition'",
    ),
    (
        "a level Confluent does not have",
        BASE + 'compatibility = "BACKWARDS"\n',
        3,
        "topics.pay.compatibility",
        "'BACKWARDS' is not one of NONE, BACKWARD",
    ),
    (
        "a strategy Confluent does not have",
        BASE + 'subject_name_strategy = "topic"\n',
        3,
        "topics.pay.subject_name_strategy",
        "'topic' is not one of TopicNameStrategy",
    ),
    (
        "partitions are at least 1",
        BASE + "partitions = 0\n",
        3,
        "topics.pay.partitions",
        "0 is not a whole number",
    ),
    (
        "replication factor is -1 or at least 1",
        "[defaults]\nreplication_factor = 0\n" + BASE,
        2,
        "defaults.replication_factor",
        "-1 (broker default) or ≥ 1",
    ),
    ("a topic needs a value type", '[topics.pay]\nkey = "string"\n', 1, "topics.pay", "needs value ="),
    (
        "the value type must have a file",
        '[topics.pay]\nvalue = "t.pay.Nope"\n',
        2,
        "topics.pay.value",
        "no schema file t.pay.Nope.avsc",
    ),
    (
        "a key is plain or an Avro full name",
        BASE + 'key = "var-char"\n',
        3,
        "topics.pay.key",
        "'var-char' is neither",
    ),
    (
        "an Avro key needs its file",
        BASE + 'key = "varchar"\n',
        3,
        "topics.pay.key",
        "no schema file varchar.avsc",
    ),
    (
        "Kafka topic names",
        '[topics."pay ments"]\nvalue = "t.pay.Pay"\n',
        1,
        'topics."pay ments"',
        "not a legal Kafka topic name",
    ),
    (
        "a topic may not be another's DLQ, even after Kafka's '.'/'_' folding",
        BASE + '[topics.pay_dlq]\nvalue = "t.pay.Pay"\n',
        3,
        "topics.pay_dlq",
        "topic 'pay_dlq' collides with the dead-letter topic 'pay.dlq' of [topics.pay]",
    ),
    (
        "two topics may not share a DLQ",
        BASE + '[topics.x]\nvalue = "t.pay.Pay"\ndlq = "pay.dlq"\n',
        5,
        "topics.x.dlq",
        "dead-letter topic 'pay.dlq' collides with the dead-letter topic 'pay.dlq' of [topics.pay]",
    ),
    (
        "[types] names a file that does not exist",
        BASE + '[types."t.common.Mony"]\ncompatibility = "FULL"\n',
        3,
        'types."t.common.Mony"',
        "no schema file t.common.Mony.avsc",
    ),
    (
        "a shared type must evolve at least as strictly as its users",
        BASE + 'compatibility = "FULL"\n[types."t.common.Money"]\ncompatibility = "BACKWARD"\n',
        5,
        'types."t.common.Money".compatibility',
        "give t.common.Money a level that implies FULL (e.g. FULL)",
    ),
    (
        "field-name style is one of three",
        '[lint]\nfield_names = "kebab"\n' + BASE,
        2,
        "lint.field_names",
        "'kebab' is not one of snake_case",
    ),
    (
        "several value types need a subject each",
        '[topics.both]\nvalue = ["t.pay.Pay", "t.common.Money"]\n',
        2,
        "topics.both.value",
        'set subject_name_strategy to "TopicRecordNameStrategy"',
    ),
    (
        "a value type listed twice",
        '[topics.both]\nvalue = ["t.pay.Pay", "t.pay.Pay"]\nsubject_name_strategy = "RecordNameStrategy"\n',
        2,
        "topics.both.value",
        "a list of distinct full names",
    ),
    (
        "a value list with something that is not a name",
        '[topics.both]\nvalue = ["t.pay.Pay", 7]\nsubject_name_strategy = "RecordNameStrategy"\n',
        2,
        "topics.both.value",
        "a list of distinct full names",
    ),
    (
        "one subject, two levels (RecordNameStrategy shares subjects)",
        '[defaults]\nsubject_name_strategy = "RecordNameStrategy"\n'
        + BASE
        + '[topics.pay2]\nvalue = "t.pay.Pay"\ncompatibility = "FULL"\n',
        7,
        "topics.pay2.compatibility",
        "subject 't.pay.Pay' is also registered by topics.pay with level BACKWARD, not FULL",
    ),
]


@pytest.mark.parametrize(
    ("reason", "toml", "line", "path", "fragment"), CONFIG_ERRORS, ids=[row[0] for row in CONFIG_ERRORS]
)
def test_catalog_file_problems_name_file_line_and_key(
    tmp_path: Path, reason: str, toml: str, line: int, path: str, fragment: str
) -> None:
    root = write(tmp_path / "s", toml, MONEY, PAY)
    catalog, problems = check_catalog(read_sources(root))
    assert catalog is None, reason
    matching = [p for p in problems if fragment in p.message]
    assert matching, f"{reason}: nothing contains {fragment!r}: {[str(p) for p in problems]}"
    assert (matching[0].file, matching[0].line, matching[0].path) == (
        str(root / "catalog.toml"),
        line,
        path,
    ), reason


def test_load_catalog_raises_with_every_diagnostic(tmp_path: Path) -> None:
    bad_pay = ("t.pay.Pay", avsc("t.pay.Pay", {"name": "amount", "type": "t.common.Nope"}))
    root = write(tmp_path / "s", BASE + "partitions = 0\n", MONEY, bad_pay)
    with pytest.raises(SchemaValidationError) as caught:
        load_catalog(root)
    messages = [str(d) for d in caught.value.diagnostics]
    assert any("t.pay.Pay.avsc:" in m and "unknown type 't.common.Nope'" in m for m in messages)
    assert any("catalog.toml:3: topics.pay.partitions" in m for m in messages)


@pytest.mark.parametrize(
    ("reason", "setup", "fragment"),
    [
        ("no such directory", lambda root: None, "no such schema directory"),
        ("no catalog.toml", lambda root: root.mkdir(), "catalog.toml: not found"),
        (
            "a schema file that is not UTF-8",
            lambda root: (write(root, BASE), (root / "t.X.avsc").write_bytes(b"\xff\xfe")),
            "cannot read as UTF-8",
        ),
    ],
)
def test_unreadable_catalogs_raise_load_errors(
    tmp_path: Path, reason: str, setup: Any, fragment: str
) -> None:
    root = tmp_path / "s"
    setup(root)
    with pytest.raises(SchemaLoadError, match=fragment):
        load_catalog(root)


def test_schema_files_the_catalog_would_not_read_are_problems(tmp_path: Path) -> None:
    root = write(tmp_path / "s", BASE, MONEY, PAY)
    (root / "t.o.Order.AVSC").write_text(ORDER[1], encoding="utf-8")
    (root / "old" / "deep").mkdir(parents=True)
    (root / "old" / "deep" / "t.o.Order.avsc").write_text(ORDER[1], encoding="utf-8")
    (root / "old" / "t.x.Y.Avsc").write_text("{", encoding="utf-8")
    (root / "old" / "notes.txt").write_text("not a schema", encoding="utf-8")
    catalog, problems = check_catalog(read_sources(root))
    assert catalog is None
    assert [str(p) for p in problems] == [
        f"{root}/old/deep/t.o.Order.avsc: not read (schema files are read from the top of {root} only); "
        f"move it to {root}/t.o.Order.avsc or delete it",
        f"{root}/old/t.x.Y.Avsc: not read (schema files are read from the top of {root} only); "
        f"move it to {root}/t.x.Y.avsc or delete it",
        f"{root}/t.o.Order.AVSC: not read (a schema file's name ends in .avsc, in lower case); "
        "rename it to t.o.Order.avsc or delete it",
    ]


def test_lint_follows_the_catalog(tmp_path: Path) -> None:
    undocumented = (
        "t.o.Order",
        json.dumps(
            {
                "type": "record",
                "name": "Order",
                "namespace": "t.o",
                "fields": [{"name": "Id", "type": "string"}],
            }
        ),
    )
    toml = '[topics.o]\nvalue = "t.o.Order"\n'
    _, problems = check_catalog(read_sources(write(tmp_path / "on", toml, undocumented)))
    assert {p.lint for p in problems} == {True} and len(problems) == 3
    off = '[lint]\ndocs = false\nfield_names = "off"\n' + toml
    catalog, problems = check_catalog(read_sources(write(tmp_path / "off", off, undocumented)))
    assert problems == () and catalog is not None


# -- keys, strategies, reference modes --------------------------------------------------------------
def test_avro_keys_get_their_own_subject_and_level(tmp_path: Path) -> None:
    key = ("t.o.OrderKey", avsc("t.o.OrderKey", {"name": "id", "type": "string"}))
    toml = '[topics.o]\nvalue = "t.o.Order"\nkey = "t.o.OrderKey"\nkey_compatibility = "FULL"\n'
    topic = load_catalog(write(tmp_path / "s", toml, ORDER, key)).topic("o")
    assert topic.key is not None and topic.key_type == "t.o.OrderKey"
    assert (topic.key.subject, topic.key.compatibility) == ("o-key", Level.FULL)
    assert (topic.value.subject, topic.value.compatibility) == ("o-value", Level.BACKWARD)


def test_several_event_types_on_one_topic_register_a_subject_each(tmp_path: Path) -> None:
    toml = (
        '[topics.t]\nvalue = ["t.o.Order", "t.pay.Pay"]\nsubject_name_strategy = "TopicRecordNameStrategy"\n'
    )
    catalog = load_catalog(write(tmp_path / "s", toml, ORDER, MONEY, PAY))
    topic = catalog.topic("t")
    assert [spec.subject for spec in topic.values] == ["t-t.o.Order", "t-t.pay.Pay"]
    assert {"t-t.o.Order", "t-t.pay.Pay", "t.common.Money"} == {s.subject for s in catalog.subjects}


def test_record_strategy_topics_share_one_subject(tmp_path: Path) -> None:
    toml = (
        '[defaults]\nsubject_name_strategy = "RecordNameStrategy"\n'
        '[topics.a]\nvalue = "t.o.Order"\n[topics.b]\nvalue = "t.o.Order"\n'
    )
    catalog = load_catalog(write(tmp_path / "s", toml, ORDER))
    assert [s.subject for s in catalog.subjects] == ["t.o.Order"]
    assert catalog.topic("a").value == catalog.topic("b").value


def test_inline_mode_registers_no_shared_subjects_and_writes_types_out(tmp_path: Path) -> None:
    toml = '[registry]\nreferences = "inline"\n' + BASE
    catalog = load_catalog(write(tmp_path / "s", toml, MONEY, PAY))
    assert catalog.references is ReferenceMode.INLINE
    assert [s.subject for s in catalog.subjects] == ["pay-value"]
    pay = catalog.subject("pay-value")
    assert pay.references == ()
    assert json.loads(pay.text)["fields"][0]["type"]["name"] == "Money"
    assert pay.text == pay.resolved_text


def test_transitive_references_are_registered_in_dependency_order(tmp_path: Path) -> None:
    money = ("t.common.Money", avsc("t.common.Money", {"name": "currency", "type": "t.common.Currency"}))
    toml = BASE + '[types."t.common.Currency"]\ncompatibility = "FULL_TRANSITIVE"\n'
    catalog = load_catalog(write(tmp_path / "s", toml, CURRENCY, money, PAY))
    assert [s.subject for s in catalog.subjects] == ["t.common.Currency", "t.common.Money", "pay-value"]
    assert [r.name for r in catalog.subject("pay-value").references] == ["t.common.Money"]
    assert [r.name for r in catalog.subject("t.common.Money").references] == ["t.common.Currency"]
    assert [u.full_name for u in catalog.subject("pay-value").uses] == ["t.common.Currency", "t.common.Money"]


def test_compose_writes_out_what_is_not_kept(tmp_path: Path) -> None:
    money = (
        "t.common.Money",
        avsc(
            "t.common.Money",
            {"name": "currency", "type": "t.common.Currency"},
            {"name": "other", "type": "t.common.Currency"},
        ),
    )
    catalog = load_catalog(write(tmp_path / "s", BASE, CURRENCY, money, PAY))
    schema, kept = catalog.compose("t.pay.Pay", keep=lambda name: name == "t.common.Currency")
    written = schema["fields"][0]["type"]
    assert written["name"] == "Money" and written["fields"][0]["type"] == "t.common.Currency"
    assert kept == ("t.common.Currency",)
    everything, none_kept = catalog.compose("t.pay.Pay", keep=lambda name: False)
    money_fields = everything["fields"][0]["type"]["fields"]
    assert money_fields[0]["type"]["type"] == "enum" and money_fields[1]["type"] == "t.common.Currency"
    assert none_kept == ()


def test_a_type_in_the_null_namespace_keeps_it_when_written_out(tmp_path: Path) -> None:
    bare = (
        "Money",
        json.dumps(
            {
                "type": "record",
                "name": "Money",
                "doc": "M.",
                "fields": [{"name": "units", "type": "long", "doc": "U."}],
            }
        ),
    )
    pay = (
        "Pay",
        json.dumps(
            {
                "type": "record",
                "name": "Pay",
                "doc": "P.",
                "fields": [{"name": "amount", "type": "Money", "doc": "A."}],
            }
        ),
    )
    toml = '[topics.pay]\nvalue = "Pay"\n'
    catalog, problems = check_catalog(read_sources(write(tmp_path / "s", toml, bare, pay)))
    assert problems == () and catalog is not None
    written = catalog.subject("pay-value").resolved["fields"][0]["type"]
    assert written["namespace"] == ""
    assert fastavro.parse_schema(written)["name"] == "Money"
