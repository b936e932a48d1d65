"""``pipeline run`` (``make run-pipeline``): the main job, end to end on the real stack.

Stack up (unless a cluster is named) -> bootstrap (schemas and topics) -> a seeded generator produces
order events through the generated ``orders`` producer -> a consumer group processes them through the
generated consumer, keeping running totals per customer and status -> a live progress display -> a
summary (and ``--summary-json``). A small share of the generated records is deliberately invalid
(``--poison-rate``) so the dead-letter path is exercised on every run; 0 turns that off.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from rich.console import Console
from rich.live import Live
from rich.table import Table

from pipeline.bootstrap import register_schemas
from pipeline.catalog import load_catalog
from pipeline.cluster import ensure_cluster
from pipeline.config import Settings, librdkafka_config
from pipeline.errors import PipelineError
from pipeline.generated.orders import Order, OrderStatus, open_orders_consumer, open_orders_producer
from pipeline.metrics import PipelineMetrics
from pipeline.provisioning import ensure_topics
from pipeline.registry import RegistryClient
from pipeline.topic import Received

__all__ = ["OrderTotals", "RunSummary", "generate_orders", "register"]

_PRODUCTS = {
    "espresso machine": 349.0,
    "coffee grinder": 129.0,
    "milk frother": 59.9,
    "tamper": 24.5,
    "descaler": 9.99,
    "travel mug": 19.0,
    "pour-over kettle": 69.0,
    "beans 1kg": 28.5,
}
_STATUS_WEIGHTS = {
    OrderStatus.PENDING: 40,
    OrderStatus.CONFIRMED: 30,
    OrderStatus.SHIPPED: 20,
    OrderStatus.DELIVERED: 10,
}


def generate_orders(count: int, seed: int, run_id: str, poison_rate: float = 0.0) -> Any:
    """``count`` realistic orders, reproducible from ``seed``. With ``poison_rate`` > 0 that share is
    replaced by records that violate the schema (they must end in the dead-letter queue)."""
    rng = random.Random(seed)
    customers = [f"customer-{i:04d}" for i in range(1, 201)]
    weights = list(_STATUS_WEIGHTS.values())
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(count):
        product = rng.choice(list(_PRODUCTS))
        quantity = rng.choices([1, 2, 3, 4], weights=[70, 20, 7, 3])[0]
        order = Order(
            order_id=f"{run_id}-{i:07d}",
            customer_id=rng.choice(customers),
            amount=round(_PRODUCTS[product] * quantity, 2),
            product=product,
            status=rng.choices(list(_STATUS_WEIGHTS), weights=weights)[0],
            created_at=start + timedelta(milliseconds=rng.randrange(0, 365 * 24 * 3600 * 1000)),
        )
        if poison_rate and rng.random() < poison_rate:
            order.amount = "not a number"  # type: ignore[assignment]  # deliberately invalid
        yield order


@dataclass
class OrderTotals:
    """The consumer's real work: running totals per customer and per status, for this run's orders."""

    run_id: str
    orders: int = 0
    earlier: int = 0  # orders from earlier runs still waiting for this group
    revenue: Decimal = Decimal(0)
    by_status: Counter[str] = field(default_factory=Counter)
    by_customer: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def handle(self, batch: list[Received[Order]]) -> None:
        for received in batch:
            order = received.value
            if order is None:
                continue
            if not order.order_id.startswith(self.run_id):
                self.earlier += 1
                continue
            amount = Decimal(str(order.amount))
            self.orders += 1
            self.revenue += amount
            self.by_status[order.status.value] += 1
            self.by_customer[order.customer_id] += amount


@dataclass
class RunSummary:
    produced: int
    consumed: int
    dlq: int
    dlq_producer_side: int
    dlq_consumer_side: int
    lag: int
    earlier_backlog: int
    seconds: float
    produce_msgs_per_s: float
    consume_msgs_per_s: float
    revenue: str
    by_status: dict[str, int]
    top_customers: list[tuple[str, str]]

    @property
    def balanced(self) -> bool:
        return self.produced == self.consumed + self.dlq and self.lag == 0


def group_lag(settings: Settings, group: str, topic: str) -> int:
    """Messages in ``topic`` past ``group``'s committed offsets (all of them if it has none)."""
    consumer = Consumer({**librdkafka_config(settings.kafka), "group.id": group})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        tps = [TopicPartition(topic, p) for p in partitions]
        lag = 0
        for tp in consumer.committed(tps, timeout=10):
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            lag += high - (tp.offset if tp.offset >= 0 else low)
        return lag
    finally:
        consumer.close()


