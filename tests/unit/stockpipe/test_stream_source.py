"""The local DynamoDB-Streams event source: re-delivery of failed records, the give-up, the
Lambda event shape, shard discovery and the poll loop.

The streams client is a scripted stand-in holding records in the shape boto3 returns them
(datetimes, >64-bit sequence numbers); the round trip over the emulator's real stream runs in
tests/integration/lambdas/test_trend_end_to_end.py.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from lambdas.trend.engine import TickIn
from stockpipe.stream_source import StreamEventSource
from tests.stream_events import stream_record

ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/stockpipe-ticks/stream/2026-11-25"
CREATED = datetime(2026, 11, 25, 14, 30, 5, tzinfo=UTC)


def boto3_record(sequence: int, **overrides: Any) -> dict[str, Any]:
    """A stream record as boto3's GetRecords gives it: creation time as a datetime."""
    tick = TickIn(f"t-{sequence}", 1_764_080_000_000 + sequence * 1000, 100.0 + sequence, 10)
    record = stream_record("AAPL", tick, sequence)
    record["dynamodb"]["ApproximateCreationDateTime"] = CREATED
    for key in ("eventSource", "awsRegion", "eventSourceARN"):
        del record[key]  # GetRecords leaves these to the event source mapping
    record.update(overrides)
    return record


