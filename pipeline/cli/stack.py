"""``pipeline stack up | down | status | env``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.cli.arguments import port_number
from pipeline.config import BROKER_COUNTS, load_stack_settings
from pipeline.stack.embedded import EmbeddedStack

__all__ = ["register"]


def _stack(args: argparse.Namespace) -> EmbeddedStack:
    return EmbeddedStack(
        load_stack_settings(
            state_dir=args.state_dir,
            kafka_port=args.kafka_port,
            controller_port=args.controller_port,
            registry_port=args.registry_port,
            brokers=getattr(args, "brokers", None),
        )
    )


def _up(args: argparse.Namespace) -> int:
    stack = _stack(args)
    stack.up(progress=lambda msg: print(msg, file=sys.stderr))
    print(stack.env_exports(), end="")
    return 0


def _down(args: argparse.Namespace) -> int:
    stack = _stack(args)
    stopped = stack.down(purge=args.purge)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing of ours was running")
    if args.purge:
        print(f"removed the stack's data under {stack.state_dir}")
    return 0


def _status(args: argparse.Namespace) -> int:
    stack = _stack(args)
    rows = stack.status()
    if args.json:
        print(json.dumps({"components": [row.as_json() for row in rows]}, indent=2))
    else:
        for row in rows:
            pid = str(row.pid) if row.pid else "-"
            print(f"{row.name:<9} {row.state:<20} pid {pid:<8} {row.address:<45} log {row.log_file}")
    return 0 if all(row.ready for row in rows) else 1  # a failed check (3 is kept for bugs)


def _env(args: argparse.Namespace) -> int:
    print(_stack(args).env_exports(), end="")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stack = sub.add_parser(
        "stack",
        help="run the embedded Kafka + Apicurio Registry stack",
        description="Kafka (one node, or a three-node quorum with --brokers 3) and Apicurio Registry "
        "run as local processes, their state under one folder (.stack by default): start, stop, "
        "report on them, and print their addresses.",
    )
    stack_sub = stack.add_subparsers(dest="stack_command", required=True, metavar="ACTION")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", type=Path, help="default .stack ($PIPELINE_STACK_DIR)")
    common.add_argument("--kafka-port", type=port_number, help="default 9092 ($PIPELINE_KAFKA_PORT)")
    common.add_argument(
        "--controller-port", type=port_number, help="default kafka port + 1 ($PIPELINE_CONTROLLER_PORT)"
    )
    common.add_argument("--registry-port", type=port_number, help="default 8081 ($PIPELINE_REGISTRY_PORT)")

    up = stack_sub.add_parser(
        "up",
        parents=[common],
        help="start (or reuse) the stack; prints its env",
        description="Start Kafka and the registry, or reuse them when they already run from this state "
        "folder, wait until both answer, and print the export lines that point clients at them. If one "
        "fails to start, what this command started is stopped again and the failure is reported with "
        "the end of its log (exit 2).",
    )
    up.add_argument(
        "--brokers",
        type=int,
        choices=BROKER_COUNTS,
        help="Kafka nodes, each broker and controller: 1 (default, fast) or 3 (replication factor 3, "
        "min ISR 2); node N listens two ports above node N-1 (9094/9095, 9096/9097 by default). Fixed "
        "when the state folder is first started ($PIPELINE_BROKERS)",
    )
    up.set_defaults(handler=_up)
    down = stack_sub.add_parser(
        "down",
        parents=[common],
        help="stop what 'up' started; keeps data",
        description="Stop the processes started from this state folder (and no others); their data is "
        "kept unless --purge.",
    )
    down.add_argument("--purge", action="store_true", help="also delete the stack's data")
    down.set_defaults(handler=_down)
    status = stack_sub.add_parser(
        "status",
        parents=[common],
        help="report each component (exit 1 if not ready)",
        description="Report each component (every Kafka node, kafka-N being broker id N, then the "
        "registry): ready, running but not ready, or stopped, with its pid, address and log file. "
        "Exit 0 when all are ready, 1 otherwise.",
    )
    status.add_argument(
        "--json",
        action="store_true",
        help='print {"components": [{"name", "node_id", "pid", "address", "state", "log_file"}, ...]}',
    )
    status.set_defaults(handler=_status)
    env = stack_sub.add_parser(
        "env",
        parents=[common],
        help="print 'export ...' lines for a shell",
        description="Print the export lines (KAFKA_BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL) that point "
        "clients at this stack, for eval in a shell.",
    )
    env.set_defaults(handler=_env)
