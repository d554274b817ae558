"""DynamoDB 5xx and throttling are retried by the sink itself: the lean DynamoDB client
(common/json_api.py) does not retry as botocore's standard mode did."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError

from consumer.sinks import DynamoTicks, SinkError


def error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "Op",
    )


class Flaky:
    """Fails the first `failures` calls of each operation with `fault`, then succeeds."""

    def __init__(self, fault: ClientError, failures: int) -> None:
        self.fault = fault
        self.failures = failures
        self.calls: dict[str, int] = {}

    def _call(self, name: str) -> dict[str, Any]:
        self.calls[name] = self.calls.get(name, 0) + 1
        if self.calls[name] <= self.failures:
            raise self.fault
        return {}

    def batch_write_item(self, **_kwargs: Any) -> dict[str, Any]:
        return self._call("batch_write_item")

    def update_item(self, **_kwargs: Any) -> dict[str, Any]:
        return self._call("update_item")


ITEM = {"symbol": {"S": "AAPL"}, "id": {"S": "t1"}}


@pytest.mark.parametrize(
    "fault",
    [error("ServiceUnavailable", 503), error("InternalFailure", 500), error("503", 503)],
    ids=["unavailable", "internal", "no-code"],
)
def test_a_server_error_is_retried_until_the_write_succeeds(fault: ClientError) -> None:
    client = Flaky(fault, failures=2)
    ticks = DynamoTicks(client, "ticks", sleep=lambda _s: None)
    assert ticks.put_items([ITEM]) == []
    ticks.update_latest("AAPL", 1, 1.5, "t1")
    assert client.calls == {"batch_write_item": 3, "update_item": 3}


def test_a_throttled_latest_quote_update_is_retried() -> None:
    client = Flaky(error("ThrottlingException", 400), failures=1)
    DynamoTicks(client, "ticks", sleep=lambda _s: None).update_latest("AAPL", 1, 1.5, "t1")
    assert client.calls == {"update_item": 2}


def test_a_latest_quote_update_that_keeps_failing_raises_sink_error_after_the_attempts() -> None:
    client = Flaky(error("ServiceUnavailable", 503), failures=99)
    ticks = DynamoTicks(client, "ticks", max_attempts=3, sleep=lambda _s: None)
    with pytest.raises(SinkError):
        ticks.update_latest("AAPL", 1, 1.5, "t1")
    assert client.calls == {"update_item": 3}


def test_a_client_error_of_the_request_is_not_retried() -> None:
    client = Flaky(error("ResourceNotFoundException", 400), failures=99)
    with pytest.raises(SinkError):
        DynamoTicks(client, "ticks", sleep=lambda _s: None).update_latest("AAPL", 1, 1.5, "t1")
    assert client.calls == {"update_item": 1}


def test_each_retry_is_logged_with_the_table_or_symbol_and_the_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Flaky(error("ThrottlingException", 400), failures=1)
    ticks = DynamoTicks(client, "ticks", sleep=lambda _s: None)
    with caplog.at_level(logging.WARNING, logger="consumer.sinks"):
        ticks.put_items([ITEM])
        ticks.update_latest("AAPL", 1, 1.5, "t1")
    assert [r.getMessage() for r in caplog.records] == [
        "BatchWriteItem to ticks failed (ThrottlingException); retrying",
        "latest-quote update for AAPL failed (An error occurred (ThrottlingException) when "
        "calling the Op operation: m); retrying",
    ]
