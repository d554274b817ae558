"""The consumer's sinks against the emulator over HTTP: what lands in S3 and DynamoDB, and how
each failure is classed (a record the store refuses is handed back to be dead-lettered; a
store that cannot be reached or is missing is a SinkError, so the process exits and the shard
is re-read).

The emulator cannot throttle, refuse an object for its size or return UnprocessedItems, so
those answers come from `Flaky`, a thin wrapper that raises the error AWS sends for the first
calls and hands the rest to the real client. A closed port on 127.0.0.1 stands for a store
that cannot be reached.
"""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from typing import Any

import boto3
import polars as pl
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from common import tables
from consumer import encode
from consumer.batch import Batch, InRecord, PriceMemory, build_batch
from consumer.sinks import AwsBatchSink, DynamoTicks, Refused, S3Objects, SinkError
from stockpipe.emulator import free_port
from stockpipe.provision import _ticks_table
from tests.factories import NOW_MS, a_tick, ticks

BUCKET = "sink-bucket"
TABLE = "sink-ticks"
SHARD = "shardId-000000000003"
TTL_DAYS = 3
DAY_MS = 86_400_000
MIDNIGHT = NOW_MS - NOW_MS % DAY_MS
OVERFLOW = (
    "Number overflow. Attempting to store a number with magnitude larger than supported range"
)


def a_client(service: str, endpoint: str, **config: Any) -> Any:
    """A client made once per session: making one costs ~1 s of CPU (service models)."""
    return boto3.session.Session().client(
        service,
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**config),
    )


@pytest.fixture(scope="session")
def clients(emulator_endpoint: str) -> dict[str, Any]:
    """The emulator's S3 and DynamoDB, and both behind a port nobody listens on (failing at
    once: no botocore retries)."""
    closed = f"http://127.0.0.1:{free_port()}"
    fail_fast = {"retries": {"total_max_attempts": 1}, "connect_timeout": 1}
    return {
        "s3": a_client("s3", emulator_endpoint),
        "dynamodb": a_client("dynamodb", emulator_endpoint),
        "unreachable s3": a_client("s3", closed, **fail_fast),
        "unreachable dynamodb": a_client("dynamodb", closed, **fail_fast),
    }


@pytest.fixture
def s3(clients: dict[str, Any]) -> Any:
    clients["s3"].create_bucket(Bucket=BUCKET)
    return clients["s3"]


@pytest.fixture
def dynamodb(clients: dict[str, Any]) -> Any:
    """The ticks table as provisioning makes it (keys, stream, TTL)."""
    _ticks_table(clients["dynamodb"], TABLE)
    return clients["dynamodb"]


class Flaky:
    """The real client, except that the first `times` calls of `method` raise AWS's `code`."""

    def __init__(
        self, client: Any, method: str, code: str, times: int = 1, message: str | None = None
    ) -> None:
        self._client, self._method, self._code, self.times = client, method, code, times
        self._message = f"{code} (injected)" if message is None else message
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if name != self._method:
            return real

        def call(**kwargs: Any) -> Any:
            self.calls += 1
            if self.calls <= self.times:
                error = {"Code": self._code, "Message": self._message}
                raise ClientError({"Error": error}, self._method)
            return real(**kwargs)

        return call


def rec(tick: Any, seq: int, arrival_ms: int | None = None) -> InRecord:
    arrival = arrival_ms if arrival_ms is not None else tick.event_time_ms + 150
    return InRecord(tick.encode(), str(seq), 0, arrival, tick.symbol)


def a_batch(n: int = 6, poison: int = 0) -> Batch:
    """n valid ticks over three symbols, then `poison` records that are not JSON."""
    records = [rec(t, i + 1) for i, t in enumerate(ticks(n))]
    records += [InRecord(b"{not json", str(n + 1 + i), 0, NOW_MS, "AAPL") for i in range(poison)]
    return build_batch(records, SHARD, PriceMemory())


def stored_ticks(dynamodb: Any) -> dict[str, dict[str, Any]]:
    """Tick items by id (the latest-quote items left out)."""
    items = dynamodb.scan(TableName=TABLE)["Items"]
    return {i["id"]["S"]: i for i in items if i[tables.SORT_KEY]["S"] != tables.LATEST_SORT_KEY}


