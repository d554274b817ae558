"""The cold path's buffer: when it is due, what one flush holds, and the position it names."""

from __future__ import annotations

from consumer.batch import Batch, InRecord, PriceMemory, build_batch
from consumer.history_buffer import HistoryBuffer
from tests.factories import NOW_MS, ticks

SHARD = "shardId-000000000002"


def batch_of(records: list[InRecord]) -> Batch:
    return build_batch(records, SHARD, PriceMemory())


def tick_records(n: int, first_seq: int = 1) -> list[InRecord]:
    return [
        InRecord(t.encode(), str(first_seq + i), 0, t.event_time_ms + 100, t.symbol)
        for i, t in enumerate(ticks(n))
    ]


def poison(seq: int, data: bytes = b"{not json") -> Batch:
    return batch_of([InRecord(data, str(seq), 0, NOW_MS, "AAPL")])


def test_an_empty_buffer_is_never_due_and_gives_no_flush() -> None:
    history = HistoryBuffer(SHARD, max_bytes=0, max_age_s=0)
    assert not history.due(10**9)
    assert history.take() is None


def test_the_age_bound_counts_from_the_first_batch() -> None:
    history = HistoryBuffer(SHARD, max_bytes=10**9, max_age_s=30)
    history.add(poison(1), 1, now=100.0)
    history.add(poison(2), 1, now=125.0)
    assert not history.due(129.9)
    assert history.due(130.0)


def test_dead_letters_count_toward_the_size_bound_with_their_data_and_reason() -> None:
    # GIVEN one dead letter: 40 bytes of data and a reason of known length
    letter = poison(1, data=b"x" * 40)
    [dead] = letter.dead_letters
    size = len(dead.data) + len(dead.reason)
    assert len(dead.reason) > len(dead.data)
    # THEN a buffer bounded at exactly that size is due, one byte larger is not
    exact = HistoryBuffer(SHARD, max_bytes=size, max_age_s=300)
    exact.add(letter, 1, now=0.0)
    assert exact.size_bytes == size and exact.due(0.0)
    roomier = HistoryBuffer(SHARD, max_bytes=size + 1, max_age_s=300)
    roomier.add(letter, 1, now=0.0)
    assert not roomier.due(0.0)


def test_a_flush_holds_every_batch_since_the_last_one_and_names_the_last_position() -> None:
    history = HistoryBuffer(SHARD, max_bytes=10**9, max_age_s=300)
    history.add(batch_of(tick_records(3)), 4, now=0.0)
    history.add(poison(7), 1, now=1.0)
    history.add(poison(8), 2, now=2.0)
    assert history.records == 7
    flushed = history.take()
    assert flushed is not None
    assert flushed.shard_id == SHARD
    assert sorted(flushed.ticks["sequence_number"]) == ["1", "2", "3"]
    assert [d.sequence_number for d in flushed.dead_letters] == ["7", "8"]
    assert (flushed.last_sequence_number, flushed.last_sub_sequence_number) == ("8", 0)
    # AND the buffer starts over
    assert history.records == 0 and history.size_bytes == 0 and history.take() is None


def test_a_tick_read_twice_across_batches_is_kept_once_as_first_read_in_read_order() -> None:
    # GIVEN 400 ticks over two batches, the second repeating 100 ticks of the first (a producer
    # retry put them again) under later sequence numbers
    records = tick_records(400)
    first = records[:300]
    again = [
        InRecord(r.data, str(1000 + i), 0, r.arrival_ms + 5000, r.partition_key)
        for i, r in enumerate(records[200:300])
    ]
    history = HistoryBuffer(SHARD, max_bytes=10**9, max_age_s=300)
    history.add(batch_of(first), 300, now=0.0)
    history.add(batch_of(again + records[300:]), 200, now=1.0)
    flushed = history.take()
    # THEN each tick is one row, from its first read, and rows keep the order they were read
    assert flushed is not None
    expected = batch_of(first).ticks["sequence_number"].to_list()
    expected += batch_of(records[300:]).ticks["sequence_number"].to_list()
    assert flushed.ticks["sequence_number"].to_list() == expected
