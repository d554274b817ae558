"""Property: any record is either rejected with a rule, or a tick every encoder accepts.

Hypothesis draws arbitrary byte strings, arbitrary JSON documents and near-ticks (the six
fields, each drawn from valid values and hostile ones: NaN, infinities, subnormals, huge
integers, booleans, nested junk) and sends them through `decode_tick` and the consumer's own
stages. A tick that passes must give: a wire encoding that decodes to itself, a Parquet row
(the consumer's encoder, read back), and a DynamoDB item whose every number obeys DynamoDB's
rules (tests/dynamodb_rules.py); the same for the change values derived from any two valid
prices. No stage may raise.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.tick import MAX_FUTURE_SKEW_MS, MAX_PRICE, MIN_PRICE, InvalidTick, Tick, decode_tick
from consumer import encode
from consumer.batch import InRecord, PriceMemory, build_batch
from tests import dynamodb_rules
from tests.factories import NOW_MS

ARRIVAL_MS = NOW_MS
RULES = {
    "too_large",
    "not_json",
    "not_object",
    "missing_field",
    "bad_id",
    "bad_symbol",
    "bad_source",
    "bad_price",
    "bad_volume",
    "bad_time",
}
EXAMPLES = 400

hostile_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
    st.integers(),
    st.integers(min_value=2**62, max_value=2**66),
    st.integers(min_value=-(2**66), max_value=-(2**62)),
    st.booleans(),
    st.sampled_from([1e-200, 1e-131, 1e-130, 9.99e-10, 1e-9, 1e9, 1e9 + 1, 5e-324, 1e308]),
)
json_values = st.recursive(
    st.none() | st.booleans() | hostile_numbers | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
valid_fields = st.fixed_dictionaries(
    {
        "id": st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
        "symbol": st.one_of(
            st.sampled_from(["AAPL", "BRK-B", "^GSPC", "EURUSD=X", "A" * 16]),
            st.from_regex(r"[A-Z0-9^][A-Z0-9.\-=^]{0,15}", fullmatch=True),
        ),
        "event_time_ms": st.one_of(
            st.integers(min_value=0, max_value=ARRIVAL_MS + MAX_FUTURE_SKEW_MS),
            st.integers(  # both sides of the skew bound
                min_value=ARRIVAL_MS + MAX_FUTURE_SKEW_MS - 5,
                max_value=ARRIVAL_MS + MAX_FUTURE_SKEW_MS + 5,
            ),
        ),
        "price": st.one_of(
            st.floats(min_value=MIN_PRICE, max_value=MAX_PRICE),
            st.integers(min_value=1, max_value=10**9),
            st.sampled_from([MIN_PRICE, MAX_PRICE, 1e-200, 1e-131, 9.99e-10, 1e9 + 1, 5e-324]),
        ),
        "volume": st.one_of(
            st.integers(min_value=0, max_value=2**63 - 1),
            st.integers(min_value=2**63 - 3, max_value=2**64 + 3),
        ),
        "source": st.sampled_from(["synthetic", "replay", "yfinance"]),
    }
)
FIELDS = ("id", "symbol", "event_time_ms", "price", "volume", "source")
# a valid tick with up to two fields made hostile and optional junk beside the fields
near_ticks = st.builds(
    lambda fields, hostile, extra: {**fields, **hostile, **extra},
    valid_fields,
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=2),
    st.dictionaries(st.sampled_from(["note", "nested", "exchange"]), json_values, max_size=2),
)


def as_json(document: Any) -> bytes:
    """Python's json writes what orjson refuses (NaN, Infinity, integers past 64 bits)."""
    return json.dumps(document, allow_nan=True).encode()


def check(data: bytes) -> Tick | None:
    """The property, for one record; returns the tick when it passed."""
    try:
        tick = decode_tick(data, arrival_ms=ARRIVAL_MS)
    except InvalidTick as e:
        assert e.rule in RULES and e.reason
        return None
    # the wire encoding round-trips
    assert decode_tick(tick.encode(), arrival_ms=ARRIVAL_MS) == tick
    # the consumer keeps it, and every encoder takes it
    batch = build_batch(
        [InRecord(data, "1", 0, ARRIVAL_MS, tick.symbol)], "shardId-000000000000", PriceMemory()
    )
    assert batch.dead_letters == [] and batch.ticks["id"].to_list() == [tick.id]
    objects, rejects = encode.parquet_objects(batch)
    assert rejects == {}
    [row] = pl.read_parquet(io.BytesIO(objects[0].body)).iter_rows(named=True)
    assert (row["price"], row["volume"], row["event_time_ms"]) == (
        tick.price,
        tick.volume,
        tick.event_time_ms,
    )
    items, rejects = encode.dynamodb_items(batch, ttl_days=7)
    assert rejects == {}
    assert dynamodb_rules.item_errors(items[0]) == []
    return tick


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=1200))
def test_any_bytes_are_rejected_with_a_rule_or_stored(data: bytes) -> None:
    check(data)


@settings(max_examples=EXAMPLES, deadline=None)
@given(json_values)
def test_any_json_document_is_rejected_with_a_rule_or_stored(document: Any) -> None:
    check(as_json(document))


@settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_ticks)
def test_near_ticks_are_rejected_with_a_rule_or_stored(document: dict[str, Any]) -> None:
    check(as_json(document))


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    st.floats(min_value=MIN_PRICE, max_value=MAX_PRICE),
    st.floats(min_value=MIN_PRICE, max_value=MAX_PRICE),
)
def test_change_between_any_two_valid_prices_is_a_dynamodb_number(
    first: float, second: float
) -> None:
    # GIVEN two valid ticks of one symbol WHEN the second is compared with the first
    ticks = [
        orjson.dumps(
            {
                "id": f"t{i}",
                "symbol": "AAPL",
                "event_time_ms": NOW_MS - 2000 + i,
                "price": price,
                "volume": 1,
                "source": "synthetic",
            }
        )
        for i, price in enumerate((first, second))
    ]
    batch = build_batch(
        [InRecord(d, str(i + 1), 0, ARRIVAL_MS, "AAPL") for i, d in enumerate(ticks)],
        "shardId-000000000000",
        PriceMemory(),
    )
    # THEN both are kept and the change values are numbers DynamoDB stores
    assert batch.dead_letters == []
    items, rejects = encode.dynamodb_items(batch, ttl_days=7)
    assert rejects == {} and len(items) == 2
    for item in items:
        assert dynamodb_rules.item_errors(item) == []
    change = batch.ticks["change"][1]
    assert change == pytest.approx(second - first) and math.isfinite(change)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("0", True),
        ("1E-130", True),
        ("9.9999999999999999999999999999999999999E+125", True),
        ("-1E-130", True),
        ("1e-131", False),
        ("1E+126", False),
        ("1" * 38, True),
        ("1" * 39, False),
        ("NaN", False),
        ("Infinity", False),
        (" 1", False),
    ],
)
def test_the_oracle_follows_the_documented_rules(text: str, ok: bool) -> None:
    assert (dynamodb_rules.number_error(text) is None) == ok
