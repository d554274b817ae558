"""The retry policy's bounds, exactly (mutation testing found these unchecked, docs/testing.md)."""

from __future__ import annotations

import pytest

from common.retry import Retry, RetryPolicy


def test_a_single_attempt_is_a_valid_policy_that_never_waits() -> None:
    sleeps: list[float] = []
    retry = Retry(RetryPolicy(max_attempts=1, base_s=0.1, cap_s=1.0), sleep=sleeps.append)
    assert list(retry.attempts()) == [1]
    assert sleeps == []


def test_zero_attempts_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"^max_attempts must be at least 1$"):
        RetryPolicy(max_attempts=0, base_s=0.1, cap_s=1.0)


@pytest.mark.parametrize(("base_s", "cap_s"), [(-0.1, 1.0), (2.0, 1.0)])
def test_delays_out_of_order_are_refused_with_the_reason(base_s: float, cap_s: float) -> None:
    with pytest.raises(ValueError, match=r"^delays need 0 <= base_s <= cap_s$"):
        RetryPolicy(max_attempts=3, base_s=base_s, cap_s=cap_s)


def test_equal_base_and_cap_and_a_zero_base_are_valid() -> None:
    assert RetryPolicy(max_attempts=2, base_s=1.0, cap_s=1.0).delay(5, lambda: 1.0) == 1.0
    assert RetryPolicy(max_attempts=2, base_s=0.0, cap_s=0.0).delay(1, lambda: 1.0) == 0.0
