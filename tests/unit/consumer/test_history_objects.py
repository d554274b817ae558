"""History objects: zstd Parquet with column statistics (what Athena and DuckDB read cheaply
and prune by), and rows that fail to encode: rejected on every date, a date with no row left
makes no object while the other dates are written."""

from __future__ import annotations

import io
from collections.abc import Callable

import polars as pl
import pyarrow.parquet as pq
import pytest

from consumer import encode
from consumer.batch import InRecord, PriceMemory, build_batch
from tests.factories import NOW_MS, a_tick

SHARD = "shardId-000000000006"
DAY_MS = 86_400_000
MIDNIGHT = NOW_MS - NOW_MS % DAY_MS  # 2025-11-24T00:00Z


def two_dates() -> list[InRecord]:
    times = [MIDNIGHT - 3000, MIDNIGHT - 2000, MIDNIGHT + 1000, MIDNIGHT + 2000]
    return [
        InRecord(a_tick(event_time_ms=t, volume=i).encode(), str(i + 1), 0, MIDNIGHT + 9000, "A")
        for i, t in enumerate(times)
    ]


def test_history_objects_are_zstd_parquet_with_min_max_statistics() -> None:
    objects, _ = encode.parquet_objects(build_batch(two_dates(), SHARD, PriceMemory()))
    for obj in objects:
        metadata = pq.ParquetFile(io.BytesIO(obj.body)).metadata
        columns = [
            metadata.row_group(g).column(c)
            for g in range(metadata.num_row_groups)
            for c in range(metadata.num_columns)
        ]
        assert {c.compression for c in columns} == {"ZSTD"}
        assert all(c.statistics is not None and c.statistics.has_min_max for c in columns)


def failing_on(ids: set[str]) -> Callable[[pl.DataFrame], bytes]:
    real = encode.encode_parquet

    def writer(frame: pl.DataFrame) -> bytes:
        if ids & set(frame["id"]):
            raise ValueError("cannot encode")
        return real(frame)

    return writer


def test_rows_that_fail_to_encode_are_rejected_on_every_date() -> None:
    batch = build_batch(two_dates(), SHARD, PriceMemory())
    one_per_date = {part["id"][0] for part in batch.ticks.partition_by("dt")}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(encode, "encode_parquet", failing_on(one_per_date))
        objects, rejects = encode.parquet_objects(batch)
    assert set(rejects) == one_per_date
    assert sorted(i for o in objects for i in o.ids) == sorted(
        set(batch.ticks["id"]) - one_per_date
    )


def test_a_date_whose_every_row_fails_to_encode_makes_no_object() -> None:
    batch = build_batch(two_dates(), SHARD, PriceMemory())
    before_midnight = set(batch.ticks.filter(pl.col("dt") == "2025-11-23")["id"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(encode, "encode_parquet", failing_on(before_midnight))
        objects, rejects = encode.parquet_objects(batch)
    assert [o.key.split("/")[1] for o in objects] == ["dt=2025-11-24"]
    assert set(rejects) == before_midnight
    assert {rule for rule, _ in rejects.values()} == {"encode_error"}


def test_records_of_the_same_arrival_millisecond_are_keyed_by_the_lowest_sequence() -> None:
    # GIVEN two records Kinesis stamped in the same millisecond, the later one (sequence 8)
    # carrying the earlier event time, so it comes first in the batch's (symbol, time) order
    arrival = MIDNIGHT + 9000
    records = [
        InRecord(a_tick(event_time_ms=MIDNIGHT + 2000).encode(), "7", 0, arrival, "A"),
        InRecord(a_tick(event_time_ms=MIDNIGHT + 1000).encode(), "8", 0, arrival, "A"),
    ]
    [obj], _ = encode.parquet_objects(build_batch(records, SHARD, PriceMemory()))
    # THEN the object is keyed by the first record in stream order, whatever the row order
    assert obj.key == f"ticks/dt=2025-11-24/{SHARD}-{arrival:013d}-7.parquet"
