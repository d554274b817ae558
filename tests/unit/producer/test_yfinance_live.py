"""Live source without Yahoo: real PricingData protobufs through yfinance's own decoder,
a scripted stream standing in for the socket, and download frames shaped like yfinance's."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from yfinance.exceptions import YFRateLimitError
from yfinance.live import BaseWebSocket
from yfinance.pricing_pb2 import PricingData

from common.tick import make_tick
from producer.sources.yfinance_live import YFinanceLiveSource

OPEN_S = datetime(2025, 11, 21, 15, 0, tzinfo=UTC).timestamp()  # Friday 10:00 New York
SATURDAY_S = datetime(2025, 11, 22, 15, 0, tzinfo=UTC).timestamp()


def yahoo_message(
    symbol: str, price: float, time_ms: int, day_volume: int, last_size: int | None = None
) -> dict[str, Any]:
    """Encode as Yahoo's stream does, then decode with yfinance's own decoder."""
    data = PricingData(
        id=symbol,
        price=price,
        time=time_ms,
        day_volume=day_volume,
        exchange="NMS",
        quote_type=8,
        market_hours=1,
        currency="USD",
    )
    if last_size is not None:
        data.last_size = last_size
    encoded = base64.b64encode(data.SerializeToString()).decode()
    return BaseWebSocket(verbose=False)._decode_message(encoded)  # type: ignore[no-any-return]


class ScriptedStream:
    """Plays messages to the handler like `yf.WebSocket.listen`, then fails or ends."""

    def __init__(self, messages: list[dict[str, Any]], error: Exception | None = None) -> None:
        self.messages, self.error = messages, error
        self.subscribed: list[str] = []
        self.closed = False

    def subscribe(self, symbols: list[str]) -> None:
        self.subscribed = symbols

    def listen(self, message_handler: Callable[[dict[str, Any]], None]) -> None:
        for message in self.messages:
            message_handler(message)
        if self.error:
            raise self.error

    def close(self) -> None:
        self.closed = True


def take(quotes: Iterator[Any], n: int) -> list[Any]:
    return [next(quotes) for _ in range(n)]


def test_decoded_messages_become_valid_quotes_with_trade_volume() -> None:
    t = int(OPEN_S * 1000)
    messages = [
        yahoo_message("AAPL", 229.87, t, 41_000_000),
        yahoo_message("AAPL", 229.91, t + 900, 41_000_350),
        yahoo_message("MSFT", 410.5, t + 1000, 9_000_000, last_size=200),
    ]
    source = YFinanceLiveSource(
        ["aapl", "msft"], clock=lambda: OPEN_S, stream_factory=lambda: ScriptedStream(messages)
    )
    quotes = take(source.quotes(threading.Event()), 3)
    assert [(q.symbol, q.event_time_ms, q.volume) for q in quotes] == [
        ("AAPL", t, 0),
        ("AAPL", t + 900, 350),
        ("MSFT", t + 1000, 200),
    ]
    assert abs(quotes[0].price - 229.87) < 1e-3  # the stream carries float32 prices
    for q in quotes:
        make_tick(*q, source="yfinance", clock=lambda: OPEN_S)


def test_stream_failure_falls_back_to_polling_completed_bars() -> None:
    index = pd.DatetimeIndex(
        pd.date_range("2025-11-21 09:57", periods=3, freq="1min", tz="America/New_York"),
        name="Datetime",
    )
    columns = pd.MultiIndex.from_product([["Close", "Volume"], ["AAPL"]], names=["Price", "Ticker"])
    frame = pd.DataFrame(
        np.array([[229.0, 1000], [229.5, 1200], [230.0, 900]]), index=index, columns=columns
    )
    streams: list[ScriptedStream] = []

    def broken() -> ScriptedStream:
        streams.append(ScriptedStream([], error=ConnectionError("handshake failed")))
        return streams[-1]

    # the clock is 10:00:30: the 09:59 bar is complete, the 10:00 bar is not in the frame
    source = YFinanceLiveSource(
        ["AAPL"],
        clock=lambda: OPEN_S + 30,
        stream_factory=broken,
        download=lambda symbols: frame,
        poll_interval_s=0.01,
    )
    quotes = take(source.quotes(threading.Event()), 3)
    assert [q.price for q in quotes] == [229.0, 229.5, 230.0]
    assert [q.volume for q in quotes] == [1000, 1200, 900]
    assert streams[0].closed


def test_rate_limit_doubles_the_wait_up_to_the_cap() -> None:
    waits: list[float] = []

    class RecordingStop(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout or 0)
            if len(waits) == 5:
                self.set()
            return self.is_set()

    def limited(symbols: list[str]) -> Any:
        raise YFRateLimitError()

    source = YFinanceLiveSource(
        ["AAPL"],
        clock=lambda: OPEN_S,
        download=limited,
        poll_interval_s=60,
        max_backoff_s=300,
        stream_factory=lambda: ScriptedStream([], ConnectionError("x")),
    )
    assert list(source.quotes(RecordingStop())) == []
    assert waits == [120, 240, 300, 300, 300]


def test_waits_while_the_market_is_closed_unless_told_not_to() -> None:
    waits: list[float] = []

    class OneWait(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout or 0)
            self.set()
            return True

    def never() -> ScriptedStream:
        raise AssertionError("must not connect while closed")

    closed = YFinanceLiveSource(["AAPL"], clock=lambda: SATURDAY_S, stream_factory=never)
    assert list(closed.quotes(OneWait())) == []
    assert waits == [60.0]

    t = int(SATURDAY_S * 1000)
    anyway = YFinanceLiveSource(
        ["BTC-USD"],
        clock=lambda: SATURDAY_S,
        respect_market_hours=False,
        stream_factory=lambda: ScriptedStream([yahoo_message("BTC-USD", 97000.5, t, 10)]),
    )
    assert next(anyway.quotes(threading.Event())).symbol == "BTC-USD"


def test_undecodable_messages_are_skipped() -> None:
    source = YFinanceLiveSource(["AAPL"])
    assert source.quote_from_message({"error": "bad base64", "raw_base64": "%%%"}) is None
