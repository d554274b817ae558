"""Transform and serialisation: pure functions, checked value by value."""

from __future__ import annotations

import io
from typing import Any

import polars as pl
import pytest

from common import tables
from consumer import encode
from consumer.batch import Batch, InRecord, PriceMemory, build_batch
from consumer.history_buffer import HistoryBuffer
from consumer.sinks import AwsBatchSink, DynamoTicks, SinkError
from tests.factories import NOW_MS, a_tick

DAY_MS = 86_400_000
MIDNIGHT = NOW_MS - NOW_MS % DAY_MS  # 2025-11-24T00:00Z


def rec(tick: Any, seq: int, arrival_ms: int | None = None) -> InRecord:
    arrival = arrival_ms if arrival_ms is not None else tick.event_time_ms + 150
    return InRecord(tick.encode(), str(seq), 0, arrival, tick.symbol)


def batch_of(*records: InRecord, memory: PriceMemory | None = None) -> Any:
    return build_batch(list(records), "shardId-000000000001", memory or PriceMemory())


def test_change_is_against_the_previous_price_of_the_same_symbol_across_batches() -> None:
    memory = PriceMemory()
    t = MIDNIGHT + 3_600_000
    first = batch_of(
        rec(a_tick(symbol="AAPL", price=100.0, event_time_ms=t), 1),
        rec(a_tick(symbol="MSFT", price=50.0, event_time_ms=t), 2),
        rec(a_tick(symbol="AAPL", price=101.0, event_time_ms=t + 1000), 3),
        memory=memory,
    )
    changes = {(r["symbol"], r["price"]): r["change"] for r in first.ticks.iter_rows(named=True)}
    assert changes == {("AAPL", 100.0): None, ("AAPL", 101.0): 1.0, ("MSFT", 50.0): None}
    second = batch_of(
        rec(a_tick(symbol="AAPL", price=99.99, event_time_ms=t + 2000), 4), memory=memory
    )
    [row] = second.ticks.iter_rows(named=True)
    assert row["change"] == pytest.approx(-1.01)
    assert row["change_pct"] == pytest.approx(-1.01 / 101 * 100)


def test_out_of_order_ticks_are_compared_in_event_time_order() -> None:
    t = MIDNIGHT + 3_600_000
    result = batch_of(
        rec(a_tick(price=102.0, event_time_ms=t + 2000), 1),
        rec(a_tick(price=100.0, event_time_ms=t), 2),
        rec(a_tick(price=101.0, event_time_ms=t + 1000), 3),
    )
    assert result.ticks["price"].to_list() == [100.0, 101.0, 102.0]
    assert result.ticks["change"].to_list() == [None, 1.0, 1.0]


def test_ingest_lag_and_partition_date_come_from_the_record() -> None:
    tick = a_tick(event_time_ms=MIDNIGHT - 1)
    [row] = batch_of(rec(tick, 1, arrival_ms=MIDNIGHT + 499)).ticks.iter_rows(named=True)
    assert row["ingest_lag_ms"] == 500
    assert row["dt"] == "2025-11-23"


def test_one_parquet_object_per_date_keyed_by_its_first_record_in_stream_order() -> None:
    batch = batch_of(
        rec(a_tick(event_time_ms=MIDNIGHT - 1000), 17, arrival_ms=MIDNIGHT + 5),
        rec(a_tick(event_time_ms=MIDNIGHT + 1000), 9, arrival_ms=MIDNIGHT + 4),
        rec(a_tick(event_time_ms=MIDNIGHT - 2000), 120, arrival_ms=MIDNIGHT + 6),
    )
    made, rejects = encode.parquet_objects(batch)
    objects = {o.key: o.body for o in made}
    assert rejects == {}
    before, after = "ticks/dt=2025-11-23/", "ticks/dt=2025-11-24/"
    assert sorted(objects) == [
        f"{before}shardId-000000000001-{MIDNIGHT + 5:013d}-17.parquet",
        f"{after}shardId-000000000001-{MIDNIGHT + 4:013d}-9.parquet",
    ]
    frame = pl.read_parquet(
        io.BytesIO(objects[f"{before}shardId-000000000001-{MIDNIGHT + 5:013d}-17.parquet"])
    )
    assert frame.columns == encode.PARQUET_COLUMNS
    assert frame.height == 2 and frame.schema["event_time"] == pl.Datetime("ms", "UTC")


def test_a_stream_that_restarts_its_sequence_numbers_writes_new_keys() -> None:
    # GIVEN the same shard id and sequence numbers in two emulator sessions (`stockpipe up`
    # restarted), records that arrived at different times
    tick = a_tick(event_time_ms=MIDNIGHT + 1000)
    first = batch_of(rec(tick, 1, arrival_ms=MIDNIGHT + 2000))
    second = batch_of(rec(tick, 1, arrival_ms=MIDNIGHT + 3_600_000))

    # THEN their objects do not collide, while a replay of the same record keeps its key
    def keys(batch: Batch) -> set[str]:
        made, rejects = encode.parquet_objects(batch)
        assert rejects == {}
        return {o.key for o in made}

    assert keys(first).isdisjoint(keys(second))
    again = batch_of(rec(tick, 1, arrival_ms=MIDNIGHT + 2000))
    assert keys(first) == keys(again)


