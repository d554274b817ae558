"""Turn a buffer of Kinesis records into what the sinks write: pure, no I/O, no clock.

Everything derives from the records themselves (data, sequence numbers, arrival times), so a
replayed buffer yields the same rows and the same object keys: sinks overwrite, never
duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from common.tick import InvalidTick, Tick, decode_tick


@dataclass(frozen=True, slots=True)
class InRecord:
    """One Kinesis record as any driver (KCL daemon or local) delivers it."""

    data: bytes
    sequence_number: str
    sub_sequence_number: int
    arrival_ms: int
    partition_key: str


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record that broke the contract, kept with everything needed to inspect or replay it."""

    data: bytes
    rule: str
    reason: str
    shard_id: str
    sequence_number: str
    arrival_ms: int


@dataclass
class PriceMemory:
    """Last (event time, price) per symbol seen by this shard's processor, for `change`."""

    last: dict[str, tuple[int, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Batch:
    """One flush: valid ticks as a frame, dead letters, and the position to checkpoint."""

    shard_id: str
    ticks: pl.DataFrame
    dead_letters: list[DeadLetter]
    last_sequence_number: str
    last_sub_sequence_number: int


TICK_SCHEMA = {
    "id": pl.String,
    "symbol": pl.String,
    "event_time_ms": pl.Int64,
    "price": pl.Float64,
    "volume": pl.Int64,
    "source": pl.String,
    "sequence_number": pl.String,
    "arrival_ms": pl.Int64,
}


def build_batch(
    records: Sequence[InRecord],
    shard_id: str,
    memory: PriceMemory,
    *,
    now_s: float,
) -> Batch:
    """Validate, de-duplicate, enrich. `now_s` only bounds event times (far-future check)."""
    if not records:
        raise ValueError("build_batch needs at least one record")
    valid: list[tuple[Tick, InRecord]] = []
    dead: list[DeadLetter] = []
    seen: set[str] = set()
    for record in records:
        try:
            tick = decode_tick(record.data, clock=lambda: now_s)
        except InvalidTick as e:
            dead.append(
                DeadLetter(
                    record.data,
                    e.rule,
                    e.reason,
                    shard_id,
                    record.sequence_number,
                    record.arrival_ms,
                )
            )
            continue
        if tick.id in seen:  # a producer retry that had in fact succeeded
            continue
        seen.add(tick.id)
        valid.append((tick, record))
    last = records[-1]
    return Batch(
        shard_id,
        enrich(_frame(valid), memory),
        dead,
        last.sequence_number,
        last.sub_sequence_number,
    )


def _frame(valid: list[tuple[Tick, InRecord]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [t.id for t, _ in valid],
            "symbol": [t.symbol for t, _ in valid],
            "event_time_ms": [t.event_time_ms for t, _ in valid],
            "price": [t.price for t, _ in valid],
            "volume": [t.volume for t, _ in valid],
            "source": [t.source for t, _ in valid],
            "sequence_number": [r.sequence_number for _, r in valid],
            "arrival_ms": [r.arrival_ms for _, r in valid],
        },
        schema=TICK_SCHEMA,
    )


def enrich(frame: pl.DataFrame, memory: PriceMemory) -> pl.DataFrame:
    """Add event time, partition date, ingest lag, and change vs the symbol's previous price.

    Ticks are ordered by (symbol, event time); the first tick of a symbol in the batch is
    compared with the last price this processor saw, if any. `memory` is updated.
    """
    previous = pl.DataFrame(
        {
            "symbol": list(memory.last),
            "prev_time": [v[0] for v in memory.last.values()],
            "prev_price": [v[1] for v in memory.last.values()],
        },
        schema={"symbol": pl.String, "prev_time": pl.Int64, "prev_price": pl.Float64},
    )
    ordered = frame.sort(["symbol", "event_time_ms", "sequence_number"])
    enriched = (
        ordered.join(previous, on="symbol", how="left")
        .with_columns(
            pl.col("price")
            .shift(1)
            .over("symbol")
            .fill_null(pl.col("prev_price"))
            .alias("previous_price")
        )
        .with_columns(
            pl.from_epoch("event_time_ms", time_unit="ms")
            .cast(pl.Datetime("ms"))
            .dt.replace_time_zone("UTC")
            .alias("event_time"),
            (pl.col("price") - pl.col("previous_price")).alias("change"),
            ((pl.col("price") / pl.col("previous_price") - 1) * 100).alias("change_pct"),
            (pl.col("arrival_ms") - pl.col("event_time_ms")).alias("ingest_lag_ms"),
        )
        .with_columns(pl.col("event_time").dt.strftime("%Y-%m-%d").alias("dt"))
        .drop("prev_time", "prev_price", "previous_price")
    )
    for symbol, ts, price in (
        enriched.group_by("symbol")
        .agg(pl.col("event_time_ms").last(), pl.col("price").last())
        .iter_rows()
    ):
        known = memory.last.get(symbol)
        if known is None or ts >= known[0]:
            memory.last[symbol] = (ts, price)
    return enriched


def partition_date(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%d")
