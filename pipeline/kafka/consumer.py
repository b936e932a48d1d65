"""The consumer loop every pipeline shares: group membership with cooperative-sticky assignment, batches
handed to a handler, offsets committed synchronously only after the batch is processed (or
dead-lettered), retries with backoff that keep the group membership, and a clean drain on SIGINT/SIGTERM.

Guarantees:
- an offset is committed only for messages that were processed or whose dead letter was acknowledged
  (``acks=all``): a crash in between re-delivers, never loses;
- order within a partition is kept for the messages that succeed;
- on revocation the processed offsets of the revoked partitions are committed, and the batch's remaining
  messages of those partitions are left to their new owner.
"""

from __future__ import annotations

import contextlib
import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from pipeline.dlq.publisher import DeadLetterPublisher
from pipeline.errors import PipelineError, SchemaViolationError
from pipeline.retry import RetryPolicy

__all__ = [
    "ConsumerLoop",
    "ConsumerStats",
    "committed_offsets",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

# The group coordinator is moving or loading (a fresh cluster, a broker restart): retriable, not an outage.
_COORDINATOR_MOVING = (
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
)


def committed_offsets(
    consumer: Consumer, partitions: list[TopicPartition], timeout: float
) -> list[TopicPartition]:
    """``consumer.committed``, asked again (with backoff, five times) while the group's coordinator is
    being chosen or loaded; other errors raise KafkaException as they are."""
    for attempt in range(5):
        try:
            return list(consumer.committed(partitions, timeout=timeout))
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if attempt == 4 or not (isinstance(error, KafkaError) and error.code() in _COORDINATOR_MOVING):
                raise
            time.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


# Commit errors of a rebalance under way (the classic protocol's generation, KIP-848's member epoch): the
# partitions still owned are committed again after it.
_REBALANCING = (
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError.STALE_MEMBER_EPOCH,
)
# Inside the revoke callback the partitions are still ours and the group waits for us: a commit refused
# there is tried again this many times (backoff 0.1 s doubling, ~3 s in all) before it is given up.
_REVOKE_COMMIT_ATTEMPTS = 5


@dataclass
class ConsumerStats:
    consumed: int = 0
    processed: int = 0
    dead_lettered: int = 0
    retries: int = 0
    batches: int = 0
    commits: int = 0
    refused_commits: int = 0  # refused because a rebalance was under way (then tried again)
    last_batch_seconds: float = 0.0
    dead_lettered_by_stage: dict[str, int] = field(default_factory=dict)


class ConsumerLoop(Generic[T]):
    """Consume ``topics`` in a group, decode each message with ``decode``, hand them to ``handle``.

    With ``batch=True`` (default) ``handle`` takes a list of decoded records; when it raises, the batch
    is retried record by record (so one poison record cannot hold back the others). With ``batch=False``
    it takes one record at a time. Each record gets ``retry.max_attempts`` tries with backoff, then goes
    to the dead-letter queue. Errors raised by ``decode`` (SchemaViolationError)
    go to the dead-letter queue at once. Without a ``dlq``, an exhausted message stops the loop with the
    error and its offset stays uncommitted.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        topics: Sequence[str],
        decode: Callable[[Message], T],
        handle: Callable[[Any], None],
        *,
        batch: bool = True,
        dlq: DeadLetterPublisher | None = None,
        retry: RetryPolicy | None = None,
        batch_size: int = 500,
        batch_timeout: float = 0.5,
        consumer: Consumer | None = None,
        sleep_slice: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        self._config = dict(config)
        self.group_id = str(self._config["group.id"])
        self.topics = list(topics)
        self._decode = decode
        self._handle = handle
        self._batch = batch
        self._dlq = dlq
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size
        self.batch_timeout = batch_timeout
        self._consumer = consumer or Consumer(self._config)
        self._sleep_slice = sleep_slice
        self._rng = rng or random.Random()
        self._stop = threading.Event()
        self._pending: dict[tuple[str, int], int] = {}  # processed, not yet committed: next offset
        self._revoked: set[tuple[str, int]] = set()
        self._owned: set[tuple[str, int]] = set()
        self._assigned_at = 0.0  # when the group last gave this member partitions (monotonic)
        self.ever_owned: set[tuple[str, int]] = set()  # every partition this member was given
        self.stats = ConsumerStats()
        self.on_batch: Callable[[ConsumerStats], None] | None = None
        self.on_dead_letter: Callable[[Message, str, BaseException], None] | None = None

    # -- control -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to finish the current batch, commit and close."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(
        self,
        *,
        max_messages: int | None = None,
        idle_timeout: float | None = None,
        handle_signals: bool = True,
    ) -> ConsumerStats:
        """Run until ``stop()``, SIGINT/SIGTERM, ``max_messages`` handled, or ``idle_timeout`` seconds with
        no message while owning partitions. Always commits what was processed and closes the consumer.

        Until the group assigns partitions the idle clock waits too, up to the session timeout more: a
        member that died without leaving holds its partitions until its session times out, and a rerun
        right after a crash must outwait it, not give up first."""
        restore = self._install_signal_handlers() if handle_signals else {}
        self._consumer.subscribe(self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke)
        last_message = time.monotonic()
        grace = int(self._config.get("session.timeout.ms", 45000)) / 1000 + 5
        try:
            while not self._stop.is_set():
                messages = self._consumer.consume(num_messages=self.batch_size, timeout=self.batch_timeout)
                batch = [m for m in messages if m.error() is None]
                if len(batch) != len(messages):  # events: log them, raise a fatal one
                    for m in messages:
                        self._is_event(m)
                if not batch:
                    waited = time.monotonic() - max(last_message, self._assigned_at)
                    if idle_timeout is not None and waited >= idle_timeout + (0 if self._owned else grace):
                        break
                    continue
                last_message = time.monotonic()
                self._process_batch(batch)
                self._commit()
                self.stats.last_batch_seconds = time.monotonic() - last_message
                if self.on_batch is not None:
                    self.on_batch(self.stats)
                if max_messages is not None and self.stats.consumed >= max_messages:
                    break
        finally:
            try:
                self._commit()
            finally:
                self._owned.clear()
                self._consumer.close()
                for signum, handler in restore.items():
                    signal.signal(signum, handler)
        return self.stats

    def assignment(self) -> list[tuple[str, int]]:
        """The partitions this member owns, as the rebalance callbacks last said (safe from any thread:
        it does not call into the client, which another thread may be blocked in)."""
        return sorted(self._owned)

    def lag(self) -> int:
        """Messages between the group's position and the end of each assigned partition."""
        total = 0
        with contextlib.suppress(KafkaException, RuntimeError):
            for tp in self._consumer.position(self._consumer.assignment()):
                _low, high = self._consumer.get_watermark_offsets(tp, timeout=5, cached=False)
                total += max(0, high - tp.offset) if tp.offset >= 0 else 0
        return total

    # -- the batch ---------------------------------------------------------------------------

    def _process_batch(self, batch: list[Message]) -> None:
        before = dict(self._pending)
        try:
            self._process_batch_unguarded(batch)
        except BaseException:
            # A failed DLQ write (or any escape) must not let this batch's offsets be committed on the
            # way out: the batch is re-delivered, never lost.
            self._pending = before
            raise

    def _process_batch_unguarded(self, batch: list[Message]) -> None:
        self.stats.batches += 1
        self.stats.consumed += len(batch)
        decoded: list[tuple[Message, T]] = []
        decode, keep = self._decode, decoded.append
        for msg in batch:
            try:
                keep((msg, decode(msg)))
            except SchemaViolationError as exc:
                exc.topic, exc.partition, exc.offset = msg.topic(), msg.partition(), msg.offset()
                self._dead_letter(msg, "deserialize", exc, attempts=1)
        if decoded and not self._batch:
            for msg, record in decoded:
                if self._key(msg) not in self._revoked:
                    self._process_one(msg, record)
        elif decoded:
            try:
                self._handle([record for _, record in decoded])
            except Exception as exc:
                log.warning(
                    "batch of %d failed (%s: %s); retrying record by record",
                    len(decoded),
                    type(exc).__name__,
                    exc,
                )
                for msg, record in decoded:
                    if self._key(msg) in self._revoked:
                        continue  # its new owner will process it
                    self._process_one(msg, record)
            else:
                self.stats.processed += len(decoded)
                self._mark_all_done(msg for msg, _ in decoded)
        if self._dlq is not None:
            self._dlq.flush()  # acknowledged before any offset of this batch is committed

    def _process_one(self, msg: Message, record: T) -> None:
        attempts = 0
        while True:
            attempts += 1
            try:
                self._handle([record] if self._batch else record)
            except Exception as exc:
                if self.retry.should_retry(exc, attempts) and not self._stop.is_set():
                    self.stats.retries += 1
                    self._wait_keeping_membership(self.retry.backoff(attempts, self._rng))
                    if self._key(msg) in self._revoked:
                        return
                    continue
                self._dead_letter(msg, "process", exc, attempts)
                return
            self.stats.processed += 1
            self._mark_done(msg)
            return

    def _dead_letter(self, msg: Message, stage: str, error: BaseException, attempts: int) -> None:
        if self._dlq is None:
            raise PipelineError(
                f"topic {msg.topic()} partition {msg.partition()} offset {msg.offset()}: {stage} failed "
                f"after {attempts} attempt(s) and no dead-letter queue is configured: {error}"
            ) from error
        self._dlq.from_message(msg, stage, error, attempts)
        if self.on_dead_letter is not None:
            self.on_dead_letter(msg, stage, error)
        self.stats.dead_lettered += 1
        self.stats.dead_lettered_by_stage[stage] = self.stats.dead_lettered_by_stage.get(stage, 0) + 1
        self._mark_done(msg)

    def _wait_keeping_membership(self, seconds: float) -> None:
        """Sleep ``seconds`` while polling (all partitions paused), so the group keeps us."""
        assignment = self._consumer.assignment()
        self._consumer.pause(assignment)
        deadline = time.monotonic() + seconds
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                msg = self._consumer.poll(min(self._sleep_slice, remaining))
                if msg is not None and not self._is_event(msg):
                    # A partition assigned during the wait is not paused: rewind it and pause it too.
                    tp = TopicPartition(str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0))
                    self._consumer.pause([tp])
                    self._consumer.seek(tp)
        finally:
            self._consumer.resume(self._consumer.assignment())

    # -- offsets -----------------------------------------------------------------------------

    @staticmethod
    def _key(msg: Message) -> tuple[str, int]:
        return (str(msg.topic()), int(msg.partition() or 0))

    def _mark_done(self, msg: Message) -> None:
        key = self._key(msg)
        if key not in self._revoked:
            # Messages are marked out of order (dead letters at decode, the rest after the handler); the
            # whole batch is done before a commit, so the highest mark is the one to commit.
            self._pending[key] = max(self._pending.get(key, 0), int(msg.offset() or 0) + 1)

    def _mark_all_done(self, messages: Iterable[Message]) -> None:
        """``_mark_done`` for a whole handled batch, with one mark per partition instead of per message.
        A partition's messages come out of librdkafka in offset order, so its last one is its highest."""
        last = {(msg.topic(), msg.partition()): msg for msg in messages}
        for (topic, partition), msg in last.items():
            key = (topic or "", partition or 0)
            if key not in self._revoked:
                self._pending[key] = max(self._pending.get(key, 0), (msg.offset() or 0) + 1)

    def _commit(self, only: Iterable[tuple[str, int]] | None = None, *, keep_refused: bool = False) -> bool:
        """Commit the processed offsets (of ``only``'s partitions, else all). Returns False when a
        rebalance under way refused it; with ``keep_refused`` the offsets are then kept for another try,
        else only those of partitions still owned are (committed with the next batch)."""
        keys = list(self._pending) if only is None else [k for k in only if k in self._pending]
        if not keys:
            return True
        offsets = [
            TopicPartition(topic, partition, self._pending[(topic, partition)]) for topic, partition in keys
        ]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            code = error.code() if isinstance(error, KafkaError) else None
            if code == KafkaError._NO_OFFSET:
                return True
            log.warning("commit of %s failed: %s", offsets, exc)
            if code in _REBALANCING:
                self.stats.refused_commits += 1
                if not keep_refused:
                    # Keep what was processed for the partitions still owned and commit it with the next
                    # batch (or in their revoke callback), or else their new owner would process it again.
                    for key in keys:
                        if key not in self._owned:
                            self._pending.pop(key, None)
                return False
            # Ownership lost for good: the new owner re-reads from the last commit; nothing is lost.
        else:
            self.stats.commits += 1
        for key in keys:
            self._pending.pop(key, None)
        return True

    def _commit_revoked(self, keys: list[tuple[str, int]]) -> None:
        """Commit what was processed of the partitions being revoked, before they are handed over.

        The revoke callback runs while they are still owned and before the group moves on, so a commit
        refused because a rebalance is under way (the generation or member epoch is being replaced) is
        tried again with backoff: giving it up would hand processed records to the new owner, a
        duplicate on a clean rebalance. Other errors, and a refusal that outlasts the attempts, leave the
        records to the new owner (re-delivered, never lost)."""
        for attempt in range(_REVOKE_COMMIT_ATTEMPTS):
            if self._commit(only=keys, keep_refused=True):
                return
            time.sleep(0.1 * 2**attempt)
        log.warning(
            "commit of revoked partitions %s still refused after %d attempts: their new owner will "
            "process the uncommitted records again",
            sorted(k for k in keys if k in self._pending),
            _REVOKE_COMMIT_ATTEMPTS,
        )

    # -- rebalance and signals -----------------------------------------------------------------

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned_at = time.monotonic()
        for tp in partitions:
            self._revoked.discard((tp.topic, tp.partition))
            self._owned.add((tp.topic, tp.partition))
            self.ever_owned.add((tp.topic, tp.partition))

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        keys = [(tp.topic, tp.partition) for tp in partitions]
        self._commit_revoked(keys)
        self._revoked.update(keys)
        self._owned.difference_update(keys)
        for key in keys:
            self._pending.pop(key, None)

    def _is_event(self, msg: Message) -> bool:
        error = msg.error()
        if error is None:
            return False
        if error.code() != KafkaError._PARTITION_EOF:
            log.warning("consumer event: %s", error)
            if error.fatal():
                raise KafkaException(error)
        return True

    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda _sig, _frame: self.stop())
        return previous
