"""The DLQ tools' pure parts: how replay remembers its progress (never committing past an entry that
stayed invalid, never re-driving one twice), how a topic is judged a dead-letter topic, and filters by the
documented header names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.dlq.envelope import DeadLetter, dead_letter_headers
from pipeline.dlq.tools import (
    DlqEntry,
    ReplayProgress,
    _letters,
    matches,
    normalized_filters,
    replay_group,
)
from pipeline.errors import ConfigError, PipelineError


def test_the_commit_stops_at_the_first_entry_that_stayed_invalid() -> None:
    progress = ReplayProgress.restore(-1, 0, None)
    for offset, invalid in enumerate([False, False, True, False, True, True, False]):
        progress.record(offset, invalid=invalid)
    assert progress.offset == 2, "offset 2 stayed invalid: the next replay must see it"
    assert progress.pending == [[2, 2], [4, 5]] and progress.through == 7

    again = ReplayProgress.restore(progress.offset, 0, progress.metadata())
    assert again == progress
    assert [o for o in range(2, 7) if not again.done(o)] == [2, 4, 5], "re-driven ones are not tried again"


def test_a_fixed_entry_leaves_the_pending_ones_and_the_commit_moves_on() -> None:
    progress = ReplayProgress(through=11, pending=[[0, 10]])
    progress.record(5, invalid=False)
    assert progress.pending == [[0, 4], [6, 10]]
    for offset in (0, 1, 2, 3, 4):
        progress.record(offset, invalid=False)
    assert progress.offset == 6
    for offset in range(6, 11):
        progress.record(offset, invalid=False)
    assert progress.pending == [] and progress.offset == 11


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        "",
        "something else",
        "dlq-replay/1 through=x",
        "dlq-replay/1 through=9 pending=0+2,-3+1",  # a negative gap
        "dlq-replay/1 through=9 pending=0+0",
        "dlq-replay/1 through=5 pending=0+9",  # pending past through
        "dlq-replay/1 through=9 pending=2+1",  # the commit is not at the first pending entry
    ],
)
def test_metadata_that_is_not_ours_means_from_the_committed_offset(metadata: str | None) -> None:
    assert ReplayProgress.restore(3, 0, metadata) == ReplayProgress(through=3)


def test_what_retention_deleted_is_dropped() -> None:
    progress = ReplayProgress(through=20, pending=[[2, 3], [8, 12]])
    again = ReplayProgress.restore(2, 10, progress.metadata())
    assert again.pending == [[10, 12]] and again.offset == 10
    assert ReplayProgress.restore(-1001, 7, None) == ReplayProgress(through=7), "nothing committed: the start"


def test_the_metadata_stays_within_what_a_commit_can_carry() -> None:
    base = 10**15  # long offsets make long metadata
    progress = ReplayProgress.restore(base, 0, None)
    stopped_at = None
    for offset in range(base, base + 10_000):
        invalid = offset % 2 == 0  # every other entry invalid: a new stretch each time
        if not progress.fits(offset, invalid=invalid):
            stopped_at = offset
            break
        progress.record(offset, invalid=invalid)
    assert stopped_at is not None, "a partition stops before the metadata outgrows a commit"
    assert len(progress.metadata()) <= 3000 < 4096
    assert progress.fits(stopped_at + 1, invalid=True) is False
    assert progress.fits(stopped_at - 1, invalid=True), "extending the last stretch costs nothing"


# For each entry, the replay from which on it is valid (None: never); how many entries arrive before each.
fixes = st.lists(st.one_of(st.none(), st.integers(0, 4)), min_size=1, max_size=60)


@given(fixes=fixes, arrivals=st.lists(st.integers(0, 30), min_size=5, max_size=5))
def test_replays_re_drive_each_entry_once_and_see_every_invalid_one_again(
    fixes: list[int | None], arrivals: list[int]
) -> None:
    committed, metadata = -1, None
    redriven: set[int] = set()
    for run in range(len(arrivals)):
        end = min(len(fixes), sum(arrivals[: run + 1]))
        valid = {o for o in range(end) if fixes[o] is not None and fixes[o] <= run}  # type: ignore[operator]
        progress = ReplayProgress.restore(committed, 0, metadata)
        seen_valid, seen_invalid = set(), set()
        for offset in range(progress.offset, end):
            if progress.done(offset):
                continue
            invalid = offset not in valid
            assert progress.fits(offset, invalid=invalid)
            (seen_invalid if invalid else seen_valid).add(offset)
            progress.record(offset, invalid=invalid)
        assert not seen_valid & redriven, "no entry re-driven twice"
        assert seen_valid == valid - redriven, "every entry that now fits is re-driven"
        assert seen_invalid == set(range(end)) - valid - redriven, "every invalid one is seen again"
        assert progress.offset <= min(seen_invalid, default=progress.offset), "never committed past one"
        redriven |= seen_valid
        committed, metadata = progress.offset, progress.metadata()


@dataclass
class FakeMessage:
    """What _letters reads of a Kafka message."""

    offset_: int
    headers_: list[tuple[str, bytes]]

    def headers(self) -> list[tuple[str, bytes]]:
        return self.headers_

    def topic(self) -> str:
        return "t.dlq"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self.offset_

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return b"v"


LETTER = dead_letter_headers(DeadLetter("process", "Boom", "failed", original_topic="t"))


def _messages(kinds: str) -> list[FakeMessage]:
    """``d`` a dead letter, ``x`` a plain message."""
    return [FakeMessage(i, LETTER if kind == "d" else [("trace", b"1")]) for i, kind in enumerate(kinds)]


def test_a_topic_without_dead_letters_is_refused() -> None:
    with pytest.raises(PipelineError, match=r"t\.dlq is not a dead-letter topic: none of the 100 messages"):
        list(_letters(_messages("x" * 150), "t.dlq"))
    with pytest.raises(PipelineError, match=r"none of the 3 messages read from it carries a dlq\.stage"):
        list(_letters(_messages("xxx"), "t.dlq"))
    assert list(_letters([], "t.dlq")) == [], "an empty topic is an empty dead-letter topic"


def test_stray_messages_in_a_dead_letter_topic_come_through_in_order() -> None:
    got = list(_letters(_messages("xxdxdx"), "t.dlq"))
    assert [msg.offset() for msg, _ in got] == [0, 1, 2, 3, 4, 5]
    assert [entry is not None for _, entry in got] == [False, False, True, False, True, False]


def _entry(**fields: object) -> DlqEntry:
    letter = DeadLetter(
        **{  # type: ignore[arg-type]
            "stage": "deserialize",
            "error_class": "CorruptPayloadError",
            "error_message": "truncated",
            "time": datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
            "field_path": "o.Order.amount",
            "attempts": 1,
            **fields,
        }
    )
    return DlqEntry("t.dlq", 0, 0, letter, None, None, ())


def test_filters_use_the_header_names_and_compare_their_text() -> None:
    entry = _entry()
    assert matches(entry, {"dlq.field.path": "o.Order.amount", "dlq.stage": "deserialize"})
    assert matches(entry, {"field_path": "o.Order.amount", "error.class": "CorruptPayloadError"})
    assert matches(entry, {"dlq.attempts": "1", "dlq.time": "2026-11-27T10:00:00+00:00"})
    assert not matches(entry, {"dlq.error.class": "SchemaMismatchError"})
    assert not matches(entry, {"dlq.subject": "None"}), "an absent header matches nothing"
    with pytest.raises(ConfigError, match=r"'dlq\.colour' is not a dead-letter header; use one of"):
        matches(entry, {"dlq.colour": "red"})


def test_the_same_filter_by_any_name_is_the_same_replay_group() -> None:
    assert normalized_filters({"dlq.error.class": "X", "dlq.stage": "process"}) == {
        "error_class": "X",
        "stage": "process",
    }
    assert replay_group("t.dlq", {"dlq.error.class": "X"}) == replay_group("t.dlq", {"error_class": "X"})
    assert replay_group("t.dlq", {"error_class": "X"}) != replay_group("t.dlq", {})
