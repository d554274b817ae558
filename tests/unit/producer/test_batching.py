"""PutRecords batches respect each Kinesis limit exactly."""

from __future__ import annotations

import pytest

from producer.batching import (
    MAX_BYTES_PER_CALL,
    MAX_BYTES_PER_RECORD,
    MAX_RECORDS_PER_CALL,
    Entry,
    RecordTooLarge,
    batches,
)


def entries(n: int, size: int = 100, key: str = "AAPL") -> list[Entry]:
    return [Entry(b"x" * (size - len(key)), key) for _ in range(n)]


def test_500_records_fit_one_call_and_501_need_two() -> None:
    assert [len(b) for b in batches(entries(MAX_RECORDS_PER_CALL))] == [500]
    assert [len(b) for b in batches(entries(MAX_RECORDS_PER_CALL + 1))] == [500, 1]


def test_calls_never_exceed_5_mib_counting_partition_keys() -> None:
    # GIVEN records of 1 MiB - 10 bytes each (data + key) WHEN batched THEN 5 per call at most
    size = MAX_BYTES_PER_RECORD - 10
    result = list(batches(entries(11, size=size)))
    assert [len(b) for b in result] == [5, 5, 1]
    assert all(sum(e.size for e in b) <= MAX_BYTES_PER_CALL for b in result)


def test_exactly_5_mib_fits_one_call() -> None:
    size = MAX_BYTES_PER_CALL // 5
    assert [len(b) for b in batches(entries(5, size=size))] == [5]
    assert [len(b) for b in batches(entries(5, size=size) + entries(1, size=10))] == [5, 1]


def test_partition_key_bytes_count_towards_the_record_limit() -> None:
    key = "K" * 10
    fits = Entry(b"x" * (MAX_BYTES_PER_RECORD - 10), key)
    assert list(batches([fits])) == [[fits]]
    with pytest.raises(RecordTooLarge):
        list(batches([Entry(b"x" * (MAX_BYTES_PER_RECORD - 9), key)]))


def test_order_is_kept_across_calls() -> None:
    items = [Entry(str(i).encode(), "A") for i in range(1234)]
    assert [e for b in batches(items) for e in b] == items


def test_no_entries_no_calls() -> None:
    assert list(batches([])) == []
