"""Retry policy: exponential backoff with jitter, a bounded number of attempts, and error classes that
are never retried. Pure: it computes delays; the consumer loop does the waiting."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` counts the first try: 4 means one try and up to three retries.

    The n-th retry waits ``initial_backoff * multiplier**(n-1)``, capped at ``max_backoff``, then
    spread by ``jitter`` (0.2 = +/-20 %) so consumers that failed together do not retry together."""

    max_attempts: int = 4
    initial_backoff: float = 0.2
    multiplier: float = 2.0
    max_backoff: float = 10.0
    jitter: float = 0.2
    non_retryable: tuple[type[BaseException], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def should_retry(self, error: BaseException, attempts_made: int) -> bool:
        """True when another attempt is allowed after ``attempts_made`` failed ones."""
        return attempts_made < self.max_attempts and not isinstance(error, self.non_retryable)

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry)."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (retry_number - 1))
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, base * (1 + spread))
