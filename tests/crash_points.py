"""A stream of valid ticks (three dates, four symbols) with a bad record every few, and what a
consumer stopped at a failpoint left in each store beyond its checkpoint: the crash tests of
the local driver and of the KCL daemon share them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from common.settings import Settings
from stockpipe import inventory
from tests.factories import NOW_MS, a_tick

SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN")
DAY_MS = 86_400_000
BAD = (b"{broken", b"null", b'{"id": "x"}')


@dataclass(frozen=True)
class Put:
    """One record put into the stream: the tick id it carries (None for a bad record)."""

    tick_id: str | None
    shard_id: str
    sequence_number: str


def mixed_records(valid: int, bad_every: int) -> list[tuple[str, bytes, str | None]]:
    """(partition key, data, tick id): ticks over three dates in stream order, a bad record
    after every `bad_every`-th, and one valid tick per symbol last (so every shard ends on a
    tick: when DynamoDB holds every tick, every record has been read)."""
    records: list[tuple[str, bytes, str | None]] = []
    for i in range(valid + len(SYMBOLS)):
        symbol = SYMBOLS[i % len(SYMBOLS)]
        tick = a_tick(
            symbol=symbol,
            event_time_ms=NOW_MS - (3 - i % 3) * DAY_MS + i * 1000,
            price=100 + i % 50,
            volume=i,
        )
        records.append((symbol, tick.encode(), tick.id))
        if i < valid and i % bad_every == bad_every - 1:
            records.append((symbol, BAD[i % len(BAD)], None))
    return records


def put_all(kinesis: Any, stream: str, records: list[tuple[str, bytes, str | None]]) -> list[Put]:
    puts: list[Put] = []
    for start in range(0, len(records), 100):
        chunk = records[start : start + 100]
        response = kinesis.put_records(
            StreamName=stream, Records=[{"PartitionKey": k, "Data": d} for k, d, _ in chunk]
        )
        assert response.get("FailedRecordCount", 0) == 0
        puts += [
            Put(tick_id, r["ShardId"], r["SequenceNumber"])
            for (_k, _d, tick_id), r in zip(chunk, response["Records"], strict=True)
        ]
    return puts


@dataclass(frozen=True)
class Stores:
    """Tick ids in DynamoDB and in the live Parquet objects, dead letters by position."""

    dynamodb: Counter[str]
    parquet: Counter[str]
    dead_letters: Counter[tuple[str, str]]

    @classmethod
    def read(cls, s3: Any, dynamodb: Any, settings: Settings) -> Stores:
        frame = inventory.parquet_frame(s3, settings.bucket, ["id"])
        return cls(
            Counter(inventory.dynamodb_tick_ids(dynamodb, settings.ticks_table)),
            Counter(frame["id"].to_list() if frame.height else []),
            Counter(
                (d["shard_id"], d["sequence_number"])
                for d in inventory.dead_letters(s3, settings.bucket)
            ),
        )

    def assert_every_record_once(self, puts: list[Put]) -> None:
        ids = Counter(p.tick_id for p in puts if p.tick_id is not None)
        bad = Counter((p.shard_id, p.sequence_number) for p in puts if p.tick_id is None)
        assert self.dynamodb == ids
        assert self.parquet == ids
        assert self.dead_letters == bad


def checkpoints(dynamodb: Any, table: str) -> dict[str, int]:
    """Checkpointed sequence number per shard (the local driver's or the KCL lease table's)."""
    found = {}
    for item in dynamodb.scan(TableName=table)["Items"]:
        shard = item.get("shard_id", item.get("leaseKey", {})).get("S")
        sequence = item.get("sequence_number", item.get("checkpoint", {})).get("S", "")
        if shard and sequence.isdigit():
            found[shard] = int(sequence)
    return found


@dataclass(frozen=True)
class BeyondCheckpoint:
    """How many records past their shard's checkpoint each store holds."""

    dynamodb: int
    parquet: int
    dead_letters: int

    @classmethod
    def of(cls, stores: Stores, puts: list[Put], checkpointed: dict[str, int]) -> BeyondCheckpoint:
        def beyond(p: Put) -> bool:
            return int(p.sequence_number) > checkpointed.get(p.shard_id, -1)

        ticks = [p for p in puts if p.tick_id is not None and beyond(p)]
        return cls(
            sum(1 for p in ticks if p.tick_id in stores.dynamodb),
            sum(1 for p in ticks if p.tick_id in stores.parquet),
            sum(
                1
                for p in puts
                if p.tick_id is None
                and beyond(p)
                and (p.shard_id, p.sequence_number) in stores.dead_letters
            ),
        )
