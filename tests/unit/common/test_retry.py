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


class Flaky:
    """Fails with the given exceptions in turn, then answers `done`."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


def test_call_retries_transient_failures_until_the_call_returns() -> None:
    sleeps: list[float] = []
    retried: list[Exception] = []
    retry = Retry(
        RetryPolicy(max_attempts=5, base_s=0.1, cap_s=1.0, jitter=False), sleep=sleeps.append
    )
    flaky = Flaky(TimeoutError("a"), TimeoutError("b"))
    assert (
        retry.call(flaky, transient=lambda e: isinstance(e, TimeoutError), on_retry=retried.append)
        == "done"
    )
    assert flaky.calls == 3
    assert [str(e) for e in retried] == ["a", "b"]
    assert sleeps == pytest.approx([0.1, 0.2])


def test_call_raises_a_failure_that_is_not_transient_at_once() -> None:
    sleeps: list[float] = []
    retry = Retry(RetryPolicy(max_attempts=5, base_s=0.1, cap_s=1.0), sleep=sleeps.append)
    flaky = Flaky(ValueError("refused"))
    with pytest.raises(ValueError, match="refused"):
        retry.call(flaky, transient=lambda e: isinstance(e, TimeoutError), on_retry=pytest.fail)
    assert (flaky.calls, sleeps) == (1, [])


def test_call_raises_the_last_attempts_failure_when_attempts_run_out() -> None:
    retried: list[Exception] = []
    retry = Retry(RetryPolicy(max_attempts=3, base_s=0.0, cap_s=0.0), sleep=lambda _s: None)
    flaky = Flaky(*(TimeoutError(f"t{n}") for n in range(5)))
    with pytest.raises(TimeoutError, match="t2"):
        retry.call(flaky, transient=lambda _e: True, on_retry=retried.append)
    assert flaky.calls == 3
    assert [str(e) for e in retried] == ["t0", "t1"]


def test_call_without_an_attempt_limit_keeps_going() -> None:
    retry = Retry(RetryPolicy(max_attempts=None, base_s=0.0, cap_s=0.0), sleep=lambda _s: None)
    flaky = Flaky(*(TimeoutError() for _ in range(20)))
    assert retry.call(flaky, transient=lambda _e: True, on_retry=lambda _e: None) == "done"
    assert flaky.calls == 21
