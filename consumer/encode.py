"""Serialise a batch for each destination: pure functions returning keys and bytes/items.

Object keys derive from the shard and the first record (in stream order) of the rows in the
object, so a replay after a crash overwrites what the crashed run wrote (docs/consumer.md proves why
no duplicate survives).
"""

from __future__ import annotations

import base64
import io
from typing import Any

import orjson
import polars as pl

from common import layout, tables
from common.history_tables import TICK_COLUMNS
from consumer.batch import Batch, DeadLetter, partition_date

PARQUET_COLUMNS = [name for name, _type in TICK_COLUMNS]


def _first_record(positions: list[tuple[str, int]]) -> tuple[int, str]:
    """(arrival ms, sequence number) of the earliest record in stream order."""
    sequence, arrival = min(positions, key=lambda p: int(p[0]))
    return arrival, sequence


def parquet_objects(batch: Batch) -> list[tuple[str, bytes]]:
    """One zstd Parquet object per event-time date, keyed by its first record in stream order:
    `ticks/dt=D/<shard>-<arrival ms>-<sequence>.parquet`."""
    objects = []
    for (dt,), part in batch.ticks.partition_by("dt", as_dict=True, maintain_order=True).items():
        arrival, first = _first_record(
            list(zip(part["sequence_number"], part["arrival_ms"], strict=True))
        )
        key = layout.tick_object_key(dt, batch.shard_id, arrival, first)
        objects.append((key, encode_parquet(part.select(PARQUET_COLUMNS))))
    return objects


def encode_parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=True)
    return buffer.getvalue()


def dynamodb_items(batch: Batch, *, ttl_days: int) -> list[dict[str, Any]]:
    """Low-level AttributeValue items for BatchWriteItem; TTL counts from arrival time.

    Built column-wise (zip over lists): 1.3x faster than polars named rows (bench).
    """
    ttl_s = ttl_days * 86_400
    frame = batch.ticks
    items = []
    for symbol, event_ms, tick_id, price, volume, source, dt, lag, arrival, change, pct in zip(
        *(
            frame[c].to_list()
            for c in (
                "symbol",
                "event_time_ms",
                "id",
                "price",
                "volume",
                "source",
                "dt",
                "ingest_lag_ms",
                "arrival_ms",
                "change",
                "change_pct",
            )
        ),
        strict=True,
    ):
        items.append(
            tables.encode_tick_item(
                tables.TickItem(symbol, tick_id, event_ms, price, volume, source),
                dt=dt,
                ingest_lag_ms=lag,
                expires_at_s=arrival // 1000 + ttl_s,
                change=change,
                change_pct=pct,
            )
        )
    return items


def latest_quotes(batch: Batch) -> list[tuple[str, int, float, str]]:
    """(symbol, event_time_ms, price, id) of the newest tick per symbol in the batch."""
    latest = (
        batch.ticks.group_by("symbol")
        .agg(pl.all().sort_by("event_time_ms").last())
        .select("symbol", "event_time_ms", "price", "id")
    )
    return [(s, t, p, i) for s, t, p, i in latest.iter_rows()]


def dead_letter_objects(batch: Batch) -> list[tuple[str, bytes]]:
    """JSON lines per arrival date: `dead-letter/dt=D/<shard>-<first seq>.jsonl`."""
    by_date: dict[str, list[DeadLetter]] = {}
    for letter in batch.dead_letters:
        by_date.setdefault(partition_date(letter.arrival_ms), []).append(letter)
    objects = []
    for dt, letters in by_date.items():
        arrival, first = _first_record([(d.sequence_number, d.arrival_ms) for d in letters])
        body = b"".join(orjson.dumps(dead_letter_record(d)) + b"\n" for d in letters)
        objects.append((layout.dead_letter_object_key(dt, batch.shard_id, arrival, first), body))
    return objects


def dead_letter_record(letter: DeadLetter) -> dict[str, Any]:
    """The raw bytes (base64, plus text when printable) with the reason and position."""
    try:
        text: str | None = letter.data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return {
        "rule": letter.rule,
        "reason": letter.reason,
        "shard_id": letter.shard_id,
        "sequence_number": letter.sequence_number,
        "arrival_ms": letter.arrival_ms,
        "data_base64": base64.b64encode(letter.data).decode(),
        "data_text": text,
    }
