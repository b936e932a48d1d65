"""The main job's transform watcher: it stops the transform once its input is read, and a lag that cannot
be asked for a while (a rebalance after a kill -9, a busy broker) does not kill it (the run then hung)."""

from __future__ import annotations

import threading

from confluent_kafka import KafkaError, KafkaException

from pipeline.app.run import stop_when_read


class Loop:
    def __init__(self) -> None:
        self.stopping = False

    def stop(self) -> None:
        self.stopping = True


def test_the_transform_is_stopped_once_its_lag_is_zero_even_after_failed_asks() -> None:
    busy = KafkaException(KafkaError(KafkaError._TIMED_OUT))
    answers = iter([busy, busy, 7, busy, 0])
    asked: list[object] = []

    def lag() -> int:
        answer = next(answers)
        asked.append(answer)
        if isinstance(answer, KafkaException):
            raise answer
        return answer

    loop, done = Loop(), threading.Event()
    done.set()
    stop_when_read(loop, lag, [done], pause=0)
    assert loop.stopping
    assert asked == [busy, busy, 7, busy, 0]


def test_nothing_is_asked_before_the_producers_are_done() -> None:
    loop, done = Loop(), threading.Event()
    asked: list[int] = []

    def lag() -> int:
        asked.append(0)
        return 0

    watcher = threading.Thread(target=stop_when_read, args=(loop, lag, [done]), kwargs={"pause": 0})
    watcher.start()
    watcher.join(0.2)
    assert asked == [] and not loop.stopping
    done.set()
    watcher.join(5)
    assert asked == [0] and loop.stopping


def test_a_loop_stopped_otherwise_ends_the_watch() -> None:
    loop, done = Loop(), threading.Event()
    done.set()
    loop.stop()
    asked: list[int] = []
    stop_when_read(loop, lambda: asked.append(1) or 1, [done], pause=0)
    assert asked == []