def latest(dynamodb: Any, symbol: str) -> dict[str, Any] | None:
    item = dynamodb.get_item(TableName=TABLE, Key=tables.latest_quote_key(symbol)).get("Item")
    return None if item is None else {k: v for k, v in item.items() if k not in ("symbol", "sk")}


def objects(s3: Any, prefix: str = "") -> dict[str, tuple[bytes, str]]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    found = {}
    for entry in listed:
        got = s3.get_object(Bucket=BUCKET, Key=entry["Key"])
        found[entry["Key"]] = (got["Body"].read(), got["ContentType"])
    return found


def sink(s3: Any, dynamodb: Any) -> AwsBatchSink:
    return AwsBatchSink(
        S3Objects(s3, BUCKET), DynamoTicks(dynamodb, TABLE, sleep=no_wait), ttl_days=TTL_DAYS
    )


def no_wait(_seconds: float) -> None:
    return None


# --- S3Objects --------------------------------------------------------------------------


def test_a_put_stores_the_body_with_its_content_type(s3: Any) -> None:
    S3Objects(s3, BUCKET).put("ticks/dt=2025-11-24/a.parquet", b"PAR1", "application/x-test")
    assert objects(s3) == {"ticks/dt=2025-11-24/a.parquet": (b"PAR1", "application/x-test")}


def test_a_missing_bucket_is_a_sink_error_naming_the_object(s3: Any) -> None:
    with pytest.raises(SinkError, match=r"^S3 put of s3://no-such-bucket/k\.jsonl failed: ") as e:
        S3Objects(s3, "no-such-bucket").put("k.jsonl", b"{}", "application/x-ndjson")
    assert "NoSuchBucket" in str(e.value)
    assert isinstance(e.value.__cause__, ClientError)


def test_an_unreachable_store_is_a_sink_error_naming_the_object(clients: dict[str, Any]) -> None:
    with pytest.raises(SinkError, match=r"^S3 put of s3://b/k failed: Could not connect"):
        S3Objects(clients["unreachable s3"], "b").put("k", b"x", "text/plain")


@pytest.mark.parametrize(
    "code",
    ["EntityTooLarge", "EntityTooSmall", "InvalidArgument", "KeyTooLongError", "InvalidDigest"],
)
def test_an_object_s3_refuses_for_itself_is_refused_not_a_sink_error(s3: Any, code: str) -> None:
    flaky = Flaky(s3, "put_object", code)
    with pytest.raises(Refused) as e:
        S3Objects(flaky, BUCKET).put("big.parquet", b"x", "application/x-test")
    assert e.value.message.startswith(f"S3 refused s3://{BUCKET}/big.parquet: ")
    assert code in e.value.message and str(e.value) == e.value.message
    assert objects(s3) == {}


def test_slow_down_is_not_blamed_on_the_object(s3: Any) -> None:
    with pytest.raises(SinkError, match="SlowDown"):
        S3Objects(Flaky(s3, "put_object", "SlowDown"), BUCKET).put("k", b"x", "text/plain")


# --- DynamoTicks.put_items ----------------------------------------------------------------


def test_every_item_is_written_across_chunks(dynamodb: Any) -> None:
    items, _ = encode.dynamodb_items(a_batch(60), ttl_days=TTL_DAYS)
    assert DynamoTicks(dynamodb, TABLE).put_items(items) == []
    assert stored_ticks(dynamodb) == {i["id"]["S"]: i for i in items}


def test_an_item_the_table_refuses_comes_back_with_its_message_and_the_rest_is_written(
    dynamodb: Any, caplog: pytest.LogCaptureFixture
) -> None:
    items, _ = encode.dynamodb_items(a_batch(30), ttl_days=TTL_DAYS)
    items[27] = {**items[27], "price": {"N": "1E+127"}}
    with caplog.at_level(logging.WARNING, logger="consumer.sinks"):
        refused = DynamoTicks(dynamodb, TABLE).put_items(items)
    assert refused == [(items[27], OVERFLOW)]
    assert sorted(stored_ticks(dynamodb)) == sorted(i["id"]["S"] for i in items[:27] + items[28:])
    assert [r.getMessage() for r in caplog.records] == [f"{TABLE} refused an item: {OVERFLOW}"]


