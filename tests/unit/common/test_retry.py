"""The one retry helper: attempt counts, delays, cap and jitter, with an injected clock."""

from __future__ import annotations

import itertools

import pytest

from common.retry import Retry, RetryPolicy


def test_attempts_are_counted_and_the_waits_double_up_to_the_cap() -> None:
    sleeps: list[float] = []
    retry = Retry(
        RetryPolicy(max_attempts=6, base_s=0.2, cap_s=1.0), sleep=sleeps.append, random=lambda: 1.0
    )
    assert list(retry.attempts()) == [1, 2, 3, 4, 5, 6]
    # a wait between attempts, none after the last
    assert sleeps == pytest.approx([0.2, 0.4, 0.8, 1.0, 1.0])


def test_full_jitter_scales_each_wait_by_the_random_draw() -> None:
    sleeps: list[float] = []
    draws = iter([0.5, 0.25])
    retry = Retry(
        RetryPolicy(max_attempts=3, base_s=1.0, cap_s=10.0),
        sleep=sleeps.append,
        random=lambda: next(draws),
    )
    list(retry.attempts())
    assert sleeps == pytest.approx([0.5, 0.5])


def test_without_jitter_the_wait_is_the_ceiling() -> None:
    policy = RetryPolicy(max_attempts=None, base_s=0.5, cap_s=2.5, jitter=False)
    assert [policy.delay(n, lambda: 0.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 2.5]


def test_a_caller_that_succeeds_stops_the_loop_without_another_wait() -> None:
    sleeps: list[float] = []
    retry = Retry(RetryPolicy(max_attempts=5, base_s=0.1, cap_s=1.0), sleep=sleeps.append)
    for attempt in retry.attempts():
        if attempt == 2:
            break
    assert len(sleeps) == 1


def test_an_unbounded_policy_goes_on_until_the_caller_stops() -> None:
    retry = Retry(RetryPolicy(max_attempts=None, base_s=0.0, cap_s=0.0), sleep=lambda s: None)
    assert list(itertools.islice(retry.attempts(), 50)) == list(range(1, 51))


@pytest.mark.parametrize(
    ("attempts", "base", "cap"), [(0, 0.1, 1.0), (3, -0.1, 1.0), (3, 2.0, 1.0)]
)
def test_a_policy_that_cannot_work_is_refused(attempts: int, base: float, cap: float) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=attempts, base_s=base, cap_s=cap)
