"""Turn a buffer of Kinesis records into what the sinks write: pure, no I/O, no clock.

Everything derives from the records themselves (data, sequence numbers, arrival times), so a
replayed buffer yields the same rows and the same object keys: sinks overwrite, never
duplicate.

Poison isolation: any exception while decoding, building rows or enriching a record makes that
record a dead letter with the exception as its reason (bisection finds it when a step fails as
a whole), and so does a row whose derived numbers a sink cannot store. The rest of the batch
goes on. Later stages (encoders, sinks) reject rows with `Batch.reject`, which needs nothing
but the batch: every row carries its raw record bytes (`data`, never written to a store).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import polars as pl

from common.sink_limits import DYNAMODB_MAX_FLOAT, DYNAMODB_MIN_FLOAT
from common.tick import MAX_FUTURE_SKEW_MS, InvalidTick, Tick, decode_tick
from consumer.isolate import bisect, describe


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

    def reject(self, reasons: Mapping[str, tuple[str, str]]) -> Batch:
        """This batch with the rows of these tick ids moved to the dead letters.

        `reasons` maps a tick id to (rule, reason); an encoder or a sink that refuses a row
        calls this, so the row is dead-lettered with the store's own message.
        """
        if not reasons:
            return self
        refused = pl.col("id").is_in(list(reasons))
        letters = [
            DeadLetter(data, *reasons[tick_id], self.shard_id, sequence, arrival)
            for tick_id, data, sequence, arrival in self.ticks.filter(refused)
            .select("id", "data", "sequence_number", "arrival_ms")
            .iter_rows()
        ]
        return replace(
            self, ticks=self.ticks.filter(~refused), dead_letters=[*self.dead_letters, *letters]
        )


TICK_SCHEMA = {
    "id": pl.String,
    "symbol": pl.String,
    "event_time_ms": pl.Int64,
    "price": pl.Float64,
    "volume": pl.Int64,
    "source": pl.String,
    "sequence_number": pl.String,
    "arrival_ms": pl.Int64,
    "data": pl.Binary,  # the raw record, for dead-lettering a row later; never stored
}
# every number a DynamoDB tick item carries as a float (ints are Int64: always storable)
FLOAT_COLUMNS = ("price", "change", "change_pct")


def build_batch(
    records: Sequence[InRecord],
    shard_id: str,
    memory: PriceMemory,
    *,
    max_future_skew_ms: int = MAX_FUTURE_SKEW_MS,
) -> Batch:
    """Validate, de-duplicate, enrich; isolate every record that fails on the way.

    Event times are judged against each record's own arrival time (`max_future_skew_ms`), so a
    replay classifies every record the same way.
    """
    if not records:
        raise ValueError("build_batch needs at least one record")
    valid: list[tuple[Tick, InRecord]] = []
    dead: list[DeadLetter] = []
    seen: set[str] = set()
    for record in records:
        try:
            tick = decode_tick(
                record.data, arrival_ms=record.arrival_ms, max_future_skew_ms=max_future_skew_ms
            )
        except InvalidTick as e:
            dead.append(_letter(record, shard_id, e.rule, e.reason))
            continue
        except Exception as e:  # any failure is this record's alone
            dead.append(_letter(record, shard_id, "decode_error", describe(e)))
            continue
        if tick.id in seen:  # a producer retry that had in fact succeeded
            continue
        seen.add(tick.id)
        valid.append((tick, record))
    frames, failed = bisect(valid, _frame)
    dead += [_letter(record, shard_id, "transform_error", describe(e)) for (_, record), e in failed]
    last = records[-1]
    batch = Batch(
        shard_id,
        pl.concat(frames) if frames else _frame([]),
        dead,
        last.sequence_number,
        last.sub_sequence_number,
    )
    return _unstorable_rejected(_enriched(batch, memory))


def _letter(record: InRecord, shard_id: str, rule: str, reason: str) -> DeadLetter:
    return DeadLetter(
        record.data, rule, reason, shard_id, record.sequence_number, record.arrival_ms
    )


def _frame(valid: Sequence[tuple[Tick, InRecord]]) -> pl.DataFrame:
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
            "data": [r.data for _, r in valid],
        },
        schema=TICK_SCHEMA,
    )


def _enriched(batch: Batch, memory: PriceMemory) -> Batch:
    """`enrich` the whole frame; if it fails, the rows that fail alone become dead letters."""
    frame = batch.ticks
    parts, failed = bisect(
        range(frame.height), lambda rows: enrich(frame.slice(rows[0], len(rows)), memory)
    )
    reasons = {frame["id"][row]: ("transform_error", describe(e)) for row, e in failed}
    if len(parts) == 1:
        ticks = parts[0]
    elif parts:
        ticks = pl.concat(parts).sort(["symbol", "event_time_ms", "sequence_number"])
    else:
        ticks = enrich(frame.clear(), memory)
    return replace(batch.reject(reasons), ticks=ticks)


def _unstorable_rejected(batch: Batch) -> Batch:
    """Rows with a float a DynamoDB item cannot hold (e.g. a change that underflows 1E-130)."""
    bad = ~pl.all_horizontal(
        pl.col(c).is_null() | dynamodb_storable(pl.col(c)) for c in FLOAT_COLUMNS
    )
    reasons = {
        tick_id: (
            "unstorable",
            f"a number is outside DynamoDB's range: price={price!r} "
            f"change={change!r} change_pct={pct!r}",
        )
        for tick_id, price, change, pct in batch.ticks.filter(bad)
        .select("id", *FLOAT_COLUMNS)
        .iter_rows()
    }
    return batch.reject(reasons)


def dynamodb_storable(column: pl.Expr) -> pl.Expr:
    """Whether each float's repr is a DynamoDB number (NaN and infinities are not)."""
    magnitude = column.abs()
    return (magnitude == 0) | (
        (magnitude >= DYNAMODB_MIN_FLOAT) & (magnitude <= DYNAMODB_MAX_FLOAT)
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
