"""What the consumer loop commits after a batch mixing good and dead-lettered messages: the offset after
the batch's last message in each partition, whichever of them was dead-lettered. Found by the poison
fuzz (tests/faults/test_poison_fuzz.py): a dead letter at the end of a batch was left uncommitted and
dead-lettered again after a restart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from pipeline.dlq.publisher import DeadLetterPublisher
from pipeline.errors import SchemaViolationError
from pipeline.kafka.consumer import ConsumerLoop
from pipeline.kafka.producer import ReliableProducer


class ScriptedConsumer:
    """Hands out the given batches once each, then nothing; records every commit."""

    def __init__(self, batches: list[list[Message]]) -> None:
        self.batches = batches
        self.commits: list[list[tuple[str, int, int]]] = []

    def subscribe(
        self, topics: list[str], on_assign: Callable[..., None], on_revoke: Callable[..., None]
    ) -> None:
        on_assign(self, [TopicPartition(t, p) for t in topics for p in range(2)])

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        return self.batches.pop(0) if self.batches else []

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        self.commits.append(sorted((tp.topic, tp.partition, tp.offset) for tp in offsets))

    def close(self) -> None:
        pass


class NullProducer:
    """Accepts dead letters; every one is 'delivered' at once."""

    def __init__(self) -> None:
        self.sent: list[bytes | None] = []

    def produce(self, topic: str, value: bytes | None, key: bytes | None = None, **kwargs: Any) -> None:
        self.sent.append(value)

    def __len__(self) -> int:
        return 0  # nothing outstanding

    def poll(self, timeout: float = 0) -> int:
        return 0

    def flush(self, timeout: float = 0) -> int:
        return 0


def _decode(msg: Message) -> bytes:
    if msg.value() == b"poison":
        raise SchemaViolationError("not decodable")
    return bytes(msg.value() or b"")


def _msg(partition: int, offset: int, value: bytes) -> Message:
    return Message(topic="t", partition=partition, offset=offset, value=value)


@pytest.mark.parametrize(
    ("batch", "committed"),
    [
        pytest.param([(0, 10, b"good"), (0, 11, b"poison")], [("t", 0, 12)], id="dead letter last"),
        pytest.param([(0, 10, b"poison"), (0, 11, b"good")], [("t", 0, 12)], id="dead letter first"),
        pytest.param(
            [(0, 10, b"good"), (1, 4, b"good"), (0, 11, b"poison"), (1, 5, b"poison")],
            [("t", 0, 12), ("t", 1, 6)],
            id="two partitions, each ending with a dead letter",
        ),
        pytest.param([(0, 10, b"poison"), (0, 11, b"poison")], [("t", 0, 12)], id="only dead letters"),
    ],
)
def test_commit_covers_the_batch_whatever_was_dead_lettered(
    batch: list[tuple[int, int, bytes]], committed: list[tuple[str, int, int]]
) -> None:
    consumer = ScriptedConsumer([[_msg(*spec) for spec in batch]])
    dead_letters = NullProducer()
    dlq = DeadLetterPublisher(ReliableProducer({}, producer=dead_letters), lambda topic: f"{topic}.dlq")  # type: ignore[arg-type]
    handled: list[bytes] = []
    loop = ConsumerLoop(
        {"group.id": "g"},
        ["t"],
        _decode,
        handled.extend,
        dlq=dlq,
        consumer=consumer,  # type: ignore[arg-type]
    )
    loop.run(max_messages=len(batch), handle_signals=False)
    assert dead_letters.sent == [b"poison"] * sum(value == b"poison" for *_, value in batch)
    assert handled == [b"good"] * sum(value == b"good" for *_, value in batch)
    assert consumer.commits == [committed]


class RebalancingConsumer(ScriptedConsumer):
    """Fails the first commit as a broker does during a rebalance."""

    def __init__(self, batches: list[list[Message]], code: int) -> None:
        super().__init__(batches)
        self.code = code
        self.failed = False

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        if not self.failed:
            self.failed = True
            raise KafkaException(KafkaError(self.code))
        super().commit(offsets, asynchronous)


@pytest.mark.parametrize("code", [KafkaError.ILLEGAL_GENERATION, KafkaError.REBALANCE_IN_PROGRESS])
def test_a_commit_refused_during_a_rebalance_is_made_with_the_next_batch(code: int) -> None:
    consumer = RebalancingConsumer([[_msg(0, 10, b"a")], [_msg(1, 4, b"b")]], code)
    loop = ConsumerLoop({"group.id": "g"}, ["t"], _decode, lambda _batch: None, consumer=consumer)  # type: ignore[arg-type]
    loop.run(max_messages=2, handle_signals=False)
    # the first batch's offset was not dropped: it went with the second batch's commit
    assert consumer.commits[0] == [("t", 0, 11), ("t", 1, 5)]


def test_committed_offsets_are_asked_again_while_the_coordinator_moves() -> None:
    from pipeline.kafka.consumer import committed_offsets

    class Moving:
        def __init__(self) -> None:
            self.asked = 0

        def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
            self.asked += 1
            if self.asked < 3:
                raise KafkaException(KafkaError(KafkaError.NOT_COORDINATOR))
            return partitions

    consumer = Moving()
    tps = [TopicPartition("t", 0)]
    assert committed_offsets(consumer, tps, 1) == tps  # type: ignore[arg-type]
    assert consumer.asked == 3

    class Down:
        def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT))

    with pytest.raises(KafkaException):
        committed_offsets(Down(), tps, 1)  # type: ignore[arg-type]


class RevokingConsumer(ScriptedConsumer):
    """Hands out one batch of partition 0, then revokes partition 0 (as librdkafka does, from inside
    ``consume``); refuses the first ``refusals`` commits with ``code``, as a broker does while a
    rebalance replaces the generation or member epoch; records whether each commit came from the
    revoke callback."""

    def __init__(self, batches: list[list[Message]], code: int, refusals: int) -> None:
        super().__init__(batches)
        self.code, self.refusals = code, refusals
        self.in_revoke = False
        self.revoke_commits: list[list[tuple[str, int, int]]] = []

    def subscribe(
        self, topics: list[str], on_assign: Callable[..., None], on_revoke: Callable[..., None]
    ) -> None:
        self.on_revoke = on_revoke
        super().subscribe(topics, on_assign, on_revoke)

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        if self.batches:
            return self.batches.pop(0)
        if not self.in_revoke:
            self.in_revoke = True
            self.on_revoke(self, [TopicPartition("t", 0)])
        return []

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        if self.refusals:
            self.refusals -= 1
            raise KafkaException(KafkaError(self.code))
        super().commit(offsets, asynchronous)
        if self.in_revoke:
            self.revoke_commits.append(self.commits[-1])


@pytest.mark.parametrize(
    "code",
    [KafkaError.ILLEGAL_GENERATION, KafkaError.REBALANCE_IN_PROGRESS, KafkaError.STALE_MEMBER_EPOCH],
)
@pytest.mark.parametrize(
    "refusals",
    [
        pytest.param(1, id="after the batch only"),
        pytest.param(3, id="after the batch and twice in the revoke callback"),
    ],
)
def test_a_revoked_partition_is_committed_in_its_revoke_callback_through_refusals(
    code: int, refusals: int
) -> None:
    consumer = RevokingConsumer([[_msg(0, 10, b"a"), _msg(0, 11, b"b")]], code, refusals)
    loop = ConsumerLoop({"group.id": "g"}, ["t"], _decode, lambda _batch: None, consumer=consumer)  # type: ignore[arg-type]
    loop.run(idle_timeout=0, handle_signals=False)
    # the processed offset reached the broker before the partition was handed over: no duplicate
    assert consumer.revoke_commits == [[("t", 0, 12)]]
    assert consumer.commits == [[("t", 0, 12)]]
    assert loop.stats.refused_commits == refusals


def test_a_revoked_partition_whose_commit_is_refused_for_good_is_left_to_its_new_owner() -> None:
    consumer = RevokingConsumer([[_msg(0, 10, b"a")]], KafkaError.REBALANCE_IN_PROGRESS, refusals=99)
    loop = ConsumerLoop({"group.id": "g"}, ["t"], _decode, lambda _batch: None, consumer=consumer)  # type: ignore[arg-type]
    loop.run(idle_timeout=0, handle_signals=False)
    # never committed later, when the partition is no longer ours (its new owner re-reads it)
    assert consumer.commits == []
    assert loop.stats.refused_commits == 1 + 5
