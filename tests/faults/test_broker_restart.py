"""Broker restart mid-produce: the generated Order producer sends at a steady pace while another thread
stops the embedded Kafka broker (SIGTERM, a clean shutdown, and/or SIGKILL), keeps it down, and starts it
again. The idempotent producer (acks=all) must end with every message delivered exactly once: a fresh
consumer reads each sequence number once, and the delivery reports account for every message.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from pipeline.errors import DeliveryError
from pipeline.generated.orders import BINDING, Order, OrderStatus, open_orders_consumer, open_orders_producer
from pipeline.kafka.producer import DeliveryStats
from pipeline.kafka.typed import Received
from tests.faults.support import FaultStack, end_offsets, record_result

pytestmark = pytest.mark.fault

CHUNK = 50  # messages sent between pauses of the pacing
CATCH_UP_TIMEOUT = 150.0


@dataclass
class Restart:
    """One stop-and-start of the broker, triggered by the producer at its point in the sequence."""

    mode: str  # "stop" (SIGTERM) or "kill" (SIGKILL)
    at_seq: int
    go: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    down_seconds: float = 0.0  # from the stop until the broker answered again
    restart_seconds: float = 0.0  # `up` alone
    recovered_after: float = 0.0  # from the broker answering until every message sent so far was delivered
    sent_while_down: int = 0


def _restarts(fault_stack: FaultStack, plan: list[Restart], stats: DeliveryStats, pause: float) -> None:
    kafka = fault_stack.stack.nodes[0].process
    for restart in plan:
        restart.go.wait()
        try:
            stopped_at, sent_before = time.monotonic(), stats.produced
            kafka.stop() if restart.mode == "stop" else kafka.kill()
            time.sleep(pause)
            up_at = time.monotonic()
            fault_stack.restore()
            ready_at = time.monotonic()
            restart.restart_seconds = ready_at - up_at
            restart.down_seconds = ready_at - stopped_at
            restart.sent_while_down = stats.produced - sent_before
            backlog = stats.produced
            while stats.delivered + stats.failed < backlog and time.monotonic() - ready_at < CATCH_UP_TIMEOUT:
                time.sleep(0.02)
            restart.recovered_after = time.monotonic() - ready_at
        except BaseException as exc:
            restart.error = exc
        finally:
            restart.done.set()


def test_broker_restart_mid_produce_loses_and_duplicates_nothing(catalog: FaultStack) -> None:
    fault_stack, sizes = catalog, catalog.sizes
    n = sizes.messages
    rate = n / max(8.0, n / 3500)  # messages per second: production spans the restarts
    steps = len(sizes.broker_restarts) + 1
    plan = [Restart(mode, n * (i + 1) // steps) for i, mode in enumerate(sizes.broker_restarts)]
    tag = fault_stack.unique("br")
    producer = open_orders_producer(fault_stack.settings)
    stats = producer.producer.stats
    thread = threading.Thread(
        target=_restarts, args=(fault_stack, plan, stats, sizes.broker_down_seconds), daemon=True
    )
    thread.start()

    started = time.monotonic()
    delivery_error: DeliveryError | None = None
    try:
        pending = list(plan)
        for seq in range(n):
            if pending and seq == pending[0].at_seq:
                restart = pending.pop(0)
                previous = plan.index(restart) - 1
                deadline = time.monotonic() + CATCH_UP_TIMEOUT + 120
                while previous >= 0 and not plan[previous].done.is_set() and time.monotonic() < deadline:
                    producer.producer.poll(0.05)  # one restart at a time; serve delivery reports meanwhile
                restart.go.set()
            producer.send(
                Order(
                    order_id=f"{tag}-{seq}",
                    customer_id=f"c{seq % 97}",
                    amount=seq / 100,
                    product="fault-suite",
                    status=OrderStatus.PENDING,
                    created_at=datetime.now(UTC),
                ),
                key=f"{tag}-{seq}",
            )
            if seq % CHUNK == CHUNK - 1:
                producer.producer.poll(CHUNK / rate)  # pace, serving delivery reports meanwhile
        for restart in plan:
            restart.go.set()  # should the sequence have been too short to reach it
        producer.flush(CATCH_UP_TIMEOUT + 120)
        thread.join(CATCH_UP_TIMEOUT)
    except DeliveryError as exc:
        delivery_error = exc
    produce_seconds = time.monotonic() - started

    total = sum(end_offsets(fault_stack, BINDING.topic).values())
    seqs: Counter[int] = Counter()

    def collect(batch: list[Received[Order]]) -> None:
        for received in batch:
            if received.value is not None and received.value.order_id.startswith(f"{tag}-"):
                seqs[int(received.value.order_id.rsplit("-", 1)[1])] += 1

    reader = open_orders_consumer(fault_stack.settings, fault_stack.unique("br-check"), batch_size=1000)
    reader.run(collect, max_messages=total, idle_timeout=30, handle_signals=False)
    lost = sorted(set(range(n)) - set(seqs))
    duplicated = sum(count - 1 for count in seqs.values() if count > 1)

    record_result(
        "broker restart",
        sizes,
        messages=n,
        lost=len(lost),
        duplicated=duplicated,
        dlq=sum(end_offsets(fault_stack, BINDING.dlq_topic).values()),
        recovered_after_s=round(max(r.recovered_after for r in plan), 2) if plan else None,
        seconds=round(produce_seconds, 1),
        details={
            "restarts": [
                {
                    "mode": r.mode,
                    "broker_unavailable_s": round(r.down_seconds, 1),
                    "restart_s": round(r.restart_seconds, 1),
                    "sent_while_down": r.sent_while_down,
                    "backlog_delivered_after_s": round(r.recovered_after, 2),
                }
                for r in plan
            ],
            "produced": stats.produced,
            "delivered": stats.delivered,
            "failed": stats.failed,
            "first_errors": stats.first_errors,
        },
    )

    assert not [r.error for r in plan if r.error], "every restart went through"
    assert all(r.sent_while_down > 0 for r in plan), "the producer kept sending while the broker was down"
    assert delivery_error is None, f"delivery failed: {delivery_error}"
    assert stats.produced == n
    assert stats.delivered + stats.failed == stats.produced and stats.failed == 0
    assert not lost, f"{len(lost)} orders missing, e.g. {lost[:10]}"
    assert duplicated == 0, f"{duplicated} orders written twice"
