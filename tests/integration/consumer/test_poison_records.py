"""Bad records put straight into the stream, between valid ticks, on the emulator: the consumer
keeps running, every bad record is a dead letter with its reason, every valid tick lands
exactly once, and the checkpoint keeps up with the reads (bounded buffer, flat memory).
Also: what DynamoDB itself refuses is isolated, and valid ticks drawn by Hypothesis store."""

from __future__ import annotations

import base64
import threading
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import orjson
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common import aws
from common.settings import Settings
from common.tick import MAX_PRICE, MIN_PRICE, InvalidTick, decode_tick
from consumer.app import make_processor, make_sink
from consumer.batch import InRecord, PriceMemory, build_batch
from consumer.local_driver import LocalDriver
from consumer.sinks import DynamoTicks
from stockpipe import inventory
from stockpipe.provision import Resources
from tests.factories import a_tick, ticks
from tests.unit.consumer.test_sink_true_validation import as_json, near_ticks

STREAM = "stockpipe-ticks"
COLD_MAX_BYTES = 256 * 1024  # a small history buffer: flushes (and checkpoints) often
# a buffered row costs polars more than 100 bytes, so a full buffer holds fewer records
MAX_RECORDS = 500


def tick_text(**overrides: Any) -> bytes:
    """A valid tick's record text with some fields replaced by raw JSON text."""
    fields = {k: orjson.dumps(v).decode() for k, v in orjson.loads(a_tick().encode()).items()}
    fields.update(overrides)
    return ("{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}").encode()


def bad_records(now_ms: int) -> list[tuple[str, bytes, str]]:
    """(class, record data, expected rule): one of every kind of bad record we know of."""
    return [
        ("price underflows DynamoDB", tick_text(price="1e-200"), "bad_price"),
        ("subnormal price", tick_text(price="5e-324"), "bad_price"),
        ("price is true", tick_text(price="true"), "bad_price"),
        ("price is a string", tick_text(price='"12.5"'), "bad_price"),
        ("price is nested junk", tick_text(price='{"a":[1,{"b":null}]}'), "bad_price"),
        ("NaN price", tick_text(price="NaN"), "not_json"),
        ("Infinity price", tick_text(price="Infinity"), "not_json"),
        ("price 1e400", tick_text(price="1e400"), "not_json"),
        ("volume 2^63", tick_text(volume=str(2**63)), "bad_volume"),
        ("volume 2^64-1", tick_text(volume=str(2**64 - 1)), "bad_volume"),
        ("volume 2^64", tick_text(volume=str(2**64)), "bad_volume"),
        ("volume 10^30", tick_text(volume=str(10**30)), "bad_volume"),
        ("volume 1.5", tick_text(volume="1.5"), "bad_volume"),
        ("far-future time", tick_text(event_time_ms=str(now_ms + 86_400_000)), "bad_time"),
        ("6 min ahead", tick_text(event_time_ms=str(now_ms + 6 * 60_000)), "bad_time"),
        ("negative time", tick_text(event_time_ms="-1"), "bad_time"),
        ("lower-case symbol", tick_text(symbol='"aapl"'), "bad_symbol"),
        ("lone surrogate", tick_text(symbol='"\\ud800"'), "not_json"),
        ("deep nesting", b"[" * 500 + b"]" * 500, "not_object"),
        ("huge record", tick_text(note=orjson.dumps("x" * 100_000).decode()), "too_large"),
        ("not UTF-8", b"\xff\xfe\x00\x80garbage", "not_json"),
        ("JSON null", b"null", "not_object"),
        ("empty object", b"{}", "missing_field"),
    ]


def put(kinesis: Any, data: bytes, key: str = "AAPL") -> str:
    return str(kinesis.put_record(StreamName=STREAM, Data=data, PartitionKey=key)["SequenceNumber"])


