"""The tick item codec, attribute by attribute (mutation testing found these unchecked,
docs/testing.md): the exact item the consumer writes and the latest-quote key."""

from __future__ import annotations

import pytest

from common import tables
from tests.unit.common.test_tables import a_tick_item


def test_the_encoded_item_is_exactly_the_tables_attributes_and_types() -> None:
    item = tables.encode_tick_item(
        a_tick_item(),
        dt="2024-11-25",
        ingest_lag_ms=35,
        expires_at_s=1_733_000_000,
        change=0.25,
        change_pct=0.1089,
    )
    assert item == {
        "symbol": {"S": "AAPL"},
        "sk": {"S": "0001732545000123#3f2a9c"},
        "id": {"S": "3f2a9c"},
        "event_time_ms": {"N": "1732545000123"},
        "price": {"N": "229.87"},
        "volume": {"N": "1200"},
        "source": {"S": "synthetic"},
        "dt": {"S": "2024-11-25"},
        "ingest_lag_ms": {"N": "35"},
        "expires_at": {"N": "1733000000"},
        "change": {"N": "0.25"},
        "change_pct": {"N": "0.1089"},
    }


def test_the_latest_quote_key_is_the_symbol_and_the_latest_sort_key() -> None:
    assert tables.latest_quote_key("MSFT") == {"symbol": {"S": "MSFT"}, "sk": {"S": "LATEST"}}


def test_an_image_without_a_sort_key_is_refused_as_not_a_tick_item() -> None:
    with pytest.raises(ValueError, match=r"^not a tick item"):
        tables.decode_tick_item({"symbol": {"S": "AAPL"}, "price": {"N": "1"}})
