"""The publisher against the emulator: what goes in comes back out, exactly once."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from common.retry import RetryPolicy
from producer.publisher import KinesisPublisher, StreamNotFound
from stockpipe import stream_reader
from stockpipe.provision import Resources
from tests.factories import ticks


class ThrottlingKinesis:
    """The real emulator client, but a share of each PutRecords is withheld and reported
    as throttled, the way Kinesis answers a hot shard (the emulator never throttles)."""

    def __init__(self, real: Any, share: float, seed: int = 1) -> None:
        self.real, self.share, self.rng = real, share, random.Random(seed)
        self.withheld = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        throttled = [self.rng.random() < self.share for _ in Records]
        kept = [r for r, t in zip(Records, throttled, strict=True) if not t]
        real = iter(
            self.real.put_records(StreamName=StreamName, Records=kept)["Records"] if kept else []
        )
        results = [
            {
                "ErrorCode": "ProvisionedThroughputExceededException",
                "ErrorMessage": "Rate exceeded for shard",
            }
            if t
            else next(real)
            for t in throttled
        ]
        self.withheld += sum(throttled)
        return {"FailedRecordCount": sum(throttled), "Records": results}


def ids_in_stream(kinesis: Any) -> list[str]:
    positions = stream_reader.iterators(kinesis, "stockpipe-ticks")
    return [orjson.loads(d)["id"] for d in stream_reader.drain(kinesis, positions)]


def publish(client: Any, n: int) -> tuple[list[str], KinesisPublisher]:
    batch = ticks(n)
    publisher = KinesisPublisher(
        client,
        "stockpipe-ticks",
        linger_s=0.05,
        retry=RetryPolicy(max_attempts=8, base_s=0.02, cap_s=0.05),
    ).start()
    for tick in batch:
        publisher.send(tick)
    publisher.close()
    return [t.id for t in batch], publisher


def test_n_ticks_in_gives_exactly_those_n_ids(resources: Resources, kinesis: Any) -> None:
    sent, publisher = publish(kinesis, 3000)
    read = ids_in_stream(kinesis)
    assert sorted(read) == sorted(sent)
    assert publisher.counters.sent == 3000 and publisher.counters.failed == 0


def test_throttled_entries_are_retried_until_all_arrive_once(
    resources: Resources, kinesis: Any
) -> None:
    # GIVEN 30% of entries throttled on each call WHEN 2000 ticks are published
    throttling = ThrottlingKinesis(kinesis, share=0.3)
    sent, publisher = publish(throttling, 2000)
    # THEN the stream holds each id exactly once and retries match what was throttled
    read = ids_in_stream(kinesis)
    assert len(read) == len(set(read)) == 2000
    assert set(read) == set(sent)
    assert publisher.counters.retried == throttling.withheld > 0


def test_records_are_keyed_by_symbol(resources: Resources, kinesis: Any) -> None:
    publish(kinesis, 300)
    positions = stream_reader.iterators(kinesis, "stockpipe-ticks")
    by_shard: dict[str, set[str]] = {}
    for shard, iterator in positions.items():
        page = kinesis.get_records(ShardIterator=iterator)
        by_shard[shard] = {r["PartitionKey"] for r in page["Records"]}
        assert all(orjson.loads(r["Data"])["symbol"] == r["PartitionKey"] for r in page["Records"])
    # a symbol lives on one shard only
    keys = [k for ks in by_shard.values() for k in ks]
    assert sorted(keys) == ["AAPL", "GOOG", "MSFT"]


def test_missing_stream_is_reported_clearly(kinesis: Any) -> None:
    with pytest.raises(StreamNotFound):
        KinesisPublisher(kinesis, "no-such-stream").start()