def test_a_refusal_without_a_message_is_given_the_errors_own_text(dynamodb: Any) -> None:
    items, _ = encode.dynamodb_items(a_batch(1), ttl_days=TTL_DAYS)
    flaky = Flaky(dynamodb, "batch_write_item", "ValidationException", message="")
    [(_item, reason)] = DynamoTicks(flaky, TABLE).put_items(items)
    assert reason.startswith("An error occurred (ValidationException) when calling")


def test_a_missing_table_is_a_sink_error_not_a_refused_item(dynamodb: Any) -> None:
    items, _ = encode.dynamodb_items(a_batch(3), ttl_days=TTL_DAYS)
    with pytest.raises(SinkError, match=r"^BatchWriteItem to no-such-table failed: .*ResourceNotF"):
        DynamoTicks(dynamodb, "no-such-table").put_items(items)


@pytest.mark.parametrize(
    "code",
    [
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
    ],
)
def test_throttling_and_server_errors_are_retried_until_written(dynamodb: Any, code: str) -> None:
    items, _ = encode.dynamodb_items(a_batch(5), ttl_days=TTL_DAYS)
    flaky = Flaky(dynamodb, "batch_write_item", code, times=2)
    waits: list[float] = []
    assert DynamoTicks(flaky, TABLE, sleep=waits.append).put_items(items) == []
    assert flaky.calls == 3 and len(waits) == 2
    assert sorted(stored_ticks(dynamodb)) == sorted(i["id"]["S"] for i in items)


