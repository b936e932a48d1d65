from __future__ import annotations

import random

import pytest

from pipeline.retry import RetryPolicy


def test_backoff_grows_exponentially_and_is_capped() -> None:
    policy = RetryPolicy(initial_backoff=0.1, multiplier=2, max_backoff=0.5, jitter=0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.1, 0.2, 0.4, 0.5, 0.5]


def test_jitter_stays_within_its_band() -> None:
    policy = RetryPolicy(initial_backoff=1.0, jitter=0.2)
    rng = random.Random(7)
    delays = [policy.backoff(1, rng) for _ in range(1000)]
    assert min(delays) >= 0.8 and max(delays) <= 1.2
    assert max(delays) - min(delays) > 0.3, "jitter actually spreads the delays"


def test_attempts_are_bounded_and_non_retryable_errors_are_not_retried() -> None:
    policy = RetryPolicy(max_attempts=3, non_retryable=(KeyError,))
    assert policy.should_retry(ValueError(), 1)
    assert policy.should_retry(ValueError(), 2)
    assert not policy.should_retry(ValueError(), 3)
    assert not policy.should_retry(KeyError(), 1)


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"jitter": 1.0}, {"jitter": -0.1}])
def test_nonsense_policies_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)
