"""Indicators, computed once per closed bar and kept incrementally in the symbol's state.

Definitions (the tests compare each with an independent polars computation):
- SMA(n): mean of the last n closes. The crossover rule compares exact sums of the decimal
  closes (`window_sum`, in the `EXACT` context, which raises rather than round); the alert
  carries the means rounded to floats.
- EMA(n): alpha = 2/(n+1), seeded with the first close (pandas `ewm(span=n, adjust=False)`).
- RSI(14): Wilder's; the first average is the simple mean of the first 14 changes.
- VWAP: sum(close*volume)/sum(volume) of the bars of the session (UTC date) so far.
- Bollinger(20, 2): SMA(20) +- 2 population standard deviations of the last 20 closes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from decimal import Context, Decimal, Inexact, localcontext
from typing import Any

# every number DynamoDB stores (38 digits, exponents -130..125) sums and scales exactly here;
# an inexact result would raise instead of rounding
EXACT = Context(prec=400, traps=[Inexact])


@dataclass
class IndicatorState:
    """What the next bar's indicators need from the previous ones."""

    closes: list[Decimal] = field(default_factory=list)  # the last `window` closes
    ema_fast: float | None = None
    ema_slow: float | None = None
    prev_close: float | None = None
    rsi_changes: int = 0
    avg_gain: float = 0.0
    avg_loss: float = 0.0
    session: str = ""
    session_pv: float = 0.0
    session_volume: float = 0.0

    def to_json_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return data | {"closes": [str(c) for c in self.closes]}

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> IndicatorState:
        return cls(**(data | {"closes": [Decimal(c) for c in data["closes"]]}))


@dataclass(frozen=True)
class IndicatorValues:
    sma_fast: float | None
    sma_slow: float | None
    ema_12: float | None
    ema_26: float | None
    rsi_14: float | None
    vwap: float | None
    bb_upper: float | None
    bb_middle: float | None
    bb_lower: float | None


def window_sum(closes: list[Decimal], n: int) -> Decimal | None:
    """The exact sum of the last n closes (None before n closes)."""
    if len(closes) < n:
        return None
    with localcontext(EXACT):
        return sum(closes[-n:], Decimal(0))


def sma(closes: list[Decimal], n: int) -> float | None:
    total = window_sum(closes, n)
    return None if total is None else float(total) / n


def ema(previous: float | None, close: float, n: int) -> float:
    if previous is None:
        return close
    alpha = 2 / (n + 1)
    return alpha * close + (1 - alpha) * previous


def bollinger(
    closes: list[float], n: int = 20, k: float = 2.0
) -> tuple[float, float, float] | None:
    if len(closes) < n:
        return None
    window = closes[-n:]
    mean = sum(window) / n
    std = math.sqrt(sum((c - mean) ** 2 for c in window) / n)
    return mean + k * std, mean, mean - k * std


def update(
    state: IndicatorState,
    close: Decimal,
    volume: float,
    session: str,
    *,
    fast: int,
    slow: int,
    window: int,
    rsi_period: int = 14,
) -> IndicatorValues:
    """Fold one closed bar into `state` and return the indicators at that bar."""
    state.closes = [*state.closes, close][-window:]
    floats = [float(c) for c in state.closes]
    close_f = float(close)
    state.ema_fast = ema(state.ema_fast, close_f, 12)
    state.ema_slow = ema(state.ema_slow, close_f, 26)
    rsi = _update_rsi(state, close_f, rsi_period)
    if session != state.session:
        state.session, state.session_pv, state.session_volume = session, 0.0, 0.0
    state.session_pv += close_f * volume
    state.session_volume += volume
    bands = bollinger(floats)
    return IndicatorValues(
        sma_fast=sma(state.closes, fast),
        sma_slow=sma(state.closes, slow),
        ema_12=state.ema_fast,
        ema_26=state.ema_slow,
        rsi_14=rsi,
        vwap=state.session_pv / state.session_volume if state.session_volume else None,
        bb_upper=bands[0] if bands else None,
        bb_middle=bands[1] if bands else None,
        bb_lower=bands[2] if bands else None,
    )


def _update_rsi(state: IndicatorState, close: float, period: int) -> float | None:
    previous, state.prev_close = state.prev_close, close
    if previous is None:
        return None
    change = close - previous
    gain, loss = max(change, 0.0), max(-change, 0.0)
    state.rsi_changes += 1
    if state.rsi_changes <= period:  # warm-up: accumulate sums, average at the end
        state.avg_gain += gain
        state.avg_loss += loss
        if state.rsi_changes < period:
            return None
        state.avg_gain /= period
        state.avg_loss /= period
    else:
        state.avg_gain = (state.avg_gain * (period - 1) + gain) / period
        state.avg_loss = (state.avg_loss * (period - 1) + loss) / period
    if state.avg_loss == 0:
        return 100.0 if state.avg_gain > 0 else 50.0
    return 100 - 100 / (1 + state.avg_gain / state.avg_loss)
