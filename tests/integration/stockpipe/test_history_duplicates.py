"""A tick the producer sent twice (a retry of a put that had succeeded) that lands in two cold
flushes sits in two Parquet objects; every named query over ticks still counts it once."""

from __future__ import annotations

import polars as pl

from common import aws
from common.settings import Settings
from common.tick import make_tick
from consumer.app import make_sink
from consumer.batch import InRecord, PriceMemory, build_batch
from stockpipe import inventory
from stockpipe.history.named import QUERIES
from stockpipe.history.service import HistoryQueries, render_query
from tests.integration.stockpipe.test_history import DAYS, history

__all__ = ["history"]  # the fixture: three days of ticks the consumer's code wrote
TICK_QUERIES = [name for name in QUERIES if name != "dead-letters"]


def results(settings: Settings) -> dict[str, list[tuple[object, ...]]]:
    """Each query's rows, floats to 9 decimals (a sum's last bits follow the rows' order)."""
    engine = HistoryQueries(settings)
    found = {}
    for name in TICK_QUERIES:
        rows = engine.run(
            render_query(name, symbol=None, start=DAYS[0], end=DAYS[-1]), local=True
        ).rows
        found[name] = [
            tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows
        ]
    return found


def test_a_tick_in_two_parquet_objects_counts_once_in_every_named_query(
    settings: Settings, history: pl.DataFrame
) -> None:
    before = results(settings)
    # GIVEN 60 ticks of every day put again (new sequence numbers, a later arrival), as a
    # producer retry would, and flushed in a later history object than their first copies
    again = history.filter(pl.int_range(pl.len()).over("dt") < 20).sort("event_time_ms")
    records, ids = [], []
    for n, (symbol, event_ms, price, volume, source) in enumerate(
        again.select("symbol", "event_time_ms", "price", "volume", "source").iter_rows()
    ):
        tick = make_tick(symbol, event_ms, price, volume, source)
        records.append(InRecord(tick.encode(), str(10**21 + n), 0, event_ms + 5_000, symbol))
        ids.append(tick.id)
    assert ids == again["id"].to_list()  # the same quote, the same id
    make_sink(settings).write(build_batch(records, "shardId-000000000000", PriceMemory()))
    stored = inventory.parquet_frame(aws.client("s3"), settings.bucket, ["id"])
    assert stored.height == history.height + again.height  # the copies are in the history
    # WHEN every named query over ticks runs again THEN each result is what it was
    after = results(settings)
    for name in TICK_QUERIES:
        assert after[name] == before[name], name
