"""The dashboard's readers of the pipeline's formats, its bars and SMA lines, and indicator
values, against what the consumer and the trend handler themselves produce."""

from __future__ import annotations

import random
from dataclasses import asdict
from decimal import Decimal

import orjson
import pytest

from common import tables
from consumer import encode
from consumer.batch import InRecord, PriceMemory, build_batch
from lambdas.trend.alerts import to_alert
from lambdas.trend.engine import SymbolState, TickIn, TrendConfig, apply
from lambdas.trend.indicators import IndicatorState, update
from stockpipe.dashboard.contracts import FormatError, TickRow, alert_from_message, tick_from_item
from stockpipe.dashboard.model import SymbolView, indicator_values
from tests.factories import NOW_MS, a_tick


def consumer_items(n: int) -> list[dict[str, object]]:
    ticks = [a_tick(event_time_ms=NOW_MS - i * 7_000, price=100 + i) for i in range(n)]
    records = [
        InRecord(t.encode(), str(i), 0, t.event_time_ms + 250, t.symbol)
        for i, t in enumerate(ticks)
    ]
    batch = build_batch(records, "shardId-000000000001", PriceMemory())
    items, rejects = encode.dynamodb_items(batch, ttl_days=7)
    assert rejects == {}
    return items


def test_tick_items_written_by_the_consumer_read_back_field_for_field() -> None:
    items = consumer_items(3)
    rows = [tick_from_item(item) for item in items]
    assert sorted(r.price for r in rows if r) == [100.0, 101.0, 102.0]
    assert [r.arrival_ms - r.event_time_ms for r in rows if r] == [250, 250, 250]
    assert [r.sort_key for r in rows if r] == [i[tables.SORT_KEY]["S"] for i in items]


def test_the_latest_quote_item_is_not_a_tick_and_a_garbled_item_is_refused() -> None:
    assert tick_from_item({"symbol": {"S": "AAPL"}, "sk": {"S": tables.LATEST_SORT_KEY}}) is None
    with pytest.raises(FormatError, match="id"):
        tick_from_item({"symbol": {"S": "AAPL"}, "sk": {"S": "1#a"}, "event_time_ms": {"N": "1"}})


def trend_signals() -> list[object]:
    rng = random.Random(3)
    price, ticks = 100.0, []
    for minute in range(120):
        price += rng.uniform(-1, 1)
        ticks.append(TickIn(f"t{minute}", NOW_MS + minute * 60_000, Decimal(f"{price:.2f}"), 10))
    return apply(SymbolState("AAPL"), ticks, TrendConfig())


def test_alerts_as_the_trend_handler_publishes_them_through_sns_to_sqs() -> None:
    signals = trend_signals()
    assert signals, "the random walk should cross at least once"
    for signal in signals:
        alert = to_alert(signal)  # type: ignore[arg-type]
        message = alert.publish_args("arn:aws:sns:us-east-1:1:t")["Message"]
        envelope = orjson.dumps({"Type": "Notification", "Message": message}).decode()
        assert alert_from_message(envelope) == alert.body()


@pytest.mark.parametrize(
    "body",
    ["not json", '{"Message": "{}"}', '{"Message": "[1]"}', '{"NoMessage": 1}'],
)
def test_a_message_that_is_not_an_alert_is_refused(body: str) -> None:
    with pytest.raises(FormatError):
        alert_from_message(body)


def row(minute: int, second: int, price: float, volume: int = 1) -> TickRow:
    event = NOW_MS - NOW_MS % 60_000 + minute * 60_000 + second * 1000
    exact = Decimal(str(price))
    return TickRow("AAPL", f"{event:016d}#{minute}-{second}", event, exact, volume, event)


def test_bars_by_event_minute_with_open_high_low_close_even_out_of_order() -> None:
    view = SymbolView("AAPL", bar_ms=60_000, max_bars=10)
    assert view.add([row(0, 30, 10.0), row(0, 10, 9.0), row(0, 50, 11.0), row(1, 5, 12.0)]) == (
        NOW_MS - NOW_MS % 60_000
    )
    bars = view.series(5, 20)["bars"]
    assert [(b["open"], b["high"], b["low"], b["close"], b["volume"]) for b in bars] == [
        (9.0, 11.0, 9.0, 11.0, 3),  # open and close by event time, not by arrival
        (12.0, 12.0, 12.0, 12.0, 1),
    ]
    assert view.quote == {"price": 12.0, "event_time_ms": row(1, 5, 0).event_time_ms}


def test_sma_lines_start_after_n_bars_and_only_the_newest_bars_are_kept() -> None:
    view = SymbolView("AAPL", bar_ms=60_000, max_bars=8)
    view.add([row(m, 0, float(m)) for m in range(10)])
    series = view.series(2, 4)
    assert len(series["bars"]) == 8
    assert [p["value"] for p in series["sma_fast"]] == [2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5]
    assert [p["value"] for p in series["sma_slow"]] == [3.5, 4.5, 5.5, 6.5, 7.5]
    since = view.series(2, 4, since_ms=row(8, 0, 0).event_time_ms)
    assert [b["close"] for b in since["bars"]] == [8.0, 9.0]


def test_indicator_values_from_the_stored_state_equal_the_handlers_last_values() -> None:
    state, rng = IndicatorState(), random.Random(5)
    for i in range(40):
        last = update(
            state,
            Decimal(f"{100 + rng.uniform(-2, 2):.2f}"),
            10 + i,
            "2025-11-24",
            fast=5,
            slow=20,
            window=20,
        )
        stored = orjson.loads(orjson.dumps(state.to_json_dict()))
        restored = IndicatorState.from_json_dict(stored)
        got, want = indicator_values(restored, fast=5, slow=20), asdict(last)
        assert {k for k, v in got.items() if v is None} == {k for k, v in want.items() if v is None}
        assert {k: v for k, v in got.items() if v is not None} == pytest.approx(
            {k: v for k, v in want.items() if v is not None}
        )
    assert None not in got.values()
