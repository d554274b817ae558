"""Publisher logic without a network: which entries are retried, back-off, counters.

The client here is a scripted stand-in for PutRecords responses; the real round trip,
including partial failures, runs against the emulator in tests/integration.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from common.retry import RetryPolicy
from producer.publisher import KinesisPublisher, PublisherClosed, StreamNotFound
from tests.factories import ticks


class ScriptedKinesis:
    """Fails the entries whose data appears in `fail_first` on their first attempt only."""

    def __init__(self, fail_first: set[bytes] | None = None, always_fail: bool = False) -> None:
        self.fail_first = set(fail_first or ())
        self.always_fail = always_fail
        self.calls: list[list[bytes]] = []
        self.stored: list[bytes] = []

    def describe_stream_summary(self, StreamName: str) -> dict[str, Any]:  # noqa: N803
        if StreamName != "ticks":
            raise ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": ""}},
                "DescribeStreamSummary",
            )
        return {"StreamDescriptionSummary": {"StreamStatus": "ACTIVE"}}

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.calls.append([r["Data"] for r in Records])
        results, failed = [], 0
        for record in Records:
            if self.always_fail or record["Data"] in self.fail_first:
                self.fail_first.discard(record["Data"])
                results.append(
                    {
                        "ErrorCode": "ProvisionedThroughputExceededException",
                        "ErrorMessage": "Rate exceeded",
                    }
                )
                failed += 1
            else:
                self.stored.append(record["Data"])
                results.append({"SequenceNumber": str(len(self.stored)), "ShardId": "s-0"})
        return {"FailedRecordCount": failed, "Records": results}


def publish(client: ScriptedKinesis, n: int, **kwargs: Any) -> tuple[KinesisPublisher, list[float]]:
    sleeps: list[float] = []
    publisher = KinesisPublisher(
        client, "ticks", linger_s=0.01, sleep=sleeps.append, jitter=lambda: 1.0, **kwargs
    ).start()
    for tick in ticks(n):
        publisher.send(tick)
    publisher.close()
    return publisher, sleeps


def test_only_failed_entries_are_retried_and_all_arrive_once() -> None:
    # GIVEN every 7th entry fails once WHEN 1000 ticks are published
    data = [t.encode() for t in ticks(1000)]
    failing = set(data[::7])
    client = ScriptedKinesis(fail_first=failing)
    publisher, sleeps = publish(client, 1000)
    # THEN each arrives once, failing entries were sent twice and the others once
    assert sorted(client.stored) == sorted(data)
    attempts = Counter(d for call in client.calls for d in call)
    assert all(attempts[d] == (2 if d in failing else 1) for d in data)
    assert publisher.counters.sent == 1000
    assert publisher.counters.retried == len(failing)
    assert publisher.counters.failed == 0
    assert sleeps  # backed off before each retry


def test_backoff_doubles_up_to_the_cap_then_records_count_as_failed() -> None:
    client = ScriptedKinesis(always_fail=True)
    policy = RetryPolicy(max_attempts=6, base_s=0.2, cap_s=1.0)
    publisher, sleeps = publish(client, 3, retry=policy)
    assert sleeps == pytest.approx([0.2, 0.4, 0.8, 1.0, 1.0])
    assert publisher.counters.failed == 3 and publisher.counters.sent == 0
    assert publisher.counters.calls == 6


def test_missing_stream_is_a_clear_error_before_anything_is_queued() -> None:
    with pytest.raises(StreamNotFound, match="'nope' does not exist"):
        KinesisPublisher(ScriptedKinesis(), "nope").start()


def test_send_after_close_is_refused() -> None:
    publisher, _ = publish(ScriptedKinesis(), 1)
    with pytest.raises(PublisherClosed):
        publisher.send(ticks(1)[0])


def test_calls_carry_at_most_500_records_and_symbol_partition_keys() -> None:
    seen_keys: list[str] = []

    class KeyRecorder(ScriptedKinesis):
        def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
            seen_keys.extend(r["PartitionKey"] for r in Records)
            return super().put_records(StreamName, Records)

    client = KeyRecorder()
    publish(client, 1700, buffer_records=5000)
    assert max(len(c) for c in client.calls) <= 500
    assert set(seen_keys) == {"AAPL", "MSFT", "GOOG"}
