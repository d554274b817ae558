"""The trend engine: pure, no AWS. Ticks -> event-time bars -> indicators -> crossovers.

Bars are by EVENT time. A bar closes when the watermark (latest event time seen minus the
allowed lateness) passes its end; out-of-order ticks before that land in their own bar. A
tick for a bar that has already closed is late: counted, ignored. Indicators are computed on
closes of closed bars only; minutes without ticks make no bar (no filling).

Crossover: BUY when the fast SMA goes from below to above the slow SMA, SELL the other way.
With hysteresis h, "above" means fast > slow * (1 + h) and "below" fast < slow * (1 - h);
inside the band the previous side holds. With a cooldown of c bars, a crossover less than c
bars after the last alert changes the side without an alert.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from lambdas.trend.indicators import IndicatorState, IndicatorValues, update


@dataclass(frozen=True)
class TrendConfig:
    bar_ms: int = 60_000
    fast: int = 5
    slow: int = 20
    allowed_lateness_ms: int = 60_000
    hysteresis: float = 0.0
    cooldown_bars: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.fast < self.slow:
            raise ValueError(f"need 0 < fast < slow, got fast={self.fast} slow={self.slow}")
        if self.bar_ms <= 0 or self.allowed_lateness_ms < 0 or self.hysteresis < 0:
            raise ValueError("bar, lateness and hysteresis must not be negative")

    @property
    def window(self) -> int:
        return max(self.slow, 20)


@dataclass(frozen=True)
class TickIn:
    id: str
    event_time_ms: int
    price: float
    volume: int


@dataclass
class Bar:
    start_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: int
    first_ms: int
    last_ms: int
    last_id: str

    def add(self, tick: TickIn) -> None:
        self.high = max(self.high, tick.price)
        self.low = min(self.low, tick.price)
        self.volume += tick.volume
        if tick.event_time_ms < self.first_ms:
            self.first_ms, self.open = tick.event_time_ms, tick.price
        if (tick.event_time_ms, tick.id) >= (self.last_ms, self.last_id):
            self.last_ms, self.last_id, self.close = tick.event_time_ms, tick.id, tick.price


@dataclass
class SymbolState:
    """Everything the engine remembers about one symbol between invocations."""

    symbol: str
    open_bars: dict[int, Bar] = field(default_factory=dict)
    closed_until_ms: int = 0  # end of the last closed bar: earlier ticks are late
    max_event_ms: int = 0
    indicators: IndicatorState = field(default_factory=IndicatorState)
    side: str | None = None  # "above" / "below": fast SMA vs slow SMA
    bars_closed: int = 0
    last_alert_bar: int | None = None  # bars_closed at the last alert
    late_ticks: int = 0
    last_stream_sequence: str = "0"  # decimal: stream sequence numbers exceed 64 bits

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-safe: bar starts become string keys."""
        data = asdict(self)
        data["open_bars"] = {str(k): v for k, v in data["open_bars"].items()}
        return data

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> SymbolState:
        state = cls(**{k: v for k, v in data.items() if k not in ("open_bars", "indicators")})
        state.open_bars = {int(k): Bar(**v) for k, v in data["open_bars"].items()}
        state.indicators = IndicatorState(**data["indicators"])
        return state


@dataclass(frozen=True)
class Signal:
    symbol: str
    signal: str  # BUY / SELL
    bar_start_ms: int
    price: float
    indicators: IndicatorValues
    fast: int
    slow: int

    @property
    def bar_time(self) -> str:
        return datetime.fromtimestamp(self.bar_start_ms / 1000, UTC).isoformat()


def apply(state: SymbolState, ticks: list[TickIn], config: TrendConfig) -> list[Signal]:
    """Fold ticks into the state; returns the crossovers of the bars this closed."""
    for tick in ticks:
        if tick.event_time_ms < state.closed_until_ms:
            state.late_ticks += 1
            continue
        start = tick.event_time_ms - tick.event_time_ms % config.bar_ms
        bar = state.open_bars.get(start)
        if bar is None:
            state.open_bars[start] = Bar(
                start,
                tick.price,
                tick.price,
                tick.price,
                tick.price,
                tick.volume,
                tick.event_time_ms,
                tick.event_time_ms,
                tick.id,
            )
        else:
            bar.add(tick)
        state.max_event_ms = max(state.max_event_ms, tick.event_time_ms)
    watermark = state.max_event_ms - config.allowed_lateness_ms
    signals = []
    for start in sorted(state.open_bars):
        if start + config.bar_ms > watermark:
            break
        signal = _close_bar(state, state.open_bars.pop(start), config)
        if signal is not None:
            signals.append(signal)
    return signals


def _close_bar(state: SymbolState, bar: Bar, config: TrendConfig) -> Signal | None:
    state.closed_until_ms = bar.start_ms + config.bar_ms
    state.bars_closed += 1
    session = datetime.fromtimestamp(bar.start_ms / 1000, UTC).strftime("%Y-%m-%d")
    values = update(
        state.indicators,
        bar.close,
        bar.volume,
        session,
        fast=config.fast,
        slow=config.slow,
        window=config.window,
    )
    if values.sma_fast is None or values.sma_slow is None:
        return None
    band = values.sma_slow * config.hysteresis
    side: str | None
    if values.sma_fast > values.sma_slow + band:
        side = "above"
    elif values.sma_fast < values.sma_slow - band:
        side = "below"
    else:
        side = state.side  # inside the band (or equal): no change of side
    previous, state.side = state.side, side
    if previous is None or side is None or side == previous:
        return None
    if (
        state.last_alert_bar is not None
        and state.bars_closed - state.last_alert_bar < config.cooldown_bars
    ):
        return None
    state.last_alert_bar = state.bars_closed
    return Signal(
        state.symbol,
        "BUY" if side == "above" else "SELL",
        bar.start_ms,
        bar.close,
        values,
        config.fast,
        config.slow,
    )
