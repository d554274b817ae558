"""Property (Hypothesis), the proof of docs/consumer.md "Why a replay leaves no duplicate" run:
records over several dates with bad ones among them, read in random batches and flushed at
random moments, a crash at a random failpoint (after some writes, before a checkpoint), then a
replay from the last checkpoint with *other* random batches and flushes: every tick is exactly
once in DynamoDB and in the live Parquet objects (read as the history reader reads them), every
bad record exactly once as a dead letter. Real sinks, against the emulator over HTTP."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from common import aws, failpoints
from consumer.processor import TickProcessor
from consumer.sinks import AwsBatchSink, DynamoTicks, S3Objects
from stockpipe import inventory, provision
from tests.crash_points import BAD, DAY_MS
from tests.factories import NOW_MS, a_tick
from tests.unit.consumer import kcl_messages as msg

DAY0_MS = NOW_MS - NOW_MS % DAY_MS - 4 * DAY_MS  # 2025-11-20T00:00Z
MAX_RECORDS = 40
ARRIVAL_STEP_MS = 3 * DAY_MS // MAX_RECORDS  # arrivals span three dates: so do dead letters
CONSUMER_POINTS = [p for p in failpoints.POINTS if p.startswith("consumer-")]


@dataclass(frozen=True)
class Record:
    """A record as the stream holds it; `tick_id` None for a bad one."""

    sequence: int
    data: bytes
    arrival_ms: int
    tick_id: str | None

    def message(self) -> dict[str, Any]:
        return msg.record(self.data, self.sequence, self.arrival_ms)


@st.composite
def streams(draw: st.DrawFn) -> list[Record]:
    """12 to 40 records in stream order: ticks of three event dates (late ones too), bad records."""
    kinds = draw(
        st.lists(st.one_of(st.integers(0, 2), st.sampled_from(BAD)), min_size=20, max_size=40)
    )
    records = []
    for i, kind in enumerate(kinds):
        sequence, arrival = 10**20 + i, DAY0_MS + i * ARRIVAL_STEP_MS
        if isinstance(kind, bytes):
            records.append(Record(sequence, kind, arrival, None))
            continue
        event_ms = min(arrival, DAY0_MS + kind * DAY_MS + draw(st.integers(0, DAY_MS - 1)))
        tick = a_tick(symbol=("AAPL", "MSFT")[i % 2], event_time_ms=event_ms, volume=i)
        records.append(Record(sequence, tick.encode(), arrival, tick.id))
    return records


@st.composite
def runs(draw: st.DrawFn, size: int) -> tuple[list[int], int]:
    """Batch sizes covering `size` records, and a history age (in batches) that sets the
    flushes: each batch advances the processor's clock by one."""
    sizes: list[int] = []
    while sum(sizes) < size:
        sizes.append(draw(st.integers(1, 4)))
    return sizes, draw(st.integers(1, 2))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Checkpointer:
    """The last position checkpointed, as the lease table would keep it."""

    def __init__(self) -> None:
        self.position = 0

    def checkpoint(self, sequence: str | None = None, _sub: int | None = None) -> None:
        assert sequence is not None, "a checkpoint without a position (shard end) in this test"
        self.position = int(sequence)


def deliver(
    sink: AwsBatchSink, records: list[Record], run: tuple[list[int], int]
) -> Iterator[tuple[TickProcessor, Checkpointer]]:
    """Feed the records to a new processor in the run's batches; yields after each batch."""
    sizes, age = run
    clock, checkpointer = Clock(), Checkpointer()
    processor = TickProcessor(sink, cold_max_bytes=10**9, cold_age_s=age, monotonic=clock)
    msg.initialize().dispatch(checkpointer, processor)
    start = 0
    for size in sizes:
        batch = records[start : start + size]
        start += size
        clock.now += 1
        msg.process_records([r.message() for r in batch]).dispatch(checkpointer, processor)
        yield processor, checkpointer


def fresh_sink(s3: Any, dynamodb: Any) -> tuple[AwsBatchSink, str, str]:
    """A new bucket and ticks table per example (as `stockpipe up` makes them): examples never
    see each other's objects."""
    bucket = table = f"crash-{uuid.uuid4().hex[:12]}"
    provision._bucket(s3, bucket)
    provision._ticks_table(dynamodb, table)
    sink = AwsBatchSink(S3Objects(s3, bucket), DynamoTicks(dynamodb, table), ttl_days=7)
    return sink, bucket, table


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same examples on every run and in CI
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), records=streams(), point=st.sampled_from(CONSUMER_POINTS))
def test_a_crash_then_a_replay_with_other_boundaries_stores_every_record_once(
    aws_env: str, data: st.DataObject, records: list[Record], point: str
) -> None:
    s3, dynamodb = aws.client("s3"), aws.client("dynamodb")
    sink, bucket, table = fresh_sink(s3, dynamodb)
    nth = data.draw(st.integers(1, 3), label="crash at hit")
    # GIVEN a first run in random batches, killed at the n-th hit of a failpoint (or, if it
    # never gets there, after its last batch, its history buffer unflushed)
    checkpointed = 0
    with failpoints.crashing(point, nth):
        try:
            for _processor, checkpointer in deliver(
                sink, records, data.draw(runs(len(records)), label="first run")
            ):
                checkpointed = checkpointer.position
        except failpoints.Crash:
            event(f"crashed at {point}")
        else:
            event("ran through, history unflushed")
    # WHEN a new processor replays from the last checkpoint in other batches, then shuts down
    replay = [r for r in records if r.sequence > checkpointed]
    if replay:
        *_, (processor, checkpointer) = deliver(
            sink, replay, data.draw(runs(len(replay)), label="replay")
        )
        msg.shutdown_requested().dispatch(checkpointer, processor)
        assert checkpointer.position == records[-1].sequence
    # THEN every tick is once in DynamoDB and once in the live Parquet, every bad record once
    ticks = Counter(r.tick_id for r in records if r.tick_id is not None)
    frame = inventory.parquet_frame(s3, bucket, ["id"])
    assert Counter(frame["id"].to_list() if frame.height else []) == ticks
    assert Counter(inventory.dynamodb_tick_ids(dynamodb, table)) == ticks
    letters = Counter(int(d["sequence_number"]) for d in inventory.dead_letters(s3, bucket))
    assert letters == Counter(r.sequence for r in records if r.tick_id is None)
