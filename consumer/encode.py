"""Serialise a batch for each destination: pure functions returning keys and bytes/items.

Object keys derive from the shard and the first record (in stream order) of the rows in the
object, so a replay after a crash overwrites what the crashed run wrote (docs/consumer.md proves why
no duplicate survives).

The tick encoders return, beside what they made, the rows they could not encode:
`{tick id: (rule, reason)}` for `Batch.reject`, so one row that breaks an encoder is
dead-lettered with the exception and the others are written.
"""

from __future__ import annotations

import base64
import io
from typing import Any, NamedTuple

import orjson
import polars as pl

from common import layout, tables
from common.history_tables import TICK_COLUMNS
from consumer.batch import Batch, DeadLetter, partition_date
from consumer.isolate import bisect, describe

PARQUET_COLUMNS = [name for name, _type in TICK_COLUMNS]

Rejects = dict[str, tuple[str, str]]
"""Tick id -> (rule, reason) of rows an encoder or a sink refused; see `Batch.reject`."""


class HistoryObject(NamedTuple):
    """One Parquet object and the tick ids it holds (to reject them if S3 refuses it)."""

    key: str
    body: bytes
    ids: list[str]


def _first_record(positions: list[tuple[str, int]]) -> tuple[int, str]:
    """(arrival ms, sequence number) of the earliest record in stream order."""
    sequence, arrival = min(positions, key=lambda p: int(p[0]))
    return arrival, sequence


def parquet_objects(batch: Batch) -> tuple[list[HistoryObject], Rejects]:
    """One zstd Parquet object per event-time date, keyed by its first record in stream order:
    `ticks/dt=D/<shard>-<arrival ms>-<sequence>.parquet`.

    A date whose rows fail to encode is bisected; the rows that fail alone are rejected and
    the rest is encoded as the date's one object.
    """
    objects: list[HistoryObject] = []
    rejects: Rejects = {}
    if batch.ticks.is_empty():  # a history of dead letters only may carry no tick columns
        return objects, rejects
    for (dt,), part in batch.ticks.partition_by("dt", as_dict=True, maintain_order=True).items():
        body, refused = _encode_date(part)
        rejects |= refused
        kept = part.filter(~pl.col("id").is_in(list(refused))) if refused else part
        if body is not None:
            arrival, first = _first_record(
                list(zip(kept["sequence_number"], kept["arrival_ms"], strict=True))
            )
            key = layout.tick_object_key(dt, batch.shard_id, arrival, first)
            objects.append(HistoryObject(key, body, kept["id"].to_list()))
    return objects, rejects


def _encode_date(part: pl.DataFrame) -> tuple[bytes | None, Rejects]:
    """The date's object, or (after bisection) that of the rows that encode, and the rest."""
    rows = part.select(PARQUET_COLUMNS)
    done, failed = bisect(
        range(rows.height), lambda span: encode_parquet(rows.slice(span[0], len(span)))
    )
    if not failed:
        return done[0], {}
    refused = {part["id"][row]: ("encode_error", describe(e)) for row, e in failed}
    kept = rows.filter(~part["id"].is_in(list(refused)))
    return (encode_parquet(kept) if kept.height else None), refused


def encode_parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=True)
    return buffer.getvalue()


def dynamodb_items(batch: Batch, *, ttl_days: int) -> tuple[list[dict[str, Any]], Rejects]:
    """Low-level AttributeValue items for BatchWriteItem; TTL counts from arrival time.

    Built column-wise (zip over lists): 1.3x faster than polars named rows (bench). A row
    whose item cannot be built is rejected with the exception.
    """
    ttl_s = ttl_days * 86_400
    frame = batch.ticks
    items = []
    rejects: Rejects = {}
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
        try:
            item = tables.encode_tick_item(
                tables.TickItem(symbol, tick_id, event_ms, price, volume, source),
                dt=dt,
                ingest_lag_ms=lag,
                expires_at_s=arrival // 1000 + ttl_s,
                change=change,
                change_pct=pct,
            )
        except Exception as e:  # this row's alone: the others are still written
            rejects[tick_id] = ("encode_error", describe(e))
            continue
        items.append(item)
    return items, rejects


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
