"""The offline gate end to end: a small git repository with a history of schema edits, and
``pipeline schemas check`` run in it as CI runs it (from the repository root, ``--schemas schemas``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from tests.unit.gate.gitrepo import GitRepo

CATALOG = """
[lint]
docs = false

[topics.orders]
value = "{order}"

[types."shop.Money"]
compatibility = "FULL"
"""

MONEY = {
    "type": "record",
    "name": "Money",
    "namespace": "shop",
    "fields": [{"name": "cents", "type": "long"}, {"name": "currency", "type": "string"}],
}


def order(namespace: str = "shop", *extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "record",
        "name": "Order",
        "namespace": namespace,
        "fields": [
            {"name": "order_id", "type": "string"},
            {"name": "total", "type": "shop.Money"},
            *extra,
        ],
    }


COUPON = {"name": "coupon", "type": ["null", "string"], "default": None}
CHANNEL = {"name": "channel", "type": "string"}


class Catalog:
    """The catalog in a git repository: write schemas, commit, run the gate."""

    def __init__(self, repo: GitRepo) -> None:
        self.repo = repo

    def write(self, schema: dict[str, Any], order_name: str = "shop.Order") -> None:
        name = f"{schema['namespace']}.{schema['name']}"
        self.repo.write(f"schemas/{name}.avsc", json.dumps(schema, indent=2) + "\n")
        self.repo.write("schemas/catalog.toml", CATALOG.format(order=order_name))

    def gate(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        code = main(["schemas", "check", "--schemas", "schemas", *args])
        out, err = capsys.readouterr()
        return code, out, err


@pytest.fixture
def catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Catalog:
    repo = GitRepo(tmp_path / "repo")
    monkeypatch.chdir(repo.root)
    result = Catalog(repo)
    result.write(MONEY)
    result.write(order())
    repo.commit("Add the order catalog")
    return result


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def statuses(out: str) -> dict[str, str]:
    """SUBJECT -> STATUS from the table (the lines up to the first blank one)."""
    table = out.split("\n\n", 1)[0].splitlines()
    return {row.split()[0]: row.split()[3] for row in table[1:]}


def test_history_of_edits_passes_then_an_incompatible_commit_fails_naming_file_and_field(
    catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = catalog.gate(capsys)
    assert code == 0, out
    assert statuses(out) == {"shop.Money": "new", "orders-value": "new"}

    catalog.write(order("shop", COUPON))
    catalog.repo.commit("orders: optional coupon")
    code, out, _ = catalog.gate(capsys)
    assert code == 0, out
    assert statuses(out)["orders-value"] == "compatible"

    # Move Order to another namespace, renaming its file: compatible under Confluent's rules
    # (unqualified names), and the file keeps its history.
    catalog.repo.git("mv", "schemas/shop.Order.avsc", "schemas/shop.sales.Order.avsc")
    catalog.write(order("shop.sales", COUPON), order_name="shop.sales.Order")
    catalog.repo.commit("orders: move Order to shop.sales")
    code, out, _ = catalog.gate(capsys)
    assert code == 0, out
    assert statuses(out)["orders-value"] == "compatible"

    catalog.write(order("shop.sales", COUPON, CHANNEL), order_name="shop.sales.Order")
    code, out, _ = catalog.gate(capsys)
    assert code == 1, "the uncommitted edit already fails"
    breaking = catalog.repo.commit("orders: sales channel")

    code, out, _ = catalog.gate(capsys)
    assert code == 1, out
    file = "schemas/shop.sales.Order.avsc"
    line = line_of(Path(file), '"channel"')
    assert statuses(out) == {"shop.Money": "new", "orders-value": "incompatible"}
    assert f"orders-value ({file}): not BACKWARD-compatible with version 3" in out
    assert f"  {file}:{line}: Order.channel: field channel has no default" in out
    assert "version 3 = commit " in out and '"orders: move Order to shop.sales"' in out
    assert "1 passed, 1 incompatible" in out and breaking[:8] in out

    code, out, _ = catalog.gate(capsys, "--format", "github")
    assert code == 1
    (annotation,) = [line for line in out.splitlines() if line.startswith("::error")]
    assert annotation.startswith(f"::error file={file},line={line},title=orders-value%3A not BACKWARD")
    assert "::Order.channel: field channel has no default" in annotation

    code, out, _ = catalog.gate(capsys, "--format", "json")
    assert code == 1
    report = json.loads(out)
    orders = next(s for s in report["subjects"] if s["subject"] == "orders-value")
    assert [v["source"].split('"')[1] for v in orders["versions"]] == [
        "Add the order catalog",
        "orders: optional coupon",
        "orders: move Order to shop.sales",
    ]
    assert "as schemas/shop.Order.avsc" in orders["versions"][0]["source"]
    assert orders["incompatibilities"] == [
        {
            "kind": "READER_FIELD_MISSING_DEFAULT_VALUE",
            "location": "Order.channel",
            "version": 3,
            "direction": "BACKWARD",
            "message": orders["incompatibilities"][0]["message"],
            "line": line,
        }
    ]
    assert report["exit_code"] == 1 and report["passed"] is False


def test_a_shared_type_change_is_judged_in_its_subject_and_in_every_user(
    catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    money = {**MONEY, "fields": [MONEY["fields"][0], {"name": "currency", "type": "int"}]}
    catalog.write(money)
    catalog.repo.commit("money: numeric currency")
    code, out, _ = catalog.gate(capsys)
    assert code == 1
    assert statuses(out) == {"shop.Money": "incompatible", "orders-value": "incompatible"}
    # FULL: both directions fail on Money's own field; orders points at the field that uses Money
    assert re.search(r"schemas/shop\.Money\.avsc:\d+: Money\.currency: reader type int", out)
    total = line_of(Path("schemas/shop.Order.avsc"), '"total"')
    assert f"schemas/shop.Order.avsc:{total}: Order.total.currency:" in out


def test_a_branch_is_compared_with_its_branch_point_unless_base_says_otherwise(
    catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog.repo.git("checkout", "-q", "-b", "feature")
    catalog.write(order("shop", CHANNEL))
    catalog.repo.commit("wip: a string channel without a default")
    catalog.write(order("shop", {"name": "channel", "type": "int", "default": 0}))
    catalog.repo.commit("channel: a number, with a default")
    code, out, _ = catalog.gate(capsys)
    assert code == 0, "by default a branch is compared with what landed on main, as the registry holds it"
    assert "against git history up to the branch point with main (" in out
    code, out, _ = catalog.gate(capsys, "--base", "main")
    assert code == 0, out
    assert "against git history up to main (" in out
    code, out, _ = catalog.gate(capsys, "--base", "HEAD")
    assert code == 1, "the branch's own wip commit is in its first-parent history, and an int cannot read it"
    assert "Order.channel: reader type int cannot read the string" in out


@pytest.mark.parametrize("how", ["rewritten so that git sees no rename", "the topic pointed at a new file"])
def test_a_subject_changed_through_another_file_is_still_judged_against_its_history(
    catalog: Catalog, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    """Confluent Schema Registry would refuse both at BACKWARD: the gate follows the subject, not the file."""
    v2 = {**order(), "name": "OrderV2", "fields": [{"name": "id", "type": "long"}, CHANNEL]}
    if how.startswith("rewritten"):
        (catalog.repo.root / "schemas/shop.Order.avsc").unlink()
    catalog.write(v2, order_name="shop.OrderV2")
    catalog.repo.commit(how)
    code, out, _ = catalog.gate(capsys)
    assert code == 1, out
    assert statuses(out)["orders-value"] == "incompatible"
    assert "not BACKWARD-compatible with version 1" in out


def test_a_decimal_scale_change_passes_with_a_warning_that_values_change_meaning(
    catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    def price(scale: int) -> dict[str, Any]:
        return {
            "name": "price",
            "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 18, "scale": scale}],
            "default": None,
        }

    catalog.write(order("shop", price(2)))
    catalog.repo.commit("price, in cents")
    catalog.write(order("shop", price(4)))
    code, out, _ = catalog.gate(capsys)
    assert code == 0, "Confluent's rules ignore logical types: the change is compatible"
    assert "Order.price: decimal scale 2 -> 4" in out and "100x smaller" in out
    code, out, _ = catalog.gate(capsys, "--format", "github")
    assert any(line.startswith("::warning") and "decimal scale 2 -> 4" in line for line in out.splitlines())


def test_a_revert_to_an_earlier_version_is_unchanged(
    catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog.write(order("shop", COUPON))
    catalog.repo.commit("coupon")
    catalog.write(order())
    catalog.repo.commit("revert coupon")
    code, out, _ = catalog.gate(capsys)
    assert code == 0
    assert "unchanged (= version 1)" in out


@pytest.mark.parametrize(
    ("setup", "args", "code", "message", "reason"),
    [
        ("shallow", (), 2, "shallow clone", "a truncated history must not pass a change"),
        ("loose", (), 2, "not in a git work tree", "no repository: say so, do not pass"),
        ("", ("--base", "nope"), 2, "'nope' names no commit", "an unknown --base is a usage error"),
        ("", ("--against", "registry", "--base", "main"), 2, "--base applies to --against git", "usage"),
        ("", ("--schemas", "missing"), 2, "missing: no such schema directory", "usage"),
        ("invalid", (), 1, "problem(s)", "an invalid catalog fails like `schemas validate`"),
    ],
)
def test_errors(
    catalog: Catalog,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    setup: str,
    args: tuple[str, ...],
    code: int,
    message: str,
    reason: str,
) -> None:
    if setup == "shallow":
        catalog.write(order("shop", COUPON))
        catalog.repo.commit("coupon")
        clone = tmp_path / "clone"
        catalog.repo.git("clone", "-q", "--depth", "1", f"file://{catalog.repo.root}", str(clone))
        monkeypatch.chdir(clone)
    elif setup == "loose":
        loose = tmp_path / "loose"
        (loose / "schemas").mkdir(parents=True)
        for path in (catalog.repo.root / "schemas").iterdir():
            (loose / "schemas" / path.name).write_text(path.read_text())
        monkeypatch.chdir(loose)
    elif setup == "invalid":
        catalog.repo.write("schemas/shop.Order.avsc", "{")
    got, out, err = catalog.gate(capsys, *args)
    assert got == code, (reason, out, err)
    assert message in out + err, (reason, out, err)


@pytest.mark.parametrize("output", ["json", "github"])
def test_a_gate_that_cannot_run_says_so_on_stdout_in_the_format_asked(
    catalog: Catalog,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    output: str,
) -> None:
    catalog.write(order("shop", COUPON))
    catalog.repo.commit("coupon")
    clone = tmp_path / "clone"
    catalog.repo.git("clone", "-q", "--depth", "1", f"file://{catalog.repo.root}", str(clone))
    monkeypatch.chdir(clone)
    code, out, err = catalog.gate(capsys, "--format", output)
    assert code == 2 and "shallow clone" in err
    if output == "json":
        document = json.loads(out)
        assert (
            document["exit_code"] == 2
            and document["passed"] is False
            and "shallow clone" in document["error"]
        )
    else:
        assert out.startswith("::error title=schema compatibility gate::") and "shallow clone" in out
