"""The polling helper of the process-level tiers fails with the real error, not a bare timeout."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from tests.waiting import AWS_NOT_READY, wait_for


def no_such_table() -> ClientError:
    return ClientError(
        {"Error": {"Code": "ResourceNotFoundException", "Message": "Requested resource not found"}},
        "Scan",
    )


def test_an_unexpected_error_fails_the_wait_at_once_with_that_error() -> None:
    calls = []

    def broken() -> bool:
        calls.append(1)
        raise KeyError("leaseOwner")

    started = time.monotonic()
    with pytest.raises(KeyError, match="leaseOwner"):
        wait_for(broken, 30, "leases", interval=0.01)
    assert calls == [1] and time.monotonic() - started < 5


def test_a_tolerated_error_is_polled_past_until_the_condition_holds() -> None:
    answers: list[bool | ClientError] = [no_such_table(), no_such_table(), False, True]

    def table_ready() -> bool:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    wait_for(table_ready, 30, "the table", tolerate=AWS_NOT_READY, interval=0.01)
    assert answers == []


def test_a_timeout_carries_the_last_tolerated_error_as_its_cause() -> None:
    def never_created() -> bool:
        raise no_such_table()

    with pytest.raises(AssertionError, match="ResourceNotFoundException") as failure:
        wait_for(never_created, 0.05, "the lease table", tolerate=AWS_NOT_READY, interval=0.01)
    assert "waiting for the lease table" in str(failure.value)
    assert isinstance(failure.value.__cause__, ClientError)


def test_a_condition_that_stays_false_times_out_naming_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match=r"timed out after 0 s waiting for 2000 ticks$"):
        wait_for(lambda: False, 0.05, "2000 ticks", interval=0.01)
