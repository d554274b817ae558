"""Rules of `build_batch` the other tests reach only in passing: the bounds of a storable
number, which price a symbol's next change is measured from, and an empty buffer."""

from __future__ import annotations

import math

import polars as pl
import pytest

from common.sink_limits import DYNAMODB_MAX_FLOAT, DYNAMODB_MIN_FLOAT
from consumer.batch import Batch, InRecord, PriceMemory, build_batch, dynamodb_storable
from tests.factories import NOW_MS, a_tick

SHARD = "shardId-000000000005"
DAY_MS = 86_400_000
MIDNIGHT = NOW_MS - NOW_MS % DAY_MS


def test_a_storable_number_is_zero_or_within_dynamodbs_magnitudes_both_signs() -> None:
    values = {
        0.0: True,
        DYNAMODB_MIN_FLOAT: True,
        -DYNAMODB_MIN_FLOAT: True,
        DYNAMODB_MAX_FLOAT: True,
        -DYNAMODB_MAX_FLOAT: True,
        1.0: True,
        math.nextafter(DYNAMODB_MIN_FLOAT, 0.0): False,
        -math.nextafter(DYNAMODB_MIN_FLOAT, 0.0): False,
        math.nextafter(DYNAMODB_MAX_FLOAT, math.inf): False,
        -math.nextafter(DYNAMODB_MAX_FLOAT, math.inf): False,
        math.inf: False,
        math.nan: False,
    }
    frame = pl.DataFrame({"x": list(values)}, schema={"x": pl.Float64})
    assert frame.select(dynamodb_storable(pl.col("x")))["x"].to_list() == list(values.values())


def batch_at(memory: PriceMemory, *ticks: tuple[int, float]) -> Batch:
    records = [
        InRecord(
            a_tick(event_time_ms=MIDNIGHT + t, price=p, volume=i).encode(),
            str(i + 1),
            0,
            MIDNIGHT + 10_000,
            "AAPL",
        )
        for i, (t, p) in enumerate(ticks)
    ]
    return build_batch(records, SHARD, memory)


def test_a_late_tick_never_becomes_the_price_the_next_change_is_measured_from() -> None:
    memory = PriceMemory()
    batch_at(memory, (100, 10.0))
    late = batch_at(memory, (50, 12.0))
    assert late.ticks["change"].to_list() == [pytest.approx(2.0)]  # against the last seen
    after = batch_at(memory, (200, 11.0))
    assert after.ticks["change"].to_list() == [pytest.approx(1.0)]  # still against 10.0
    assert memory.last == {"AAPL": (MIDNIGHT + 200, 11.0)}


def test_a_tick_of_the_same_time_becomes_the_price_the_next_change_is_measured_from() -> None:
    memory = PriceMemory()
    batch_at(memory, (100, 10.0))
    batch_at(memory, (100, 12.0))
    after = batch_at(memory, (200, 11.0))
    assert after.ticks["change"].to_list() == [pytest.approx(-1.0)]  # against 12.0


def test_an_empty_buffer_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match=r"^build_batch needs at least one record$"):
        build_batch([], SHARD, PriceMemory())


def test_records_after_a_repeated_tick_are_still_read() -> None:
    ticks = [a_tick(event_time_ms=MIDNIGHT + i, volume=i) for i in range(3)]
    data = [ticks[0], ticks[1], ticks[0], ticks[2]]  # the third is a producer retry
    records = [
        InRecord(t.encode(), str(i + 1), 0, MIDNIGHT + 10_000, "AAPL") for i, t in enumerate(data)
    ]
    batch = build_batch(records, SHARD, PriceMemory())
    assert sorted(batch.ticks["id"]) == sorted(t.id for t in ticks)
    assert batch.ticks.filter(pl.col("id") == ticks[0].id)["sequence_number"].to_list() == ["1"]