def _bootstrap(settings: Settings, schemas: Path, say: Any) -> None:
    catalog = load_catalog(schemas)
    with RegistryClient(settings.registry) as registry:
        report = register_schemas(catalog, registry)
    if not report.ok:
        raise PipelineError(
            f"{schemas}: schema registration failed; run `pipeline schemas register` for details"
        )
    topics = ensure_topics(catalog, AdminClient(librdkafka_config(settings.kafka)))
    if not topics.ok:
        raise PipelineError("topics do not match the catalog; run `pipeline bootstrap` for details")
    say(f"bootstrap: {len(catalog.subjects)} subjects registered or unchanged, {len(catalog.topics)} topics")


def _progress(state: dict[str, Any]) -> Table:
    table = Table(title=f"pipeline run {state['run_id']}", title_justify="left")
    for column in ("produced", "consumed", "dlq", "lag", "produce/s", "consume/s", "elapsed"):
        table.add_column(column, justify="right")
    elapsed = max(time.monotonic() - state["started"], 1e-9)
    table.add_row(
        f"{state['produced']:,}",
        f"{state['consumed']:,}",
        f"{state['dlq']:,}",
        f"{state['lag']:,}",
        f"{state['produced'] / max(state.get('produce_seconds') or elapsed, 1e-9):,.0f}",
        f"{state['consumed'] / elapsed:,.0f}",
        f"{elapsed:.1f} s",
    )
    return table


def run_pipeline(
    count: int,
    *,
    rate: float = 0.0,
    seed: int = 42,
    poison_rate: float = 0.001,
    group: str = "order-analytics",
    schemas: Path = Path("schemas"),
    metrics_port: int | None = None,
    console: Console | None = None,
) -> RunSummary:
    """Run the whole job and return its summary."""
    console = console or Console(stderr=True)
    settings = ensure_cluster(progress=lambda msg: console.print(f"  {msg}"))
    _bootstrap(settings, schemas, console.print)
    metrics = PipelineMetrics.create()
    if metrics_port:
        metrics.serve(metrics_port)
        console.print(f"  metrics on http://127.0.0.1:{metrics_port}/metrics")

    run_id = f"run-{uuid.uuid4().hex[:8]}"
    totals = OrderTotals(run_id)
    state: dict[str, Any] = {"run_id": run_id, "produced": 0, "consumed": 0, "dlq": 0, "lag": 0}
    producer = open_orders_producer(settings, app="pipeline run")
    consumer = open_orders_consumer(settings, group)
    produce_error: list[BaseException] = []

    def produce() -> None:
        try:
            begin = time.monotonic()
            for i, order in enumerate(generate_orders(count, seed, run_id, poison_rate)):
                producer.send(order, key=order.order_id)
                state["produced"] = i + 1
                if rate > 0:
                    ahead = (i + 1) / rate - (time.monotonic() - begin)
                    if ahead > 0:
                        time.sleep(ahead)
            producer.flush()
            state["produce_seconds"] = time.monotonic() - begin
            metrics.produced.labels("orders").inc(producer.sent)
            metrics.errors.labels("orders", "serialize").inc(producer.rejected)
            metrics.dead_lettered.labels("orders").inc(producer.rejected)
        except BaseException as exc:  # surfaced by the main thread
            produce_error.append(exc)

    state["started"] = time.monotonic()
    producer_thread = threading.Thread(target=produce, name="order-generator", daemon=True)
    last: dict[str, int] = {"processed": 0, "dead": 0, "lag_at": 0}

    with Live(_progress(state), console=console, refresh_per_second=4, transient=False) as live:

        def on_batch(stats: Any) -> None:
            metrics.consumed.labels("orders").inc(stats.processed - last["processed"])
            metrics.dead_lettered.labels("orders").inc(stats.dead_lettered - last["dead"])
            metrics.batch_latency.labels("orders").observe(stats.last_batch_seconds)
            last.update(processed=stats.processed, dead=stats.dead_lettered)
            state["consumed"] = totals.orders
            state["dlq"] = producer.rejected + stats.dead_lettered
            now = time.monotonic()
            if now - last["lag_at"] >= 1.0:  # lag asks the broker: once a second, not per batch
                assert consumer.loop is not None
                state["lag"] = consumer.loop.lag()
                metrics.lag.labels("orders").set(state["lag"])
                last["lag_at"] = int(now)
            live.update(_progress(state))
            done = not producer_thread.is_alive() and state["consumed"] + state["dlq"] >= state["produced"]
            if done or produce_error:
                consumer.stop()

        producer_thread.start()
        stats = consumer.run(totals.handle, idle_timeout=30, on_batch=on_batch)
        producer_thread.join()
        state["lag"] = group_lag(settings, group, "orders")
        live.update(_progress(state))
    if produce_error:
        raise produce_error[0]

    elapsed = time.monotonic() - state["started"]
    top = sorted(totals.by_customer.items(), key=lambda kv: kv[1], reverse=True)[:5]
    return RunSummary(
        produced=state["produced"],
        consumed=totals.orders,
        dlq=producer.rejected + stats.dead_lettered,
        dlq_producer_side=producer.rejected,
        dlq_consumer_side=stats.dead_lettered,
        lag=state["lag"],
        earlier_backlog=totals.earlier,
        seconds=round(elapsed, 3),
        produce_msgs_per_s=round(state["produced"] / max(state.get("produce_seconds", elapsed), 1e-9), 1),
        consume_msgs_per_s=round(stats.consumed / max(elapsed, 1e-9), 1),
        revenue=str(totals.revenue),
        by_status=dict(sorted(totals.by_status.items())),
        top_customers=[(customer, str(amount)) for customer, amount in top],
    )