def test_every_bad_record_is_dead_lettered_and_every_valid_tick_lands_once(
    settings: Settings, resources: Resources
) -> None:
    fast = settings.model_copy(
        update={"consumer_cold_age_ms": 100, "consumer_cold_max_bytes": COLD_MAX_BYTES}
    )
    kinesis: Any = aws.client("kinesis")
    now_ms = int(time.time() * 1000)
    bad = bad_records(now_ms)
    valid = ticks(300)
    # GIVEN valid ticks with every class of bad record between them, three rounds, then a
    # flood of bad records and valid ticks after it (one round is a valid tick with junk
    # fields beside its own, which are ignored)
    junk = tick_text(note='{"a":[1,2,{"b":null}]}', nested="[[[]]]")
    expected_ids = [a_tick().id]
    put(kinesis, junk)
    sequences: list[str] = []
    for round_ in range(3):
        for tick in valid[round_ * 50 : round_ * 50 + 50]:
            sequences.append(put(kinesis, tick.encode(), tick.symbol))
            expected_ids.append(tick.id)
        for _name, data, _rule in bad:
            sequences.append(put(kinesis, data))
    flood = [bad[i % len(bad)] for i in range(1200) if bad[i % len(bad)][0] != "huge record"]
    records = [{"Data": data, "PartitionKey": f"K{i}"} for i, (_n, data, _r) in enumerate(flood)]
    for start in range(0, len(records), 300):
        kinesis.put_records(StreamName=STREAM, Records=records[start : start + 300])
    for tick in valid[150:]:
        put(kinesis, tick.encode(), tick.symbol)
        expected_ids.append(tick.id)
    total = 1 + len(sequences) + len(flood) + 150
    sent_bad = [data for _n, data, _r in bad] * 3 + [data for _n, data, _r in flood]

    # WHEN the consumer runs over the stream
    driver = LocalDriver(
        aws.client("kinesis"),
        aws.client("dynamodb"),
        fast.stream_name,
        fast.consumer_application,
        lambda: make_processor(fast),
        poll_interval_s=0.05,
        max_records=MAX_RECORDS,
        shard_refresh_s=0.5,
    )
    stop = threading.Event()
    thread = threading.Thread(target=driver.run, args=(stop,))
    thread.start()
    s3 = aws.client("s3")
    lag_samples = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            assert thread.is_alive(), "the consumer stopped"
            lag_samples.append(driver.records_delivered - checkpointed(driver, kinesis))
            stored = inventory.dynamodb_tick_ids(aws.client("dynamodb"), fast.ticks_table)
            if (
                driver.records_delivered >= total
                and len(stored) >= len(expected_ids)
                and len(inventory.dead_letters(s3, fast.bucket)) >= len(sent_bad)
            ):
                break
            time.sleep(0.3)
        assert thread.is_alive(), "the consumer stopped"
    finally:
        stop.set()
        thread.join(timeout=30)

    # THEN every bad record is a dead letter with its rule and a reason
    letters = inventory.dead_letters(s3, fast.bucket)
    assert Counter(base64.b64decode(d["data_base64"]) for d in letters) == Counter(sent_bad)
    rule_of = {data: rule for _n, data, rule in bad}
    assert all(d["rule"] == rule_of[base64.b64decode(d["data_base64"])] for d in letters)
    assert all(d["reason"] and d["sequence_number"] and d["shard_id"] for d in letters)
    # AND every valid tick is in DynamoDB and in the history exactly once
    dynamo = inventory.dynamodb_tick_ids(aws.client("dynamodb"), fast.ticks_table)
    parquet = inventory.parquet_frame(s3, fast.bucket, ["id"])["id"].to_list()
    assert sorted(dynamo) == sorted(expected_ids)
    assert sorted(parquet) == sorted(expected_ids)
    # AND the checkpoint kept up: never more than a buffer's worth per shard was unflushed
    assert max(lag_samples) <= settings.shard_count * (COLD_MAX_BYTES // 100 + MAX_RECORDS)
    assert checkpointed(driver, kinesis) == total


def checkpointed(driver: LocalDriver, kinesis: Any) -> int:
    """Records at or before each shard's checkpoint."""
    count = 0
    for shard in kinesis.list_shards(StreamName=STREAM)["Shards"]:
        position = driver.store.get(shard["ShardId"])
        if position is None:
            continue
        iterator = kinesis.get_shard_iterator(
            StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            records = response["Records"]
            count += sum(int(r["SequenceNumber"]) <= int(position[0]) for r in records)
            if not records or int(records[-1]["SequenceNumber"]) >= int(position[0]):
                break
            iterator = response.get("NextShardIterator")
    return count


def test_a_row_dynamodb_refuses_is_dead_lettered_with_its_message_and_the_rest_stored(
    settings: Settings, resources: Resources
) -> None:
    # GIVEN a batch in which one row slipped past validation with a price DynamoDB refuses
    valid = ticks(60)
    records = [
        InRecord(t.encode(), str(10**20 + i), 0, t.event_time_ms + 100, t.symbol)
        for i, t in enumerate(valid)
    ]
    batch = build_batch(records, "shardId-000000000000", PriceMemory())
    poison = valid[17].id
    price = pl.when(pl.col("id") == poison).then(1e-200).otherwise(pl.col("price"))
    batch = replace(batch, ticks=batch.ticks.with_columns(price.alias("price")))
    # WHEN the sink writes it to the emulator
    make_sink(settings).write(batch)
    # THEN that row is a dead letter with DynamoDB's own message, and only that row is missing
    s3 = aws.client("s3")
    [letter] = inventory.dead_letters(s3, settings.bucket)
    assert letter["rule"] == "dynamodb_refused" and "underflow" in letter["reason"]
    assert base64.b64decode(letter["data_base64"]) == valid[17].encode()
    want = sorted(t.id for t in valid if t.id != poison)
    assert sorted(inventory.dynamodb_tick_ids(aws.client("dynamodb"), settings.ticks_table)) == want
    assert sorted(inventory.parquet_frame(s3, settings.bucket, ["id"])["id"].to_list()) == want


def test_the_emulator_refuses_numbers_outside_the_range(
    settings: Settings, resources: Resources
) -> None:
    """So the emulator judges the refusal path for real. Its check goes through a float: it
    takes 1E+126 (which rounds to the float of the largest allowed number) and 39 digits,
    which DynamoDB refuses; tests/dynamodb_rules.py is the exact oracle."""

    def item(number: str, key: str) -> dict[str, Any]:
        return {"symbol": {"S": "T"}, "sk": {"S": key}, "id": {"S": key}, "n": {"N": number}}

    edges = ["1E-130", "-1E-130", "9.9999999999999999999999999999999999999E+125", "0", "1e-131"]
    refused = DynamoTicks(aws.client("dynamodb"), settings.ticks_table).put_items(
        [item(n, f"k{i}") for i, n in enumerate(edges)] + [item("1E+127", "k9")]
    )
    assert sorted(i["n"]["N"] for i, _msg in refused) == ["1E+127", "1e-131"]


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(near_ticks, min_size=5, max_size=20),
    st.lists(st.floats(min_value=MIN_PRICE, max_value=MAX_PRICE), min_size=2, max_size=6),
)
def test_ticks_that_pass_validation_are_stored_by_the_emulator(
    settings: Settings, resources: Resources, documents: list[Any], prices: list[float]
) -> None:
    """Hypothesis sample: whatever passes validation, DynamoDB (emulated) and S3 store."""
    t0 = ticks(1)[0].event_time_ms
    documents += [  # one symbol whose price jumps between the extremes: change values
        {**orjson.loads(a_tick().encode()), "id": f"jump{i}", "price": p, "event_time_ms": t0 + i}
        for i, p in enumerate(prices)
    ]
    records = []
    for i, document in enumerate(documents):
        data = as_json(document)
        try:
            decode_tick(data, arrival_ms=t0 + 60_000)
        except InvalidTick:
            continue
        records.append(InRecord(data, str(10**20 + i), 0, t0 + 60_000, "AAPL"))
    batch = build_batch(records, "shardId-000000000000", PriceMemory())
    assert batch.dead_letters == []
    make_sink(settings).write(batch)
    stored = inventory.dynamodb_tick_ids(aws.client("dynamodb"), settings.ticks_table)
    assert set(batch.ticks["id"].to_list()) <= set(stored)
    # (the emulator is reset per test, not per example: no example so far was refused)
    assert inventory.dead_letters(aws.client("s3"), settings.bucket) == []
