"""Read a Kinesis stream back from a known position (demo counts, tests, `stockpipe` checks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def shard_ids(kinesis: Any, stream: str) -> list[str]:
    shards: list[str] = []
    kwargs: dict[str, Any] = {"StreamName": stream}
    while True:
        page = kinesis.list_shards(**kwargs)
        shards += [s["ShardId"] for s in page["Shards"]]
        token = page.get("NextToken")
        if not token:
            return shards
        kwargs = {"NextToken": token}


def iterators(kinesis: Any, stream: str, position: str = "TRIM_HORIZON") -> dict[str, str]:
    """One shard iterator per shard; LATEST taken before a run reads only that run's records."""
    return {
        shard: kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard, ShardIteratorType=position
        )["ShardIterator"]
        for shard in shard_ids(kinesis, stream)
    }


def drain(kinesis: Any, shard_iterators: dict[str, str], limit: int = 10_000) -> Iterator[bytes]:
    """Every record currently in the shards from the given iterators, then stop."""
    for iterator in shard_iterators.values():
        current: str | None = iterator
        while current:
            page = kinesis.get_records(ShardIterator=current, Limit=limit)
            for record in page["Records"]:
                yield record["Data"]
            if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
                break
            current = page.get("NextShardIterator")
