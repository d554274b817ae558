"""What the page shows, kept in memory from bounded reads: bars, SMA lines, indicator values.

Bars are the trend handler's own (`lambdas.trend.engine.Bar`: by event time, the bar length
of its settings), so the SMA of a bar here equals the SMA the handler put in an alert for
that bar.
"""

from __future__ import annotations

from typing import Any

from lambdas.trend.engine import Bar, TickIn
from lambdas.trend.indicators import IndicatorState, bollinger, sma
from stockpipe.dashboard.contracts import TickRow

RSI_PERIOD = 14


class SymbolView:
    """One symbol's recent bars (at most `max_bars`) and latest quote."""

    def __init__(self, symbol: str, *, bar_ms: int, max_bars: int) -> None:
        self.symbol = symbol
        self.bar_ms = bar_ms
        self.max_bars = max_bars
        self.bars: dict[int, Bar] = {}
        self.last_key: str | None = None
        self.quote: dict[str, Any] | None = None

    def add(self, ticks: list[TickRow]) -> int | None:
        """Fold ticks in; returns the start of the earliest bar that changed."""
        earliest = None
        for tick in ticks:
            start = tick.event_time_ms - tick.event_time_ms % self.bar_ms
            price, event_ms = tick.price, tick.event_time_ms
            if start in self.bars:
                self.bars[start].add(TickIn(tick.sort_key, event_ms, price, tick.volume))
            else:
                self.bars[start] = Bar(
                    start, price, price, price, price, tick.volume, event_ms, event_ms,
                    tick.sort_key,
                )  # fmt: skip
            earliest = start if earliest is None else min(earliest, start)
            if self.last_key is None or tick.sort_key > self.last_key:
                self.last_key = tick.sort_key
                self.quote = {"price": float(tick.price), "event_time_ms": tick.event_time_ms}
        for old in sorted(self.bars)[: max(0, len(self.bars) - self.max_bars)]:
            del self.bars[old]
        return earliest

    def series(self, fast: int, slow: int, *, since_ms: int | None = None) -> dict[str, Any]:
        """Candles and SMA points (chart times in seconds), from `since_ms` on."""
        ordered = [self.bars[k] for k in sorted(self.bars)]
        closes = [b.close for b in ordered]
        candles: list[dict[str, Any]] = []
        fast_line: list[dict[str, Any]] = []
        slow_line: list[dict[str, Any]] = []
        for i, bar in enumerate(ordered):
            if since_ms is not None and bar.start_ms < since_ms:
                continue
            time_s = bar.start_ms // 1000
            candles.append(
                {"time": time_s, "open": float(bar.open), "high": float(bar.high),
                 "low": float(bar.low), "close": float(bar.close), "volume": bar.volume}
            )  # fmt: skip
            for n, line in ((fast, fast_line), (slow, slow_line)):
                value = sma(closes[max(0, i + 1 - n) : i + 1], n)
                if value is not None:
                    line.append({"time": time_s, "value": value})
        return {
            "symbol": self.symbol,
            "bars": candles,
            "sma_fast": fast_line,
            "sma_slow": slow_line,
            "quote": self.quote,
        }


def indicator_values(state: IndicatorState, *, fast: int, slow: int) -> dict[str, float | None]:
    """The trend handler's indicators at its last closed bar, from its stored state."""
    bands = bollinger([float(c) for c in state.closes])
    rsi = None
    if state.rsi_changes >= RSI_PERIOD:
        if state.avg_loss == 0:
            rsi = 100.0 if state.avg_gain > 0 else 50.0
        else:
            rsi = 100 - 100 / (1 + state.avg_gain / state.avg_loss)
    return {
        "sma_fast": sma(state.closes, fast),
        "sma_slow": sma(state.closes, slow),
        "ema_12": state.ema_fast,
        "ema_26": state.ema_slow,
        "rsi_14": rsi,
        "vwap": state.session_pv / state.session_volume if state.session_volume else None,
        "bb_upper": bands[0] if bands else None,
        "bb_middle": bands[1] if bands else None,
        "bb_lower": bands[2] if bands else None,
    }
