"""Print the fault suite's results as a markdown table: ``python -m tests.faults.report [RESULTS]``.

RESULTS is the JSON-lines file the scenarios append to (FAULT_RESULTS, default
build/fault-results.jsonl); ``make fault-test`` empties it first and prints this table at the end.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.faults.support import results_path


def _consumer_killed(d: dict[str, Any]) -> str:
    return (
        f"{d['kills']} kill -9 ({d['startup_kills']} during start-up); {d['kills_that_redelivered']} kills "
        f"re-delivered their uncommitted batch, at most {d['max_redelivered_per_kill']} messages "
        f"(batch {d['batch_size']}); restart to first batch: median {d['restart_to_first_batch_median_s']} s"
    )


def _broker_restart(d: dict[str, Any]) -> str:
    restarts = "; ".join(
        f"{r['mode']}: broker unavailable {r['broker_unavailable_s']} s (restart {r['restart_s']} s), "
        f"{r['sent_while_down']} sent meanwhile, backlog delivered {r['backlog_delivered_after_s']} s "
        "after it answered"
        for r in d["restarts"]
    )
    return (
        f"{restarts}; delivery reports: {d['delivered']} delivered + {d['failed']} failed = {d['produced']}"
    )


def _registry_outage(d: dict[str, Any]) -> str:
    recovered = ", ".join(
        f"{name} {seconds} s" for name, seconds in d["recovered_after_registry_ready_s"].items()
    )
    return (
        f"registry down {d['outage_s']} s (restart {d['registry_restart_s']} s); with cached schemas "
        f"{d['sent_during_outage']} sent and {d['processed_during_outage']} processed meanwhile; lookups "
        f"that needed it succeeded after it answered: {recovered}"
    )


def _poison_fuzz(d: dict[str, Any]) -> str:
    decoded = sum(d["decoded_mutants_by_kind"].values())
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(d["decoded_mutants_by_kind"].items())) or "none"
    errors = ", ".join(f"{k} {v}" for k, v in sorted(d["dlq_by_error"].items()))
    return (
        f"{d['poison']} poison among {d['good']} good; {decoded} mutants still decoded and were processed "
        f"({kinds}); DLQ by error: {errors}; crash: {d['crash'] or 'none'}"
    )


def _bad_schemas(d: dict[str, Any]) -> str:
    return (
        f"{d['refused_with_a_named_error']}/{d['defects']} refused (exit 1) naming the file or subject; "
        f"registry unchanged after {d['registry_unchanged']}/{d['defects']}"
    )


def _registry_killed(d: dict[str, Any]) -> str:
    return (
        f"{d['kills']} kill -9 of the registry under registration load; messages = acknowledged "
        f"registrations, lost = not found unchanged after a restart; ids reused: {d['ids_reused']}"
    )


def _leader_killed(d: dict[str, Any]) -> str:
    if "produced" in d:
        counts = f"delivery reports: {d['delivered']} delivered + {d['failed']} failed = {d['produced']}"
    else:
        counts = f"{d['consumed']} consumed, {d['dead_lettered']} dead-lettered"
    return (
        f"kill -9 of {d['killed']} (leader of partition 0), back {d['node_back_after_s']} s later; {counts}"
    )


def _rolling_restart(d: dict[str, Any]) -> str:
    nodes = ", ".join(
        f"{r['node']} {r.get('stop_s', '?')} s to stop, {r['restart_s']} s in all" for r in d["restarts"]
    )
    return (
        f"SIGTERM and start, one node at a time, each caught up before the next ({nodes}); consumed twice: "
        f"{d['consumed_twice']}; delivery reports: {d['delivered']} delivered + {d['failed']} failed = "
        f"{d['produced']}; the main job beside it: exit {d['main_job_exit']}, "
        f"balanced {d['main_job_balanced']}"
    )


def _rebalance_scaling(d: dict[str, Any]) -> str:
    return (
        f"protocol {d['protocol']}, {d['partitions']} partitions, 1 to {d['max_members']} members: "
        f"{d['joins']} joins, {d['leaves']} leaves (SIGTERM); rebalanced and consuming again after: "
        f"join median {d['join_rebalance_median_s']} s (max {d['join_rebalance_max_s']}), leave median "
        f"{d['leave_rebalance_median_s']} s (max {d['leave_rebalance_max_s']}); commits refused by a "
        f"rebalance under way (then made): {d['refused_commits']}"
    )


def _rebalance_kill(d: dict[str, Any]) -> str:
    seconds = ", ".join(str(s) for s in d["kill_to_settled_s"])
    return (
        f"protocol {d['protocol']}: {d['kills']} kill -9 of a member among 3; every duplicate in the "
        f"killed member's last batch (batch {d['batch_size']}); kill to rebalanced and consuming: "
        f"{seconds} s (session timeout {d['session_timeout_ms']} ms)"
    )


def _transform_killed(d: dict[str, Any]) -> str:
    mode = (
        "exactly once (one transaction per batch)" if d["exactly_once"] else "at least once (flush, commit)"
    )
    if d["exactly_once"]:
        commit = (
            f"{d['kills_during_commit']} during a commit_transaction (of {d['kills_aimed_at_commit']} aimed "
            f"at one; {d['commits_through_despite_kill']} committed by the broker all the same, the rest "
            f"aborted); {d['aborted_outputs']} outputs of aborted transactions, unseen by read_committed "
            "readers"
        )
    else:
        commit = (
            f"{d['kills_during_commit']} during the flush and offset commit (of {d['kills_aimed_at_commit']} "
            "aimed at it)"
        )
    return (
        f"{mode}: {d['kills']} kill -9 of the worker, restarted in the same slot each time; {commit}; "
        f"batch {d['batch']}, commit median {d['commit_ms_median']} ms"
    )


_NOTES: dict[str, Callable[[dict[str, Any]], str]] = {
    "transform kill -9 (exactly once)": _transform_killed,
    "transform kill -9 (at least once)": _transform_killed,
    "3 nodes: leader kill mid-produce": _leader_killed,
    "3 nodes: leader kill mid-consume": _leader_killed,
    "3 nodes: rolling restart": _rolling_restart,
    "rebalance scaling": _rebalance_scaling,
    "rebalance kill -9": _rebalance_kill,
    "registry killed": _registry_killed,
    "consumer killed": _consumer_killed,
    "broker restart": _broker_restart,
    "registry outage": _registry_outage,
    "poison fuzz": _poison_fuzz,
    "bad schema files": _bad_schemas,
}


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def _machine() -> str:
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) / 1024**2:.0f} GiB"
    except OSError:
        pass
    return f"{os.cpu_count()} cores{memory}"


def render(rows: list[dict[str, Any]]) -> str:
    """The markdown table for ``rows`` (one per scenario run)."""
    profiles = sorted({row["profile"] for row in rows})
    lines = [
        f"Fault suite, profile {', '.join(profiles)}, seed {rows[0]['seed']}; machine: {_machine()}",
        "",
        "| scenario | messages | lost | duplicated | DLQ'd | recovered after (s) | longest stall, produce / "
        "consume (s) | scenario time (s) | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        notes = _NOTES.get(row["scenario"], lambda _d: "")(row.get("details", {}))
        stalls = (row.get("produce_stall_s"), row.get("consume_stall_s"))
        cells = [
            row["messages"],
            row["lost"],
            row["duplicated"],
            row.get("dlq"),
            row.get("recovered_after_s"),
            " / ".join(_cell(s) for s in stalls) if any(s is not None for s in stalls) else None,
            row["seconds"],
        ]
        lines.append(f"| {row['scenario']} | {' | '.join(_cell(c) for c in cells)} | {notes} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else results_path()
    if not path.exists():
        print(f"{path}: no fault results (run `make fault-test`)", file=sys.stderr)
        return 1
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not rows:
        print(f"{path}: empty", file=sys.stderr)
        return 1
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
