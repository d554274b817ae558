"""The one retry helper: a policy (attempts, exponential delays, jitter) and a paced loop.

Every retry loop in the repo (PutRecords partial failures, BatchWriteItem UnprocessedItems,
checkpoint throttling, the local stream event source, Athena polling) is written as

    for attempt in retry.attempts():
        remaining = call(remaining)
        if not remaining:
            break
    else:
        give_up()

and a call that either succeeds or fails whole (GetRecords, UpdateItem) as
`retry.call(fn, transient=..., on_retry=...)`, so the pacing, the cap and the jitter are
stated in one place, and tests inject `sleep` and
`random` instead of waiting. Full jitter (uniform in [0, min(cap, base * 2^n))) spreads many
clients apart (AWS Architecture Blog, "Exponential Backoff and Jitter").
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to try; `max_attempts=None` means until the caller stops."""

    max_attempts: int | None
    base_s: float
    cap_s: float
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_s < 0 or self.cap_s < self.base_s:
            raise ValueError("delays need 0 <= base_s <= cap_s")

    def delay(self, attempt: int, random: Callable[[], float] = _random.random) -> float:
        """The wait after failed attempt `attempt` (1-based)."""
        ceiling = min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        return float(ceiling * random()) if self.jitter else float(ceiling)


class Retry:
    """A policy bound to a clock: `attempts()` yields 1, 2, … and sleeps between them."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.policy = policy
        self._sleep = sleep
        self._random = random

    def attempts(self) -> Iterator[int]:
        attempt = 1
        while True:
            yield attempt
            if self.policy.max_attempts is not None and attempt >= self.policy.max_attempts:
                return
            self._sleep(self.policy.delay(attempt, self._random))
            attempt += 1

    def call(
        self,
        fn: Callable[[], T],
        *,
        transient: Callable[[Exception], bool],
        on_retry: Callable[[Exception], None],
    ) -> T:
        """`fn()` until it returns: an exception `transient` accepts is reported to `on_retry`
        and retried; any other, or the last attempt's, is raised."""
        attempts = self.attempts()
        while True:
            attempt = next(attempts)
            try:
                return fn()
            except Exception as e:
                if not transient(e) or attempt == self.policy.max_attempts:
                    raise
                on_retry(e)
