"""Producer -> Kinesis -> local driver -> processor -> S3 + DynamoDB, over HTTP."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from common import aws
from common.settings import Settings
from consumer.app import processor_factory
from consumer.local_driver import LocalDriver
from producer.publisher import KinesisPublisher
from stockpipe import inventory
from stockpipe.provision import Resources
from tests.factories import ticks


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    """History flushed every 300 ms: tests see dead letters and Parquet while the driver runs."""
    return settings.model_copy(update={"consumer_cold_age_ms": 300})


def publish(n: int, offset: int = 0) -> list[str]:
    batch = ticks(n + offset)[offset:]
    with KinesisPublisher(aws.client("kinesis"), "stockpipe-ticks", linger_s=0.02) as pub:
        for tick in batch:
            pub.send(tick)
    return [t.id for t in batch]


def run_driver_until(
    settings: Settings, done: Callable[[LocalDriver], bool], timeout: float = 60
) -> LocalDriver:
    """Run a local driver in a thread until `done(driver)`; then stop it gracefully."""
    driver = LocalDriver(
        aws.client("kinesis"),
        aws.client("dynamodb"),
        settings.stream_name,
        settings.consumer_application,
        processor_factory(settings),
        poll_interval_s=0.05,
        shard_refresh_s=0.5,
    )
    stop = threading.Event()
    thread = threading.Thread(target=driver.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not done(driver) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert done(driver), "the pipeline did not finish in time"
    return driver


def stored(settings: Settings) -> tuple[list[str], list[str]]:
    dynamo = inventory.dynamodb_tick_ids(aws.client("dynamodb"), settings.ticks_table)
    frame = inventory.parquet_frame(aws.client("s3"), settings.bucket, ["id"])
    return dynamo, (frame["id"].to_list() if frame.height else [])


def test_n_ticks_give_exactly_n_rows_in_dynamodb_and_parquet(
    fast_settings: Settings, resources: Resources
) -> None:
    ids = publish(2500)
    run_driver_until(fast_settings, lambda _d: len(stored(fast_settings)[0]) >= 2500)
    dynamo, parquet = stored(fast_settings)
    assert sorted(dynamo) == sorted(ids)
    assert sorted(parquet) == sorted(ids)


def test_malformed_records_go_to_dead_letters_and_the_rest_still_lands(
    fast_settings: Settings, resources: Resources
) -> None:
    kinesis: Any = aws.client("kinesis")
    bad = [
        b"{not json",
        b'{"symbol":"AAPL"}',
        b"\xff\xfe",
        b'{"id":"x","symbol":"AAPL","event_time_ms":1,"price":-5,"volume":1,"source":"synthetic"}',
    ]
    ids = publish(100)
    for data in bad:
        kinesis.put_record(StreamName="stockpipe-ticks", Data=data, PartitionKey="AAPL")
    ids += publish(100, offset=100)
    s3 = aws.client("s3")
    run_driver_until(
        fast_settings,
        lambda _d: (
            len(stored(fast_settings)[0]) >= 200
            and len(inventory.dead_letters(s3, fast_settings.bucket)) >= 4
        ),
    )
    letters = inventory.dead_letters(s3, fast_settings.bucket)
    assert sorted(letter["rule"] for letter in letters) == sorted(
        ["not_json", "missing_field", "not_json", "bad_price"]
    )
    assert all(
        letter["reason"] and letter["sequence_number"] and letter["shard_id"] for letter in letters
    )
    assert {letter["data_base64"] for letter in letters} == {
        base64.b64encode(b).decode() for b in bad
    }
    assert sorted(stored(fast_settings)[0]) == sorted(ids)


def test_replaying_the_stream_changes_nothing(
    fast_settings: Settings, resources: Resources
) -> None:
    ids = publish(1500)
    run_driver_until(fast_settings, lambda _d: len(stored(fast_settings)[0]) >= 1500)
    # GIVEN the checkpoints are forgotten WHEN the whole stream is processed again
    dynamodb: Any = aws.client("dynamodb")
    dynamodb.delete_table(TableName=f"{fast_settings.consumer_application}-local-checkpoints")
    replayed = run_driver_until(fast_settings, lambda d: d.records_delivered >= 1500)
    # THEN there are still exactly the same N rows in both stores
    assert replayed.records_delivered >= 1500
    dynamo, parquet = stored(fast_settings)
    assert sorted(dynamo) == sorted(ids) and sorted(parquet) == sorted(ids)


def test_a_restart_resumes_from_the_checkpoint(
    fast_settings: Settings, resources: Resources
) -> None:
    first = publish(600)
    run_driver_until(fast_settings, lambda _d: len(stored(fast_settings)[0]) >= 600)
    second = publish(600, offset=600)
    driver = run_driver_until(fast_settings, lambda _d: len(stored(fast_settings)[0]) >= 1200)
    assert driver.records_delivered == 600  # only the new records were read
    assert sorted(stored(fast_settings)[0]) == sorted(first + second)


def test_resharding_is_followed_parents_before_children(
    fast_settings: Settings, resources: Resources
) -> None:
    kinesis: Any = aws.client("kinesis")
    first = publish(900)
    run_driver_until(fast_settings, lambda _d: len(stored(fast_settings)[0]) >= 900)
    kinesis.update_shard_count(
        StreamName="stockpipe-ticks", TargetShardCount=4, ScalingType="UNIFORM_SCALING"
    )
    second = publish(900, offset=900)
    run_driver_until(fast_settings, lambda _d: len(stored(fast_settings)[0]) >= 1800)
    dynamo, parquet = stored(fast_settings)
    assert sorted(dynamo) == sorted(first + second) and sorted(parquet) == sorted(dynamo)