def _print_summary(summary: RunSummary, console: Console) -> None:
    console.print()
    table = Table(title="summary", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("produced", f"{summary.produced:,}"),
        ("consumed (processed)", f"{summary.consumed:,}"),
        ("dead-lettered", f"{summary.dlq:,} ({summary.dlq_producer_side} rejected by schema, "
         f"{summary.dlq_consumer_side} by the consumer)"),
        ("consumer lag at end", f"{summary.lag:,}"),
        ("earlier runs' backlog processed", f"{summary.earlier_backlog:,}"),
        ("produce rate", f"{summary.produce_msgs_per_s:,.0f} msg/s"),
        ("consume rate", f"{summary.consume_msgs_per_s:,.0f} msg/s"),
        ("elapsed", f"{summary.seconds:.1f} s"),
        ("revenue (this run)", summary.revenue),
        *((f"orders {status}", f"{n:,}") for status, n in summary.by_status.items()),
        *((f"top customer {c}", amount) for c, amount in summary.top_customers[:3]),
    ]  # fmt: skip
    for measure, value in rows:
        table.add_row(measure, value)
    console.print(table)
    verdict = "holds" if summary.balanced else "DOES NOT hold"
    console.print(
        f"produced ({summary.produced:,}) == consumed ({summary.consumed:,}) + dlq ({summary.dlq:,}) "
        f"and lag {summary.lag}: {verdict}"
    )


def _run(args: argparse.Namespace) -> int:
    console = Console()
    summary = run_pipeline(
        args.count,
        rate=args.rate,
        seed=args.seed,
        poison_rate=args.poison_rate,
        group=args.group,
        schemas=args.schemas,
        metrics_port=args.metrics_port,
        console=console,
    )
    _print_summary(summary, console)
    if args.summary_json:
        args.summary_json.write_text(
            json.dumps({**summary.__dict__, "balanced": summary.balanced}, indent=2) + "\n"
        )
    return 0 if summary.balanced else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="the main job: generate, produce, consume and summarise order events")
    run.add_argument("-n", "--count", type=int, default=10000, help="orders to generate (default 10000)")
    run.add_argument("--rate", type=float, default=0.0, help="orders per second; 0 = as fast as possible")
    run.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    run.add_argument(
        "--poison-rate",
        type=float,
        default=0.001,
        help="share of deliberately invalid records (default 0.001)",
    )
    run.add_argument("--group", default="order-analytics", help="consumer group (default order-analytics)")
    run.add_argument("--schemas", type=Path, default=Path("schemas"), help="the catalog folder")
    run.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    run.add_argument("--summary-json", type=Path, help="also write the summary as JSON to this file")
    run.set_defaults(handler=_run)
