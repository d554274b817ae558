"""The tick item codec: what the consumer writes is what the trend handler reads."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from common import tables


def a_tick_item(**overrides: object) -> tables.TickItem:
    fields: dict[str, object] = {
        "symbol": "AAPL",
        "id": "3f2a9c",
        "event_time_ms": 1_732_545_000_123,
        "price": 229.87,
        "volume": 1200,
        "source": "synthetic",
    } | overrides
    return tables.TickItem(**fields)  # type: ignore[arg-type]


def test_an_encoded_tick_decodes_to_the_same_fields() -> None:
    # GIVEN a tick with a price that has no short binary form
    tick = a_tick_item(price=0.1 + 0.2)
    # WHEN it is encoded as the consumer writes it and decoded as the handler reads it
    item = tables.encode_tick_item(
        tick,
        dt="2024-11-25",
        ingest_lag_ms=35,
        expires_at_s=1_733_000_000,
        change=None,
        change_pct=None,
    )
    # THEN every field comes back, the price as the exact decimal of the text written (the
    # same float), and the keys order by event time then id
    decoded = tables.decode_tick_item(item)
    assert decoded == dataclasses.replace(tick, price=Decimal("0.30000000000000004"))
    assert decoded is not None and float(decoded.price) == tick.price
    assert item[tables.SORT_KEY] == {"S": "0001732545000123#3f2a9c"}
    assert item[tables.TTL_ATTRIBUTE] == {"N": "1733000000"}
    assert "change" not in item


def test_change_is_written_only_when_known() -> None:
    item = tables.encode_tick_item(
        a_tick_item(),
        dt="2024-11-25",
        ingest_lag_ms=0,
        expires_at_s=0,
        change=-0.5,
        change_pct=-0.2171,
    )
    assert item["change"] == {"N": "-0.5"} and item["change_pct"] == {"N": "-0.2171"}


def test_the_latest_quote_item_is_not_a_tick() -> None:
    latest = tables.latest_quote_key("AAPL") | {"price": {"N": "1.5"}}
    assert tables.decode_tick_item(latest) is None


@pytest.mark.parametrize("missing", ["id", "event_time_ms", "price", "volume", "source"])
def test_an_item_without_a_tick_field_is_refused_with_the_reason(missing: str) -> None:
    item = tables.encode_tick_item(
        a_tick_item(),
        dt="2024-11-25",
        ingest_lag_ms=0,
        expires_at_s=0,
        change=None,
        change_pct=None,
    )
    del item[missing]
    with pytest.raises(ValueError, match=missing):
        tables.decode_tick_item(item)


def test_a_decimal_price_is_written_and_read_exactly() -> None:
    item = tables.encode_tick_item(
        a_tick_item(price=Decimal("12.34")),
        dt="2024-11-25",
        ingest_lag_ms=0,
        expires_at_s=0,
        change=None,
        change_pct=None,
    )
    assert item["price"] == {"N": "12.34"}
    decoded = tables.decode_tick_item(item)
    assert decoded is not None and decoded.price == Decimal("12.34")


def test_a_price_that_is_not_a_number_is_refused() -> None:
    item = tables.latest_quote_key("AAPL") | {"price": {"N": "twelve"}}
    item[tables.SORT_KEY] = {"S": "0001732545000123#3f2a9c"}
    item |= {"id": {"S": "x"}, "event_time_ms": {"N": "1"}, "volume": {"N": "1"}}
    with pytest.raises(ValueError, match="not a tick item"):
        tables.decode_tick_item(item | {"source": {"S": "replay"}})
