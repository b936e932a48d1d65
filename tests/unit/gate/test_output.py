"""The gate's three output formats, from hand-built reports."""

from __future__ import annotations

import json

from pipeline.compat import Direction, Incompatibility, Kind, Level
from pipeline.gate import (
    GateReport,
    Problem,
    RegistryView,
    Status,
    SubjectVerdict,
    Version,
    format_github,
    format_json,
    format_table,
)

FILE = "schemas/shop.Order.avsc"
V1 = Version(1, 'commit 1a2b3c4d "Add orders"')
V2 = Version(2, 'commit 5e6f7a8b "orders: coupon, 100%"')
MISSING = Incompatibility(
    Kind.READER_FIELD_MISSING_DEFAULT_VALUE,
    "Order.channel",
    2,
    Direction.BACKWARD,
    "Order.channel: field channel has no default and version 2 does not write it; give it a default",
)


def verdict(subject: str, status: Status, **fields: object) -> SubjectVerdict:
    return SubjectVerdict(subject, "shop.Order", FILE, Level.BACKWARD, status, **fields)  # type: ignore[arg-type]


INCOMPATIBLE = verdict(
    "orders-value", Status.INCOMPATIBLE, versions=(V1, V2), checked=(2,), problems=(Problem(MISSING, 12),)
)
REPORT = GateReport(
    "git",
    "git history up to HEAD (9c0d1e2f)",
    (
        verdict("money", Status.NEW),
        verdict("old-value", Status.UNCHANGED, versions=(V1, V2), same_as=1),
        verdict(
            "noted-value", Status.COMPATIBLE, versions=(V1,), checked=(1,), notes=("skipped v0: broken",)
        ),
        INCOMPATIBLE,
    ),
)


def test_table_rows_reasons_legend_notes_and_summary() -> None:
    lines = format_table(REPORT).splitlines()
    assert lines[0].split() == ["SUBJECT", "LEVEL", "VERSIONS", "STATUS", "FILE"]
    assert lines[1].split()[:4] == ["money", "BACKWARD", "0", "new"]
    assert "unchanged (= version 1)" in lines[2]
    assert lines[4].split()[:4] == ["orders-value", "BACKWARD", "2", "incompatible"]
    detail = lines[lines.index("") + 1 :]
    assert detail[:3] == [
        f"orders-value ({FILE}): not BACKWARD-compatible with version 2",
        f"  {FILE}:12: {MISSING.message}",
        f"  version 2 = {V2.source}",
    ]
    assert "notes:" in lines and "  noted-value: skipped v0: broken" in lines
    assert lines[-1] == (
        "4 subject(s) checked against git history up to HEAD (9c0d1e2f): 3 passed, 1 incompatible."
    )


def test_github_annotates_the_field_and_escapes_what_github_would_misread() -> None:
    out = format_github(REPORT).splitlines()
    errors = [line for line in out if line.startswith("::error")]
    assert errors == [
        f"::error file={FILE},line=12,title=orders-value%3A not BACKWARD-compatible with version 2::"
        f'{MISSING.message} (version 2 = commit 5e6f7a8b "orders: coupon, 100%25")'
    ]
    assert f"::warning file={FILE},title=noted-value::skipped v0: broken" in out
    assert out[-1].endswith("3 passed, 1 incompatible.")


def test_github_reports_a_disagreement_as_one_error_with_its_notes() -> None:
    disagreement = verdict(
        "w-value",
        Status.DISAGREEMENT,
        versions=(V1, V2),
        checked=(2,),
        notes=("the registry says incompatible", "Apicurio checks every version"),
        registry=RegistryView(Level.BACKWARD, False),
    )
    out = format_github(GateReport("registry", "the registry", (disagreement,))).splitlines()
    assert out[0] == (
        f"::error file={FILE},title=w-value%3A the registry and the local checker disagree::"
        "the registry says incompatible%0AApicurio checks every version"
    )


def test_json_carries_every_field_and_the_exit_code() -> None:
    document = json.loads(format_json(REPORT))
    assert (document["against"], document["passed"], document["exit_code"]) == ("git", False, 1)
    orders = document["subjects"][3]
    assert orders == {
        "subject": "orders-value",
        "full_name": "shop.Order",
        "file": FILE,
        "level": "BACKWARD",
        "status": "incompatible",
        "passed": False,
        "versions": [{"number": 1, "source": V1.source}, {"number": 2, "source": V2.source}],
        "checked_versions": [2],
        "same_as": None,
        "incompatibilities": [
            {
                "kind": "READER_FIELD_MISSING_DEFAULT_VALUE",
                "location": "Order.channel",
                "version": 2,
                "direction": "BACKWARD",
                "message": MISSING.message,
                "line": 12,
            }
        ],
        "notes": [],
        "registry": None,
    }
    assert document["subjects"][1]["same_as"] == 1
