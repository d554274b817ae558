"""Poison isolation as a mechanism: whatever stage fails on whichever records, exactly those
records become dead letters with the exception as the reason, and the others go on.

The failing stages are real code made to fail on chosen records (a patched decoder, enricher,
item codec, Parquet writer, or a DynamoDB stand-in that answers ValidationException), at
positions Hypothesis chooses.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from consumer import batch as batch_module
from consumer import encode
from consumer.batch import InRecord, PriceMemory, build_batch
from consumer.isolate import bisect, describe
from consumer.sinks import DynamoTicks, SinkError
from tests.factories import ticks

N = 40
TICKS = ticks(N)


def records() -> list[InRecord]:
    return [
        InRecord(t.encode(), str(i + 1), 0, t.event_time_ms + 100, t.symbol)
        for i, t in enumerate(TICKS)
    ]


poison_sets = st.sets(st.integers(min_value=0, max_value=N - 1), max_size=6)


class Poisoned(RuntimeError):
    pass


@given(st.lists(st.integers(), max_size=60), st.sets(st.integers(), max_size=5))
def test_bisect_isolates_exactly_the_items_that_fail_alone(items: list[int], bad: set[int]) -> None:
    def total(part: Any) -> int:
        if bad & set(part):
            raise Poisoned(f"{sorted(bad & set(part))}")
        return sum(part)

    done, failed = bisect(items, total)
    assert [item for item, _ in failed] == [i for i in items if i in bad]
    assert all(isinstance(e, Poisoned) for _, e in failed)
    assert sum(done) == sum(i for i in items if i not in bad)


def test_bisect_lets_errors_that_are_not_faults_through() -> None:
    def refuse(_part: Any) -> None:
        raise SinkError("throttled")

    with pytest.raises(SinkError):
        bisect([1, 2, 3], refuse, fault=Poisoned)


def test_describe_keeps_a_reason_short_and_valid_utf8() -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise ValueError("no")

    assert describe(Broken()) == "Broken: <message unavailable>"
    assert len(describe(ValueError("x" * 5000))) <= 500
    assert describe(ValueError("\ud800")).encode("utf-8")


def assert_isolated(result: Any, poison: set[int], rule: str) -> None:
    dead = {d.sequence_number: d for d in result.dead_letters}
    assert set(dead) == {str(i + 1) for i in poison}
    assert all(d.rule == rule and "Poisoned: bad record" in d.reason for d in dead.values())
    assert {d.shard_id for d in dead.values()} <= {result.shard_id}
    assert {d.data for d in dead.values()} == {TICKS[i].encode() for i in poison}
    kept = set(result.ticks["id"].to_list())
    assert kept == {t.id for i, t in enumerate(TICKS) if i not in poison}


@settings(max_examples=40, deadline=None)
@given(poison_sets)
def test_any_exception_while_decoding_dead_letters_that_record(poison: set[int]) -> None:
    bad = {TICKS[i].encode() for i in poison}
    real = batch_module.decode_tick

    def decoder(data: bytes, **kwargs: Any) -> Any:
        if data in bad:
            raise Poisoned("bad record")
        return real(data, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_module, "decode_tick", decoder)
        result = build_batch(records(), "shardId-000000000000", PriceMemory())
    assert_isolated(result, poison, "decode_error")


@settings(max_examples=40, deadline=None)
@given(poison_sets)
def test_any_exception_while_transforming_dead_letters_those_records(poison: set[int]) -> None:
    bad = {TICKS[i].id for i in poison}
    real = batch_module.enrich

    def enricher(frame: pl.DataFrame, memory: Any) -> pl.DataFrame:
        if bad & set(frame["id"].to_list()):
            raise Poisoned("bad record")
        return real(frame, memory)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_module, "enrich", enricher)
        result = build_batch(records(), "shardId-000000000000", PriceMemory())
    assert_isolated(result, poison, "transform_error")
    # the kept rows are enriched and in (symbol, time) order, as without a failure
    assert result.ticks.columns == build_batch(records(), "s", PriceMemory()).ticks.columns
    assert result.ticks.equals(result.ticks.sort(["symbol", "event_time_ms", "sequence_number"]))


def whole() -> Any:
    return build_batch(records(), "shardId-000000000000", PriceMemory())


@settings(max_examples=30, deadline=None)
@given(poison_sets)
def test_any_exception_while_encoding_items_rejects_those_rows(poison: set[int]) -> None:
    bad = {TICKS[i].id for i in poison}
    real = encode.tables.encode_tick_item

    def codec(tick: Any, **kwargs: Any) -> Any:
        if tick.id in bad:
            raise Poisoned("bad record")
        return real(tick, **kwargs)

    batch = whole()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(encode.tables, "encode_tick_item", codec)
        items, rejects = encode.dynamodb_items(batch, ttl_days=7)
    assert {item["id"]["S"] for item in items} == {t.id for t in TICKS} - bad
    assert_isolated(batch.reject(rejects), poison, "encode_error")


@settings(max_examples=30, deadline=None)
@given(poison_sets)
def test_any_exception_while_encoding_parquet_rejects_those_rows(poison: set[int]) -> None:
    bad = {TICKS[i].id for i in poison}
    real = encode.encode_parquet

    def writer(frame: pl.DataFrame) -> bytes:
        if bad & set(frame["id"].to_list()):
            raise Poisoned("bad record")
        return real(frame)

    batch = whole()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(encode, "encode_parquet", writer)
        objects, rejects = encode.parquet_objects(batch)
    assert {i for o in objects for i in o.ids} == {t.id for t in TICKS} - bad
    assert_isolated(batch.reject(rejects), poison, "encode_error")
    # a date's object is keyed by its first kept record, as it would be without the poison
    clean = whole().reject(rejects)
    assert [o.key for o in objects] == [o.key for o in encode.parquet_objects(clean)[0]]


class ValidatingDynamo:
    """A DynamoDB stand-in: a request holding a bad item fails whole, as DynamoDB does."""

    def __init__(self, bad: set[str], code: str = "ValidationException") -> None:
        self.bad, self.code = bad, code
        self.written: list[str] = []
        self.calls = 0

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        self.calls += 1
        [(_table, requests)] = RequestItems.items()
        ids = [r["PutRequest"]["Item"]["id"]["S"] for r in requests]
        if self.bad & set(ids):
            message = f"Number underflow in {sorted(self.bad & set(ids))[0]}"
            raise ClientError({"Error": {"Code": self.code, "Message": message}}, "BatchWriteItem")
        self.written += ids
        return {"UnprocessedItems": {}}


def items_of(ids: list[str]) -> list[dict[str, Any]]:
    return [{"symbol": {"S": "AAPL"}, "sk": {"S": i}, "id": {"S": i}} for i in ids]


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=80), st.sets(st.integers(0, 79), max_size=5))
def test_a_refused_item_is_isolated_and_the_rest_written(n: int, bad_rows: set[int]) -> None:
    ids = [f"t{i}" for i in range(n)]
    bad = {f"t{i}" for i in bad_rows if i < n}
    client = ValidatingDynamo(bad)
    rejected = DynamoTicks(client, "ticks", sleep=lambda s: None).put_items(items_of(ids))
    assert sorted(client.written) == sorted(set(ids) - bad)
    assert {item["id"]["S"] for item, _ in rejected} == bad
    assert all(f"Number underflow in {item['id']['S']}" == msg for item, msg in rejected)
    # bisection: about log2(25) calls per bad item, never one call per item
    assert client.calls <= (n + 24) // 25 + 2 * len(bad) * 5


@pytest.mark.parametrize("code", ["AccessDeniedException", "ResourceNotFoundException"])
def test_configuration_errors_are_not_blamed_on_records(code: str) -> None:
    client = ValidatingDynamo({"t1"}, code=code)
    with pytest.raises(SinkError, match=code):
        DynamoTicks(client, "ticks", sleep=lambda s: None).put_items(items_of(["t0", "t1"]))


def test_a_row_with_a_derived_number_dynamodb_cannot_store_is_dead_lettered() -> None:
    # GIVEN an enrichment that derives a change too small for DynamoDB on one row
    real = batch_module.enrich
    victim = TICKS[7].id

    def enricher(frame: pl.DataFrame, memory: Any) -> pl.DataFrame:
        out = real(frame, memory)
        tiny = pl.when(pl.col("id") == victim).then(1e-140).otherwise(pl.col("change"))
        return out.with_columns(tiny.alias("change"))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_module, "enrich", enricher)
        result = whole()
    # THEN that row is a dead letter saying why, and every other row is kept
    [letter] = result.dead_letters
    assert letter.rule == "unstorable" and "change=1e-140" in letter.reason
    assert letter.data == TICKS[7].encode()
    assert result.ticks.height == N - 1


@settings(max_examples=30, deadline=None)
@given(poison_sets)
def test_any_exception_while_building_rows_dead_letters_those_records(poison: set[int]) -> None:
    bad = {TICKS[i].id for i in poison}
    real = batch_module._frame

    def rows(valid: Any) -> pl.DataFrame:
        if bad & {tick.id for tick, _record in valid}:
            raise Poisoned("bad record")
        return real(valid)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_module, "_frame", rows)
        result = whole()
    assert_isolated(result, poison, "transform_error")


@pytest.mark.parametrize("down_on", [[1, 2], [3, 4]], ids=["left half", "right half"])
def test_an_error_that_is_not_a_fault_passes_through_while_bisecting(down_on: list[int]) -> None:
    # GIVEN a store that refuses the whole chunk (a fault), then fails outright on one half
    # (not a fault: e.g. unreachable) while the halves are retried
    def apply(items: Any) -> None:
        if len(items) == 4:
            raise Poisoned("refused")
        if list(items) == down_on:
            raise SinkError("the store went away")

    # THEN the error reaches the caller (the shard is re-read) instead of blaming the items
    with pytest.raises(SinkError):
        bisect([1, 2, 3, 4], apply, fault=Poisoned)
