"""Plan -> check all -> apply, against an in-memory registry with Confluent's semantics for the calls
the bootstrap makes. (The real registry is exercised in tests/integration/test_bootstrap.py.)"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pipeline.compat import Level
from pipeline.errors import IncompatibleSchemaError, RegistryUnavailableError
from pipeline.registry.client import CompatibilityAnswer, Reference, RegisteredVersion
from pipeline.registry.register import Status, register_schemas
from pipeline.schema import Catalog, load_catalog

BREAKS = "breaks_readers"  # a candidate whose text contains this is incompatible


@dataclass
class FakeRegistry:
    subjects: dict[str, list[tuple[str, tuple[Reference, ...]]]] = field(default_factory=dict)
    levels: dict[str, Level] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    fail_checks: bool = False

    def _id(self, text: str, refs: Sequence[Reference]) -> int:
        return abs(hash((text, tuple(refs)))) % 10_000

    def lookup(self, subject: str, text: str, references: Sequence[Reference]) -> RegisteredVersion | None:
        for number, entry in enumerate(self.subjects.get(subject, []), start=1):
            if entry == (text, tuple(references)):
                return RegisteredVersion(subject, number, self._id(text, references))
        return None

    def register(self, subject: str, text: str, references: Sequence[Reference]) -> RegisteredVersion:
        self.calls.append(("register", (subject, tuple(references))))
        for ref in references:
            assert len(self.subjects.get(ref.subject, [])) >= ref.version, f"{subject}: dangling {ref}"
        found = self.lookup(subject, text, references)
        if found:
            return found
        self.subjects.setdefault(subject, []).append((text, tuple(references)))
        return RegisteredVersion(subject, len(self.subjects[subject]), self._id(text, references))

    def latest(self, subject: str) -> RegisteredVersion | None:
        versions = self.subjects.get(subject)
        if not versions:
            return None
        return RegisteredVersion(subject, len(versions), self._id(*versions[-1]))

    def level(self, subject: str) -> Level | None:
        return self.levels.get(subject)

    def set_level(self, subject: str, level: Level) -> None:
        self.calls.append(("set_level", (subject, level)))
        self.levels[subject] = level

    def clear_level(self, subject: str) -> None:
        self.calls.append(("clear_level", subject))
        self.levels.pop(subject, None)

    def check(
        self, subject: str, text: str, references: Sequence[Reference], level: Level
    ) -> CompatibilityAnswer:
        self.calls.append(("check", (subject, text, tuple(references), level)))
        if self.fail_checks:
            raise RegistryUnavailableError("registry went away")
        if BREAKS in text:
            return CompatibilityAnswer(False, (f"{subject}: field breaks_readers has no default",))
        return CompatibilityAnswer(True)

    def writes(self) -> list[tuple[str, Any]]:
        return [call for call in self.calls if call[0] in ("register", "set_level", "clear_level")]


def avsc(full_name: str, *fields: dict[str, Any]) -> str:
    namespace, _, name = full_name.rpartition(".")
    return json.dumps(
        {
            "type": "record",
            "name": name,
            "namespace": namespace,
            "doc": "D.",
            "fields": [{"doc": "F.", **f} for f in fields],
        }
    )


TOML = """
[topics.pay]
value = "t.pay.Pay"
[topics.order]
value = "t.o.Order"
[types."t.common.Money"]
compatibility = "FULL"
"""


def catalog(root: Path, money_fields: list[dict[str, Any]] | None = None, pay_extra: str = "") -> Catalog:
    root.mkdir(parents=True, exist_ok=True)
    (root / "catalog.toml").write_text(TOML, encoding="utf-8")
    money = money_fields or [{"name": "units", "type": "long"}]
    pay = [{"name": "amount", "type": "t.common.Money"}]
    if pay_extra:
        pay.append({"name": pay_extra, "type": "string"})
    (root / "t.common.Money.avsc").write_text(avsc("t.common.Money", *money), encoding="utf-8")
    (root / "t.pay.Pay.avsc").write_text(avsc("t.pay.Pay", *pay), encoding="utf-8")
    (root / "t.o.Order.avsc").write_text(
        avsc("t.o.Order", {"name": "id", "type": "string"}), encoding="utf-8"
    )
    return load_catalog(root)


def test_first_run_registers_everything_in_order_with_versioned_references(tmp_path: Path) -> None:
    registry = FakeRegistry()
    report = register_schemas(catalog(tmp_path / "c"), registry)
    assert [(r.subject, r.status, r.version) for r in report.results] == [
        ("t.common.Money", Status.NEW, 1),
        ("pay-value", Status.NEW, 1),
        ("order-value", Status.NEW, 1),
    ]
    registered = [args for name, args in registry.calls if name == "register"]
    assert registered[1] == ("pay-value", (Reference("t.common.Money", "t.common.Money", 1),))
    assert registry.levels == {
        "t.common.Money": Level.FULL,
        "pay-value": Level.BACKWARD,
        "order-value": Level.BACKWARD,
    }
    assert (
        report.ok and report.applied and report.registered == ("t.common.Money", "pay-value", "order-value")
    )


def test_second_run_is_unchanged_and_writes_nothing(tmp_path: Path) -> None:
    registry = FakeRegistry()
    register_schemas(catalog(tmp_path / "c"), registry)
    registry.calls.clear()
    report = register_schemas(catalog(tmp_path / "c"), registry)
    assert {r.status for r in report.results} == {Status.UNCHANGED}
    assert [r.version for r in report.results] == [1, 1, 1]
    assert registry.writes() == [] and not report.applied


def test_dry_run_reports_the_plan_and_writes_nothing(tmp_path: Path) -> None:
    registry = FakeRegistry()
    report = register_schemas(catalog(tmp_path / "c"), registry, dry_run=True)
    assert [r.status for r in report.results] == [Status.NEW] * 3
    assert [r.version for r in report.results] == [None] * 3
    assert all(r.level_changed for r in report.results)
    assert registry.writes() == [] and registry.subjects == {} and report.dry_run


def test_one_incompatible_subject_registers_nothing_and_restores_levels(tmp_path: Path) -> None:
    registry = FakeRegistry()
    register_schemas(catalog(tmp_path / "c"), registry)
    registry.levels["order-value"] = Level.FORWARD  # someone changed it by hand
    registry.levels.pop("pay-value")  # and removed this one
    registry.calls.clear()
    money = [{"name": "units", "type": "long"}, {"name": "scale", "type": "int", "default": 2}]
    report = register_schemas(catalog(tmp_path / "c", money, pay_extra=BREAKS), registry)
    assert [(r.subject, r.status) for r in report.results] == [
        ("t.common.Money", Status.NEW),
        ("pay-value", Status.INCOMPATIBLE),
        ("order-value", Status.UNCHANGED),
    ]
    assert report.incompatible[0].reasons == ("pay-value: field breaks_readers has no default",)
    assert report.incompatible[0].compared_with == 1
    assert [name for name, _ in registry.writes() if name == "register"] == []
    assert registry.levels == {"t.common.Money": Level.FULL, "order-value": Level.FORWARD}
    assert ("clear_level", "pay-value") in registry.calls
    with pytest.raises(IncompatibleSchemaError, match="pay-value") as caught:
        report.raise_for_incompatible()
    assert caught.value.report is report


def test_a_changed_shared_type_re_registers_its_users_checked_against_its_current_version(
    tmp_path: Path,
) -> None:
    registry = FakeRegistry()
    register_schemas(catalog(tmp_path / "c"), registry)
    registry.calls.clear()
    money = [{"name": "units", "type": "long"}, {"name": "scale", "type": "int", "default": 2}]
    report = register_schemas(catalog(tmp_path / "c", money), registry)
    assert [(r.subject, r.status, r.version) for r in report.results] == [
        ("t.common.Money", Status.NEW, 2),
        ("pay-value", Status.NEW, 2),
        ("order-value", Status.UNCHANGED, 1),
    ]
    pay_check = next(args for name, args in registry.calls if name == "check" and args[0] == "pay-value")
    assert pay_check[2] == (Reference("t.common.Money", "t.common.Money", 1),)  # the registered Money
    pay_register = next(
        args for name, args in registry.calls if name == "register" and args[0] == "pay-value"
    )
    assert pay_register[1] == (Reference("t.common.Money", "t.common.Money", 2),)  # the new one


def test_a_shared_type_not_registered_yet_is_written_out_for_the_check(tmp_path: Path) -> None:
    registry = FakeRegistry()
    registry.subjects["pay-value"] = [(avsc("t.pay.Pay", {"name": "amount", "type": "long"}), ())]
    register_schemas(catalog(tmp_path / "c"), registry)
    _, text, refs, level = next(args for name, args in registry.calls if name == "check")
    assert refs == () and level is Level.BACKWARD
    assert json.loads(text)["fields"][0]["type"]["name"] == "Money"


def test_a_registry_failure_during_checks_restores_levels(tmp_path: Path) -> None:
    registry = FakeRegistry()
    register_schemas(catalog(tmp_path / "c"), registry)
    registry.fail_checks = True
    registry.levels["order-value"] = Level.NONE
    with pytest.raises(RegistryUnavailableError):
        register_schemas(catalog(tmp_path / "c", pay_extra="note"), registry)
    assert registry.levels["order-value"] is Level.NONE
    assert len(registry.subjects["pay-value"]) == 1


def test_an_outage_midway_through_registration_stays_an_outage(tmp_path: Path) -> None:
    class GoesAway(FakeRegistry):
        def register(self, subject: str, text: str, references: Sequence[Reference]) -> RegisteredVersion:
            if subject == "pay-value":
                raise RegistryUnavailableError("no answer from the registry")
            return super().register(subject, text, references)

    with pytest.raises(RegistryUnavailableError, match=r"already registered: t\.common\.Money"):
        register_schemas(catalog(tmp_path / "c"), GoesAway())