def sequence_of(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


class ScriptedStreams:
    """Shards of records behind iterators `shard:position`; closed shards end their pages."""

    def __init__(
        self, shards: dict[str, list[dict[str, Any]]], closed: frozenset[str] = frozenset()
    ) -> None:
        self.shards = shards
        self.closed = closed
        self.limits: list[int] = []
        self.iterator_requests: list[tuple[str, str, str]] = []
        self.meta = type("Meta", (), {"region_name": "eu-west-1"})()

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:  # noqa: N803
        assert StreamArn == ARN
        return {"StreamDescription": {"Shards": [{"ShardId": s} for s in self.shards]}}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str) -> Any:  # noqa: N803
        self.iterator_requests.append((StreamArn, ShardId, ShardIteratorType))
        return {"ShardIterator": f"{ShardId}:0"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:  # noqa: N803
        self.limits.append(Limit)
        shard, position = ShardIterator.rsplit(":", 1)
        start = int(position)
        page = self.shards[shard][start : start + Limit]
        end = start + len(page)
        result: dict[str, Any] = {"Records": page}
        if not (shard in self.closed and end == len(self.shards[shard])):
            result["NextShardIterator"] = f"{shard}:{end}"
        return result


class ScriptedHandler:
    """Records each event; answers with the failures scripted for that call (by sequence)."""

    def __init__(self, *failures: set[str]) -> None:
        self.failures = list(failures)
        self.events: list[list[dict[str, Any]]] = []

    def __call__(self, event: Mapping[str, Any], context: object) -> dict[str, Any]:
        assert context is None
        self.events.append(list(event["Records"]))
        failed = self.failures.pop(0) if self.failures else set()
        return {"batchItemFailures": [{"itemIdentifier": s} for s in sorted(failed)]}

    def sequences(self) -> list[list[str]]:
        return [[sequence_of(r) for r in records] for records in self.events]


def source_for(
    streams: ScriptedStreams, handler: ScriptedHandler, **kwargs: Any
) -> tuple[StreamEventSource, list[float]]:
    sleeps: list[float] = []
    source = StreamEventSource(
        streams, ARN, handler, region="eu-west-1", sleep=sleeps.append, **kwargs
    )
    return source, sleeps


def test_a_failed_record_is_delivered_again_from_the_lowest_failed_sequence() -> None:
    # GIVEN five records, and a handler that fails the 2nd and 4th on its first call
    records = [boto3_record(i) for i in range(5)]
    seqs = [sequence_of(r) for r in records]
    handler = ScriptedHandler({seqs[3], seqs[1]})
    source, sleeps = source_for(ScriptedStreams({"shard-0": records}), handler)
    # WHEN one poll delivers them
    assert source.poll_once() == 5
    # THEN the second call starts at the lowest failed record and carries everything after it
    assert handler.sequences() == [seqs, seqs[1:]]
    assert sleeps == [0.2]  # one paced wait before the re-delivery
    assert source.records_delivered == 5


def test_a_failure_naming_no_record_of_the_batch_delivers_the_whole_batch_again() -> None:
    records = [boto3_record(i) for i in range(3)]
    seqs = [sequence_of(r) for r in records]
    handler = ScriptedHandler({"not-a-sequence-of-this-batch"})
    source, _ = source_for(ScriptedStreams({"shard-0": records}), handler)
    assert source.poll_once() == 3
    assert handler.sequences() == [seqs, seqs]


def test_a_record_that_keeps_failing_is_dropped_after_max_attempts_with_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    records = [boto3_record(i) for i in range(3)]
    seqs = [sequence_of(r) for r in records]
    handler = ScriptedHandler(*[{seqs[2]}] * 4)
    source, sleeps = source_for(ScriptedStreams({"shard-0": records}), handler, max_attempts=4)
    with caplog.at_level(logging.ERROR, logger="stockpipe.stream_source"):
        source.poll_once()
    # three re-deliveries of the failed tail, waits doubling from 0.2 s up to the 1 s cap
    assert handler.sequences() == [seqs, [seqs[2]], [seqs[2]], [seqs[2]]]
    assert sleeps == pytest.approx([0.2, 0.4, 0.8])
    assert [r.getMessage() for r in caplog.records] == [
        f"dropping 1 stream record(s) after 4 attempts (from sequence {seqs[2]})"
    ]
    # the next poll moves on: the dropped record is not delivered again
    source.poll_once()
    assert len(handler.events) == 4


def test_defaults_are_those_of_the_real_mapping_batch_100_and_three_attempts() -> None:
    records = [boto3_record(i) for i in range(150)]
    handler = ScriptedHandler(*[{sequence_of(records[0])}] * 3)
    source, sleeps = source_for(ScriptedStreams({"shard-0": records}), handler)
    source.poll_once()
    # THEN a page of 100, delivered three times (then dropped), pacing 0.2 then 0.4 s
    assert [len(e) for e in handler.events] == [100, 100, 100]
    assert sleeps == pytest.approx([0.2, 0.4])
    source.poll_once()
    assert [len(e) for e in handler.events] == [100, 100, 100, 50]


def test_a_response_without_failures_is_a_success() -> None:
    # a handler without ReportBatchItemFailures returns nothing of the kind
    calls: list[int] = []

    def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
        calls.append(len(event["Records"]))
        return {}

    source = StreamEventSource(
        ScriptedStreams({"s": [boto3_record(1), boto3_record(2)]}), ARN, handler, region="x"
    )
    assert source.poll_once() == 2
    assert calls == [2]


def test_waits_are_capped_at_one_second() -> None:
    record = boto3_record(0)
    handler = ScriptedHandler(*[{sequence_of(record)}] * 6)
    source, sleeps = source_for(ScriptedStreams({"s": [record]}), handler, max_attempts=6)
    source.poll_once()
    assert sleeps == pytest.approx([0.2, 0.4, 0.8, 1.0, 1.0])


def test_records_reach_the_handler_in_lambdas_event_shape() -> None:
    plain = boto3_record(1)
    without_time = boto3_record(2, eventName="MODIFY", eventVersion="1.0")
    del without_time["dynamodb"]["ApproximateCreationDateTime"]
    del plain["eventVersion"]
    handler = ScriptedHandler()
    source, _ = source_for(ScriptedStreams({"s": [plain, without_time]}), handler)
    source.poll_once()
    first, second = handler.events[0]
    assert first == {
        "eventID": plain["eventID"],
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": plain["dynamodb"] | {"ApproximateCreationDateTime": CREATED.timestamp()},
        "eventSourceARN": ARN,
    }
    assert plain["dynamodb"]["ApproximateCreationDateTime"] == CREATED  # the page is not altered
    assert second["eventName"] == "MODIFY" and second["eventVersion"] == "1.0"
    assert "ApproximateCreationDateTime" not in second["dynamodb"]


def test_new_shards_are_read_from_trim_horizon_and_closed_ones_are_left() -> None:
    # GIVEN a closed parent shard first and an open child shard
    parent = [boto3_record(i) for i in range(3)]
    child = [boto3_record(10 + i) for i in range(2)]
    streams = ScriptedStreams({"parent": parent, "child": child}, closed=frozenset({"parent"}))
    handler = ScriptedHandler()
    clock = [0.0]
    source, _ = source_for(streams, handler, batch_size=2, monotonic=lambda: clock[0])
    # WHEN polled: pages of at most 2 records per shard
    assert source.poll_once() == 4
    assert source.poll_once() == 1  # the parent's last record; the child has nothing new
    assert source.poll_once() == 0
    assert streams.limits == [2, 2, 2, 2, 2]  # the parent is not read after its end
    assert {s for e in handler.sequences() for s in e} == {sequence_of(r) for r in parent + child}
    # AND a shard that appears later is found once the shard list is refreshed (every 5 s),
    # from its first record
    streams.shards["grandchild"] = [boto3_record(20)]
    assert source.poll_once() == 0
    clock[0] += 5.0
    assert source.poll_once() == 1
    assert [r[1:] for r in streams.iterator_requests] == [
        ("parent", "TRIM_HORIZON"),
        ("child", "TRIM_HORIZON"),
        ("grandchild", "TRIM_HORIZON"),
    ]
    assert {r[0] for r in streams.iterator_requests} == {ARN}
    assert source.records_delivered == 6


def test_idle_polls_count_consecutive_empty_polls_and_reset_on_records() -> None:
    streams = ScriptedStreams({"s": []})
    source, _ = source_for(streams, ScriptedHandler())
    source.poll_once()
    source.poll_once()
    assert source.idle_polls == 2
    streams.shards["s"].append(boto3_record(1))
    source.poll_once()
    assert source.idle_polls == 0
    source.poll_once()
    assert source.idle_polls == 1


class CountingStop(threading.Event):
    """A stop event that records the loop's waits and sets itself after `polls` waits."""

    def __init__(self, polls: int) -> None:
        super().__init__()
        self.polls = polls
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        if len(self.waits) >= self.polls:
            self.set()
        return self.is_set()


def test_run_polls_until_stopped_and_waits_only_after_an_empty_poll() -> None:
    # GIVEN 3 records read one per poll WHEN run until the 2nd idle wait
    streams = ScriptedStreams({"s": [boto3_record(i) for i in range(3)]})
    handler = ScriptedHandler()
    source, _ = source_for(streams, handler, batch_size=1)
    stop = CountingStop(polls=2)
    source.run(stop)
    # THEN three busy polls without a wait, then idle polls each followed by the default wait
    assert len(handler.events) == 3
    assert stop.waits == [0.1, 0.1]
    assert source.idle_polls == 2


def test_run_returns_at_once_when_already_stopped() -> None:
    streams = ScriptedStreams({"s": [boto3_record(1)]})
    source, _ = source_for(streams, ScriptedHandler())
    stop = threading.Event()
    stop.set()
    source.run(stop)
    assert streams.limits == []


def test_the_shard_list_is_described_once_per_refresh_period_whatever_the_clock_reads() -> None:
    # GIVEN a monotonic clock far from zero (as time.monotonic is on a running machine)
    class CountingStreams(ScriptedStreams):
        describes = 0

        def describe_stream(self, StreamArn: str) -> dict[str, Any]:  # noqa: N803
            self.describes += 1
            return super().describe_stream(StreamArn)

    streams = CountingStreams({"s": [boto3_record(1)]})
    clock = [86_400.0]
    source, _ = source_for(streams, ScriptedHandler(), monotonic=lambda: clock[0])
    # WHEN polled many times within 5 s, then once after
    for _ in range(4):
        source.poll_once()
        clock[0] += 1.0
    assert streams.describes == 1
    clock[0] += 1.0
    source.poll_once()
    # THEN the shard list was described once per 5 s, not once per poll
    assert streams.describes == 2