def test_a_store_that_stays_unreachable_is_a_sink_error_after_the_attempts(
    clients: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    items, _ = encode.dynamodb_items(a_batch(4), ttl_days=TTL_DAYS)
    waits: list[float] = []
    with (
        caplog.at_level(logging.WARNING, logger="consumer.sinks"),
        pytest.raises(SinkError) as e,
    ):
        DynamoTicks(
            clients["unreachable dynamodb"], TABLE, max_attempts=3, sleep=waits.append
        ).put_items(items)
    assert str(e.value) == f"4 item(s) still unprocessed by {TABLE} after 3 attempts"
    assert len(waits) == 2
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert all(
        m.startswith(f"BatchWriteItem to {TABLE} failed (Could not connect") for m in messages
    )
    assert all(m.endswith("); retrying") for m in messages)


def test_a_connection_error_is_retried_until_written(
    clients: dict[str, Any], dynamodb: Any
) -> None:
    items, _ = encode.dynamodb_items(a_batch(4), ttl_days=TTL_DAYS)
    calls = {"n": 0}
    dead = clients["unreachable dynamodb"]

    class ThenReal:
        """Unreachable for the first call, the emulator after."""

        def batch_write_item(self, **kwargs: Any) -> Any:
            calls["n"] += 1
            return (dead if calls["n"] == 1 else dynamodb).batch_write_item(**kwargs)

    assert DynamoTicks(ThenReal(), TABLE, sleep=no_wait).put_items(items) == []
    assert calls["n"] == 2
    assert sorted(stored_ticks(dynamodb)) == sorted(i["id"]["S"] for i in items)


def test_the_default_is_eight_attempts(clients: dict[str, Any]) -> None:
    waits: list[float] = []
    items, _ = encode.dynamodb_items(a_batch(1), ttl_days=TTL_DAYS)
    with pytest.raises(SinkError, match="after 8 attempts"):
        DynamoTicks(clients["unreachable dynamodb"], TABLE, sleep=waits.append).put_items(items)
    assert len(waits) == 7 and all(0 <= w <= 2.0 for w in waits)


# --- DynamoTicks.update_latest ------------------------------------------------------------


def test_the_latest_quote_holds_the_newest_tick_only(dynamodb: Any) -> None:
    dynamo = DynamoTicks(dynamodb, TABLE)
    dynamo.update_latest("AAPL", MIDNIGHT + 2000, 101.25, "t2")
    expect = {"event_time_ms": {"N": str(MIDNIGHT + 2000)}, "price": {"N": "101.25"}}
    assert latest(dynamodb, "AAPL") == {**expect, "id": {"S": "t2"}}
    # an older (late or replayed) tick and one of the same time never replace it
    dynamo.update_latest("AAPL", MIDNIGHT + 1000, 99.0, "t1")
    dynamo.update_latest("AAPL", MIDNIGHT + 2000, 50.0, "t2b")
    assert latest(dynamodb, "AAPL") == {**expect, "id": {"S": "t2"}}
    dynamo.update_latest("AAPL", MIDNIGHT + 2001, 0.1, "t3")
    assert latest(dynamodb, "AAPL") == {
        "event_time_ms": {"N": str(MIDNIGHT + 2001)},
        "price": {"N": "0.1"},
        "id": {"S": "t3"},
    }
    assert latest(dynamodb, "MSFT") is None


@pytest.mark.parametrize("where", ["missing table", "unreachable"])
def test_a_latest_quote_that_cannot_be_written_is_a_sink_error(
    clients: dict[str, Any], dynamodb: Any, where: str
) -> None:
    dynamo = (
        DynamoTicks(dynamodb, "no-such-table")
        if where == "missing table"
        else DynamoTicks(clients["unreachable dynamodb"], TABLE)
    )
    with pytest.raises(SinkError, match=r"^latest-quote update for MSFT failed: "):
        dynamo.update_latest("MSFT", MIDNIGHT, 1.5, "t1")


# --- AwsBatchSink -------------------------------------------------------------------------


def test_the_hot_path_stores_every_tick_and_the_latest_quote_per_symbol(
    s3: Any, dynamodb: Any
) -> None:
    batch = a_batch(7)
    kept = sink(s3, dynamodb).write_hot(batch)
    assert kept == batch
    stored = stored_ticks(dynamodb)
    assert sorted(stored) == sorted(batch.ticks["id"].to_list())
    for row in batch.ticks.iter_rows(named=True):
        assert stored[row["id"]][tables.TTL_ATTRIBUTE] == {
            "N": str(row["arrival_ms"] // 1000 + TTL_DAYS * 86_400)
        }
    newest = batch.ticks.sort("event_time_ms").group_by("symbol").last()
    for symbol, event_ms, price, tick_id in newest.select(
        "symbol", "event_time_ms", "price", "id"
    ).iter_rows():
        assert latest(dynamodb, symbol) == {
            "event_time_ms": {"N": str(event_ms)},
            "price": {"N": repr(price)},
            "id": {"S": tick_id},
        }
    assert objects(s3) == {}  # history waits for the cold path


def test_a_row_the_table_refuses_becomes_a_dead_letter_and_never_the_latest_quote(
    s3: Any, dynamodb: Any
) -> None:
    batch = a_batch(6)
    # the newest AAPL tick carries a price DynamoDB cannot store (validation would stop it:
    # this stands for any row the store refuses for a reason of its own)
    aapl = batch.ticks.filter(pl.col("symbol") == "AAPL").sort("event_time_ms")
    bad_id, good_id = aapl["id"][-1], aapl["id"][-2]
    poisoned = overflowing(batch, bad_id)
    kept = sink(s3, dynamodb).write_hot(poisoned)
    assert bad_id not in kept.ticks["id"].to_list() and kept.ticks.height == 5
    [letter] = kept.dead_letters
    assert (letter.rule, letter.reason, letter.shard_id) == ("dynamodb_refused", OVERFLOW, SHARD)
    assert sorted(stored_ticks(dynamodb)) == sorted(kept.ticks["id"].to_list())
    assert latest(dynamodb, "AAPL")["id"] == {"S": good_id}  # type: ignore[index]


def overflowing(batch: Batch, tick_id: str) -> Batch:
    """The batch with that row's price beyond DynamoDB's range (validation would stop it: this
    stands for any row the store refuses for a reason of its own)."""
    price = pl.when(pl.col("id") == tick_id).then(1e127).otherwise(pl.col("price"))
    return replace(batch, ticks=batch.ticks.with_columns(price.alias("price")))


def history_frame(body: bytes) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(body))


def test_the_cold_path_writes_history_per_date_and_the_dead_letters(s3: Any, dynamodb: Any) -> None:
    batch = a_batch(6, poison=2)
    sink(s3, dynamodb).write_cold(batch)
    stored = objects(s3)
    history, _ = encode.parquet_objects(batch)
    letters = encode.dead_letter_objects(batch)
    assert {k: v[1] for k, v in stored.items()} == {
        **{o.key: "application/vnd.apache.parquet" for o in history},
        **{k: "application/x-ndjson" for k, _ in letters},
    }
    assert sorted(history_frame(stored[history[0].key][0])["id"]) == sorted(batch.ticks["id"])
    assert [stored[k][0] for k, _ in letters] == [body for _, body in letters]
    assert stored_ticks(dynamodb) == {}  # the hot path wrote DynamoDB already


def test_a_history_object_s3_refuses_becomes_dead_letters(s3: Any, dynamodb: Any) -> None:
    # GIVEN ticks of two dates, and an S3 that refuses the first history object it is given
    records = [
        rec(a_tick(event_time_ms=MIDNIGHT - 1000, volume=1), 1, arrival_ms=MIDNIGHT + 10),
        rec(a_tick(event_time_ms=MIDNIGHT + 1000, volume=2), 2, arrival_ms=MIDNIGHT + 20),
        rec(a_tick(event_time_ms=MIDNIGHT - 500, volume=3), 3, arrival_ms=MIDNIGHT + 30),
    ]
    batch = build_batch(records, SHARD, PriceMemory())
    flaky = Flaky(s3, "put_object", "EntityTooLarge")
    # WHEN the cold path writes them
    sink(flaky, dynamodb).write_cold(batch)
    # THEN the other date is history, the refused date's rows are dead letters with S3's reason
    stored = objects(s3)
    [history_key] = [k for k in stored if k.startswith("ticks/")]
    assert history_key.startswith("ticks/dt=2025-11-24/")
    [letters_key] = [k for k in stored if k.startswith("dead-letter/")]
    assert len(stored[letters_key][0].splitlines()) == 2
    body = stored[letters_key][0].decode()
    assert body.count('"rule":"s3_refused"') == 2
    assert "S3 refused s3://sink-bucket/ticks/dt=2025-11-23/" in body and "EntityTooLarge" in body


def test_every_history_object_s3_refuses_becomes_dead_letters(s3: Any, dynamodb: Any) -> None:
    records = [
        rec(a_tick(event_time_ms=MIDNIGHT - 1000, volume=1), 1, arrival_ms=MIDNIGHT + 10),
        rec(a_tick(event_time_ms=MIDNIGHT + 1000, volume=2), 2, arrival_ms=MIDNIGHT + 20),
    ]
    batch = build_batch(records, SHARD, PriceMemory())
    sink(Flaky(s3, "put_object", "EntityTooLarge", times=2), dynamodb).write_cold(batch)
    stored = objects(s3)
    assert [k.split("/")[0] for k in stored] == ["dead-letter"]
    [body] = [b for b, _type in stored.values()]
    assert body.count(b'"rule":"s3_refused"') == 2


def test_a_row_that_cannot_become_an_item_is_dead_lettered_and_the_rest_stored(
    s3: Any, dynamodb: Any
) -> None:
    batch = a_batch(4)
    bad_id = batch.ticks["id"][1]
    broken = replace(
        batch,
        ticks=batch.ticks.with_columns(
            pl.when(pl.col("id") == bad_id)
            .then(None)
            .otherwise(pl.col("event_time_ms"))
            .alias("event_time_ms")
        ),
    )
    kept = sink(s3, dynamodb).write_hot(broken)
    assert [(d.rule, d.sequence_number) for d in kept.dead_letters] == [
        ("encode_error", batch.ticks["sequence_number"][1])
    ]
    assert sorted(stored_ticks(dynamodb)) == sorted(i for i in batch.ticks["id"] if i != bad_id)


def test_dead_letters_that_s3_refuses_are_a_sink_error(s3: Any, dynamodb: Any) -> None:
    batch = a_batch(1, poison=1)
    flaky = Flaky(s3, "put_object", "InvalidArgument", times=2)
    with pytest.raises(SinkError, match=r"^dead letters refused: S3 refused s3://sink-bucket/dead"):
        sink(flaky, dynamodb).write_cold(batch)


def test_write_runs_the_hot_path_then_the_cold_path_with_what_it_kept(
    s3: Any, dynamodb: Any
) -> None:
    batch = a_batch(4)
    bad_id = batch.ticks["id"][0]
    poisoned = overflowing(batch, bad_id)
    sink(s3, dynamodb).write(poisoned)
    assert sorted(stored_ticks(dynamodb)) == sorted(batch.ticks["id"][1:])
    stored = objects(s3)
    [history_key] = [k for k in stored if k.startswith("ticks/")]
    assert sorted(history_frame(stored[history_key][0])["id"]) == sorted(batch.ticks["id"][1:])
    [letters_key] = [k for k in stored if k.startswith("dead-letter/")]
    assert b'"rule":"dynamodb_refused"' in stored[letters_key][0]
