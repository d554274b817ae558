"""The tick contract: what is accepted, what is rejected and why, and the wire format."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest

from common.tick import MAX_RECORD_BYTES, InvalidTick, decode_tick, make_tick, tick_id
from tests.factories import NOW_MS, a_tick, fixed_clock, quote_fields


def wire(**overrides: Any) -> dict[str, Any]:
    record = orjson.loads(a_tick().encode())
    record.update(overrides)
    return record


def decode(record: Any) -> Any:
    return decode_tick(orjson.dumps(record), clock=fixed_clock)


class TestValidQuotes:
    def test_round_trip_keeps_every_field(self) -> None:
        # GIVEN a valid tick WHEN encoded and decoded THEN it is unchanged
        tick = a_tick(symbol="BRK-B", price=412.5, volume=0)
        assert decode_tick(tick.encode(), clock=fixed_clock) == tick

    @pytest.mark.parametrize(
        "symbol", ["A", "AAPL", "BRK-B", "^GSPC", "EURUSD=X", "BTC-USD", "RDS.A", "7203.T"]
    )
    def test_yahoo_style_symbols_are_accepted(self, symbol: str) -> None:
        assert a_tick(symbol=symbol).symbol == symbol

    def test_integer_price_becomes_float_with_the_same_id_as_the_float(self) -> None:
        assert a_tick(price=100) == a_tick(price=100.0)

    def test_id_is_deterministic_and_depends_on_every_field(self) -> None:
        base = quote_fields()
        assert a_tick().id == a_tick().id
        assert a_tick().id == tick_id(
            base["source"],
            base["symbol"],
            base["event_time_ms"],
            float(base["price"]),
            base["volume"],
        )
        variants = [
            a_tick(symbol="MSFT"),
            a_tick(event_time_ms=base["event_time_ms"] + 1),
            a_tick(price=base["price"] + 0.01),
            a_tick(volume=base["volume"] + 1),
            a_tick(source="replay"),
        ]
        assert len({t.id for t in variants} | {a_tick().id}) == 6

    def test_encoding_is_compact_json_well_under_the_size_limit(self) -> None:
        data = a_tick().encode()
        assert orjson.loads(data)["symbol"] == "AAPL"
        assert b" " not in data and len(data) < MAX_RECORD_BYTES // 4

    def test_unknown_extra_fields_are_ignored_for_forward_compatibility(self) -> None:
        assert decode(wire(exchange="NMS")) == a_tick()


BAD_QUOTES = [
    ("nan price", {"price": math.nan}, "bad_price", "not finite"),
    ("+inf price", {"price": math.inf}, "bad_price", "not finite"),
    ("-inf price", {"price": -math.inf}, "bad_price", "not finite"),
    ("negative price", {"price": -1.0}, "bad_price", "not positive"),
    ("zero price", {"price": 0}, "bad_price", "not positive"),
    ("absurd price", {"price": 1e12}, "bad_price", "above"),
    ("string price", {"price": "229.87"}, "bad_price", "must be a number"),
    ("bool price", {"price": True}, "bad_price", "must be a number"),
    ("none price", {"price": None}, "bad_price", "must be a number"),
    ("negative volume", {"volume": -5}, "bad_volume", "negative"),
    ("float volume", {"volume": 1.5}, "bad_volume", "integer"),
    ("bool volume", {"volume": False}, "bad_volume", "integer"),
    ("empty symbol", {"symbol": ""}, "bad_symbol", "must be 1-16"),
    ("over-long symbol", {"symbol": "A" * 17}, "bad_symbol", "must be 1-16"),
    ("lower-case symbol", {"symbol": "aapl"}, "bad_symbol", "upper case"),
    ("symbol with space", {"symbol": "AA PL"}, "bad_symbol", "must be 1-16"),
    ("numeric symbol", {"symbol": 42}, "bad_symbol", "must be a string"),
    ("pre-1970 time", {"event_time_ms": -1}, "bad_time", "before 1970"),
    ("far-future time", {"event_time_ms": NOW_MS + 2 * 86_400_000}, "bad_time", "too far ahead"),
    ("just past the skew", {"event_time_ms": NOW_MS + 5 * 60_000 + 1}, "bad_time", "too far"),
    ("price underflows", {"price": 1e-200}, "bad_price", "below"),
    ("price below a nano", {"price": 9.9e-10}, "bad_price", "below"),
    ("huge integer price", {"price": 10**400}, "bad_price", "above"),
    ("volume 2^63", {"volume": 2**63}, "bad_volume", "64-bit"),
    ("volume 2^64", {"volume": 2**64}, "bad_volume", "64-bit"),
    ("huge volume", {"volume": 10**5000}, "bad_volume", "bit integer"),
    ("huge negative time", {"event_time_ms": -(10**5000)}, "bad_time", "before 1970"),
    ("seconds as float", {"event_time_ms": 1.7e12}, "bad_time", "integer epoch ms"),
    ("iso string time", {"event_time_ms": "2025-11-24T15:00:00Z"}, "bad_time", "integer"),
    ("bad source", {"source": "Yahoo Finance"}, "bad_source", "lowercase"),
]


@pytest.mark.parametrize(
    ("case", "override", "rule", "reason"), BAD_QUOTES, ids=[c[0] for c in BAD_QUOTES]
)
def test_invalid_quote_is_rejected_with_its_rule(
    case: str, override: dict[str, Any], rule: str, reason: str
) -> None:
    # GIVEN a quote that breaks one rule WHEN validated by the producer THEN it names the rule
    with pytest.raises(InvalidTick) as raised:
        make_tick(**quote_fields(**override), clock=fixed_clock)
    assert raised.value.rule == rule and reason in raised.value.reason


# JSON has no NaN or infinity, and orjson writes no integer past 64 bits: those are tested as
# raw record text below and in tests/unit/consumer/test_sink_true_validation.py.
NOT_JSON = ("nan price", "+inf price", "-inf price", "huge integer price", "volume 2^64")
JSON_BAD_QUOTES = [c for c in BAD_QUOTES if c[0] not in NOT_JSON and "huge" not in c[0]]


@pytest.mark.parametrize(
    ("case", "override", "rule", "reason"), JSON_BAD_QUOTES, ids=[c[0] for c in JSON_BAD_QUOTES]
)
def test_consumer_rejects_the_same_records_by_the_same_rule(
    case: str, override: dict[str, Any], rule: str, reason: str
) -> None:
    with pytest.raises(InvalidTick) as raised:
        decode(wire(**override))
    assert raised.value.rule == rule


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_prices_in_raw_json_are_rejected(literal: bytes) -> None:
    data = a_tick().encode().replace(b'"price":229.87', b'"price":' + literal)
    with pytest.raises(InvalidTick) as raised:
        decode_tick(data, clock=fixed_clock)
    assert raised.value.rule in ("not_json", "bad_price")


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"", "not_json"),
        (b"{not json", "not_json"),
        (b"\xff\xfe\x00garbage", "not_json"),
        (b"[1, 2, 3]", "not_object"),
        (b'"AAPL"', "not_object"),
        (b"null", "not_object"),
        (b"{}", "missing_field"),
        (b" " * (MAX_RECORD_BYTES + 1), "too_large"),
    ],
)
def test_malformed_records_are_rejected(data: bytes, rule: str) -> None:
    with pytest.raises(InvalidTick) as raised:
        decode_tick(data, clock=fixed_clock)
    assert raised.value.rule == rule


def test_missing_fields_are_all_named() -> None:
    record = wire()
    del record["price"], record["volume"]
    with pytest.raises(InvalidTick, match="price, volume"):
        decode(record)


@pytest.mark.parametrize("ident", ["", "x" * 65, "a b", "id/../x", 12345])
def test_bad_ids_are_rejected(ident: Any) -> None:
    with pytest.raises(InvalidTick) as raised:
        decode(wire(id=ident))
    assert raised.value.rule == "bad_id"


def test_a_record_padded_past_the_size_limit_is_rejected_before_parsing() -> None:
    big = orjson.dumps(wire(note="x" * MAX_RECORD_BYTES))
    with pytest.raises(InvalidTick) as raised:
        decode_tick(big, clock=fixed_clock)
    assert raised.value.rule == "too_large"