def test_replaying_a_buffer_gives_identical_objects_and_items() -> None:
    records = [rec(a_tick(volume=i, event_time_ms=MIDNIGHT + i), i + 1) for i in range(50)]
    once, again = batch_of(*records), batch_of(*records)
    assert encode.parquet_objects(once) == encode.parquet_objects(again)
    assert encode.dynamodb_items(once, ttl_days=7) == encode.dynamodb_items(again, ttl_days=7)


def test_dynamodb_item_keys_ttl_and_numbers() -> None:
    tick = a_tick(price=229.87, event_time_ms=MIDNIGHT + 5)
    [item], _ = encode.dynamodb_items(
        batch_of(rec(tick, 1, arrival_ms=MIDNIGHT + 1000)), ttl_days=7
    )
    assert item[tables.PARTITION_KEY] == {"S": "AAPL"}
    assert item[tables.SORT_KEY] == {"S": f"{MIDNIGHT + 5:016d}#{tick.id}"}
    assert item["price"] == {"N": "229.87"}
    assert item[tables.TTL_ATTRIBUTE] == {"N": str((MIDNIGHT + 1000) // 1000 + 7 * 86_400)}
    assert "change" not in item  # first tick of the symbol: nothing to compare with


def test_latest_quote_is_the_newest_tick_per_symbol() -> None:
    batch = batch_of(
        rec(a_tick(price=1.0, event_time_ms=MIDNIGHT + 2), 1),
        rec(a_tick(price=2.0, event_time_ms=MIDNIGHT + 1), 2),
    )
    [(symbol, ts, price, _id)] = encode.latest_quotes(batch)
    assert (symbol, ts, price) == ("AAPL", MIDNIGHT + 2, 1.0)


class ScriptedDynamo:
    """Leaves the last `unprocessed` items of each call unprocessed, `times` times."""

    def __init__(self, unprocessed: int, times: int) -> None:
        self.unprocessed, self.times = unprocessed, times
        self.call_sizes: list[int] = []
        self.written: list[str] = []

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        [(table, requests)] = RequestItems.items()
        self.call_sizes.append(len(requests))
        keep = self.unprocessed if self.times > 0 else 0
        self.times -= 1
        done, left = requests[: len(requests) - keep], requests[len(requests) - keep :]
        self.written += [r["PutRequest"]["Item"]["sk"]["S"] for r in done]
        return {"UnprocessedItems": {table: left} if left else {}}


def items(n: int) -> list[dict[str, Any]]:
    return [{"symbol": {"S": "AAPL"}, "sk": {"S": str(i)}} for i in range(n)]


def test_batch_writes_never_exceed_25_and_retry_only_unprocessed() -> None:
    client = ScriptedDynamo(unprocessed=5, times=2)
    DynamoTicks(client, "ticks", sleep=lambda s: None).put_items(items(60))
    assert max(client.call_sizes) == 25
    assert client.call_sizes[:3] == [25, 5, 5]  # the same 5 retried until processed
    assert sorted(client.written, key=int) == [str(i) for i in range(60)]


def test_items_never_processed_raise_sink_error() -> None:
    client = ScriptedDynamo(unprocessed=1, times=100)
    with pytest.raises(SinkError, match="still unprocessed"):
        DynamoTicks(client, "ticks", max_attempts=3, sleep=lambda s: None).put_items(items(3))


class RecordingS3:
    """S3Objects' interface, keeping what was put."""

    def __init__(self) -> None:
        self.puts: dict[str, bytes] = {}

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.puts[key] = body


def test_a_history_flush_of_dead_letters_only_writes_them_and_no_parquet() -> None:
    # GIVEN a history buffer that holds nothing but poison records (no tick rows at all)
    history = HistoryBuffer("shardId-000000000001", max_bytes=10**9, max_age_s=300)
    poison = batch_of(InRecord(b"{not json", "7", 0, NOW_MS, "AAPL"))
    history.add(poison, 1, now=0.0)
    flushed = history.take()
    assert flushed is not None and flushed.ticks.height == 0
    # WHEN the cold path writes it
    s3 = RecordingS3()
    AwsBatchSink(s3, None, ttl_days=1).write_cold(flushed)  # type: ignore[arg-type]
    # THEN the dead letter is stored and no history object is made
    assert [k.split("/")[0] for k in s3.puts] == ["dead-letter"]


def test_a_dynamodb_item_carries_the_change_against_the_previous_price() -> None:
    first = a_tick(price=100.0, event_time_ms=MIDNIGHT + 5)
    second = a_tick(price=101.5, event_time_ms=MIDNIGHT + 6)
    items, _ = encode.dynamodb_items(batch_of(rec(first, 1), rec(second, 2)), ttl_days=7)
    by_id = {item["id"]["S"]: item for item in items}
    assert by_id[second.id]["change"] == {"N": "1.5"}
    assert float(by_id[second.id]["change_pct"]["N"]) == pytest.approx(1.5)
    assert "change" not in by_id[first.id]
