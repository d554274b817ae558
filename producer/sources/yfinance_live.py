"""Live quotes from Yahoo Finance through yfinance.

The WebSocket stream (`yf.WebSocket`) comes first; when it fails the source polls 1-minute
bars with `yf.download` and tries the stream again later. Rate limits (`YFRateLimitError`)
double the wait, up to a cap: Yahoo blocks clients that hammer it. Outside US regular
trading hours the source waits for the open unless told to ignore market hours.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from common.tick import Clock
from producer.sources import market_hours
from producer.sources.base import RawQuote, as_volume

log = logging.getLogger(__name__)

_END = object()
BAR_MS = 60_000


class PriceStream(Protocol):
    """The part of `yfinance.WebSocket` the source uses."""

    def subscribe(self, symbols: list[str]) -> None: ...
    def listen(self, message_handler: Callable[[dict[str, Any]], None]) -> None: ...
    def close(self) -> None: ...


def _default_stream() -> PriceStream:
    import yfinance as yf

    return yf.WebSocket(verbose=False)  # type: ignore[no-any-return]


def _default_download(symbols: list[str]) -> Any:
    import yfinance as yf

    return yf.download(
        symbols,
        period="1d",
        interval="1m",
        group_by="column",
        auto_adjust=False,
        progress=False,
        threads=False,
        multi_level_index=True,
    )


def _is_rate_limit(error: BaseException) -> bool:
    return type(error).__name__ == "YFRateLimitError"


class YFinanceLiveSource:
    """Real-time quotes for `symbols`; stream first, polling as the fallback."""

    name = "yfinance"

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        respect_market_hours: bool = True,
        poll_interval_s: float = 60.0,
        stream_retry_s: float = 300.0,
        max_backoff_s: float = 900.0,
        stream_factory: Callable[[], PriceStream] = _default_stream,
        download: Callable[[list[str]], Any] = _default_download,
        clock: Clock = time.time,
    ) -> None:
        self.symbols = [s.upper() for s in symbols]
        self.respect_market_hours = respect_market_hours
        self.poll_interval_s = poll_interval_s
        self.stream_retry_s = stream_retry_s
        self.max_backoff_s = max_backoff_s
        self._stream_factory = stream_factory
        self._download = download
        self._clock = clock
        self._day_volume: dict[str, int] = {}
        self._last_bar_ms: dict[str, int] = {}

    def quotes(self, stop: threading.Event) -> Iterator[RawQuote]:
        stream_after = 0.0  # clock time from which the stream may be tried again
        wait_s = self.poll_interval_s
        while not stop.is_set():
            if not self._market_open():
                opens = market_hours.next_open(self._now())
                log.info("market closed; waiting for the open at %s", opens.isoformat())
                stop.wait(min(60.0, max(1.0, opens.timestamp() - self._clock())))
                continue
            if self._clock() >= stream_after:
                try:
                    yield from self._from_stream(stop)
                    continue
                except Exception as e:
                    log.warning("price stream failed (%s); polling 1-minute bars instead", e)
                    stream_after = self._clock() + self.stream_retry_s
            try:
                yield from self._poll_once()
                wait_s = self.poll_interval_s
            except Exception as e:
                if not _is_rate_limit(e):
                    raise
                wait_s = min(self.max_backoff_s, wait_s * 2)
                log.warning("rate-limited by Yahoo; backing off %.0f s", wait_s)
            stop.wait(wait_s)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _market_open(self) -> bool:
        return not self.respect_market_hours or market_hours.is_open(self._now())

    def _from_stream(self, stop: threading.Event) -> Iterator[RawQuote]:
        stream = self._stream_factory()
        messages: queue.Queue[object] = queue.Queue(maxsize=10_000)
        failure: list[BaseException] = []

        def listen() -> None:
            try:
                stream.subscribe(self.symbols)
                stream.listen(messages.put)
            except BaseException as e:
                failure.append(e)
            finally:
                messages.put(_END)

        threading.Thread(target=listen, name="yfinance-stream", daemon=True).start()
        try:
            while not stop.is_set() and self._market_open():
                try:
                    message = messages.get(timeout=1.0)
                except queue.Empty:
                    continue
                if message is _END:
                    raise failure[0] if failure else ConnectionError("price stream closed")
                quote = self.quote_from_message(message)  # type: ignore[arg-type]
                if quote is not None:
                    yield quote
        finally:
            stream.close()

    def quote_from_message(self, message: dict[str, Any]) -> RawQuote | None:
        """A decoded PricingData message to a quote; volume is the trade size when given,
        else the growth of the day's cumulative volume since the previous message."""
        if "error" in message:
            log.warning("undecodable price message skipped: %s", message["error"])
            return None
        symbol = message.get("id")
        ts = _as_int(message.get("time"))
        day_volume = _as_int(message.get("day_volume"))
        volume: Any = _as_int(message.get("last_size"))
        if volume is None:
            volume = 0
            if isinstance(day_volume, int) and isinstance(symbol, str):
                previous = self._day_volume.get(symbol)
                volume = max(0, day_volume - previous) if previous is not None else 0
        if isinstance(day_volume, int) and isinstance(symbol, str):
            self._day_volume[symbol] = day_volume
        return RawQuote(symbol, ts, message.get("price"), volume)

    def _poll_once(self) -> Iterator[RawQuote]:
        """Completed 1-minute bars newer than the last one sent, per symbol."""
        frame = self._download(self.symbols)
        if frame is None or len(frame) == 0:
            return
        now_ms = int(self._clock() * 1000)
        quotes = []
        for stamp, row in frame.iterrows():
            bar_ms = int(stamp.timestamp() * 1000)
            if bar_ms + BAR_MS > now_ms:
                continue  # the current minute is still forming
            for symbol in self.symbols:
                close = row.get(("Close", symbol))
                if (
                    close is None
                    or math.isnan(close)
                    or bar_ms <= self._last_bar_ms.get(symbol, -1)
                ):
                    continue
                self._last_bar_ms[symbol] = bar_ms
                quotes.append(
                    RawQuote(
                        symbol, bar_ms, float(close), as_volume(row.get(("Volume", symbol), 0))
                    )
                )
        yield from sorted(quotes, key=lambda q: q.event_time_ms)


def _as_int(value: Any) -> Any:
    """int64 fields arrive as strings from protobuf's MessageToDict."""
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value
