"""The trend engine: pure, no AWS. Ticks -> event-time bars -> indicators -> crossovers.

Bars are by EVENT time. A bar closes when the watermark (latest event time seen minus the
allowed lateness) passes its end; out-of-order ticks before that land in their own bar. A
tick for a bar that has already closed is late: counted, ignored. Indicators are computed on
closes of closed bars only; minutes without ticks make no bar (no filling). Ticks are folded
one at a time, so the result does not depend on how the stream cut them into batches.

Watermark sanity: a tick more than `max_jump_ms` ahead of the watermark's event time is held
aside, not folded. It is folded when the watermark catches up with it, or when
`confirmations` consecutive arrivals were all held and lie within `max_jump_ms` of each other
(a real jump: a market reopening, a pause in trading). One outlier dated a day ahead
therefore cannot make the real ticks after it late.

Crossover, decided on exact values: prices are the decimals the ticks carry and the SMAs are
compared as fractions, so equal averages are equal (no float residue makes a false cross).
BUY when the fast SMA goes from below to above the slow SMA, SELL the other way. With
hysteresis h, "above" means fast > slow * (1 + h) and "below" fast < slow * (1 - h); inside
the band the previous side holds. With a cooldown of c bars, a crossover less than c bars
after the last alert changes the side without an alert.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from typing import Any

from lambdas.trend.indicators import EXACT, IndicatorState, IndicatorValues, update, window_sum

MAX_HELD = 64  # ticks held ahead of the watermark; beyond, the oldest held is dropped
RECENT_TICKS = 1024  # tick keys remembered to skip re-delivered stream records


@dataclass(frozen=True)
class TrendConfig:
    bar_ms: int = 60_000
    fast: int = 5
    slow: int = 20
    allowed_lateness_ms: int = 60_000
    hysteresis: float = 0.0
    cooldown_bars: int = 0
    max_jump_ms: int = 600_000
    confirmations: int = 3

    def __post_init__(self) -> None:
        if not 0 < self.fast < self.slow:
            raise ValueError(f"need 0 < fast < slow, got fast={self.fast} slow={self.slow}")
        if self.bar_ms <= 0 or self.allowed_lateness_ms < 0 or self.hysteresis < 0:
            raise ValueError("bar, lateness and hysteresis must not be negative")
        if self.max_jump_ms <= 0 or not 1 <= self.confirmations <= MAX_HELD:
            raise ValueError(f"need max_jump_ms > 0 and 1 <= confirmations <= {MAX_HELD}")

    @property
    def window(self) -> int:
        return max(self.slow, 20)

    @property
    def band(self) -> Decimal:
        """The hysteresis as the decimal it was written as (0.01 is exactly 1/100)."""
        return Decimal(repr(self.hysteresis))

    @property
    def jump_ms(self) -> int:
        """A step up to one bar plus the lateness is always ordinary, whatever max_jump_ms."""
        return max(self.max_jump_ms, self.bar_ms + self.allowed_lateness_ms)


@dataclass(frozen=True)
class TickIn:
    id: str
    event_time_ms: int
    price: Decimal
    volume: int

    @property
    def key(self) -> str:
        """The tick item's identity (its sort key): the same for a re-delivered record."""
        return f"{self.event_time_ms}#{self.id}"

    def to_json_dict(self) -> dict[str, Any]:
        return {**asdict(self), "price": str(self.price)}

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> TickIn:
        return cls(data["id"], data["event_time_ms"], Decimal(data["price"]), data["volume"])


@dataclass
class Bar:
    start_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    first_ms: int
    last_ms: int
    last_id: str

    @classmethod
    def of(cls, start_ms: int, tick: TickIn) -> Bar:
        p, t = tick.price, tick.event_time_ms
        return cls(start_ms, p, p, p, p, tick.volume, t, t, tick.id)

    def add(self, tick: TickIn) -> None:
        self.high = max(self.high, tick.price)
        self.low = min(self.low, tick.price)
        self.volume += tick.volume
        if tick.event_time_ms < self.first_ms:
            self.first_ms, self.open = tick.event_time_ms, tick.price
        if (tick.event_time_ms, tick.id) >= (self.last_ms, self.last_id):
            self.last_ms, self.last_id, self.close = tick.event_time_ms, tick.id, tick.price

    def to_json_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("open", "high", "low", "close"):
            data[name] = str(data[name])
        return data

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> Bar:
        prices = {k: Decimal(data[k]) for k in ("open", "high", "low", "close")}
        return cls(**(data | prices))


@dataclass
class SymbolState:
    """Everything the engine remembers about one symbol between invocations."""

    symbol: str
    open_bars: dict[int, Bar] = field(default_factory=dict)
    closed_until_ms: int = 0  # end of the last closed bar: earlier ticks are late
    max_event_ms: int | None = None  # None until the first confirmed ticks
    held: list[TickIn] = field(default_factory=list)  # ahead of the watermark, arrival order
    held_streak: int = 0  # how many of the last arrivals were all held
    indicators: IndicatorState = field(default_factory=IndicatorState)
    side: str | None = None  # "above" / "below": fast SMA vs slow SMA
    bars_closed: int = 0
    last_alert_bar: int | None = None  # bars_closed at the last alert
    late_ticks: int = 0
    outlier_ticks: int = 0  # held ticks dropped unconfirmed
    recent: list[str] = field(default_factory=list)  # keys of the last RECENT_TICKS ticks

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-safe: bar starts become string keys, decimals strings (no deep copy)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["open_bars"] = {str(k): b.to_json_dict() for k, b in self.open_bars.items()}
        data["held"] = [t.to_json_dict() for t in self.held]
        data["indicators"] = self.indicators.to_json_dict()
        return data

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> SymbolState:
        nested = ("open_bars", "held", "indicators")
        state = cls(**{k: v for k, v in data.items() if k not in nested})
        state.open_bars = {int(k): Bar.from_json_dict(v) for k, v in data["open_bars"].items()}
        state.held = [TickIn.from_json_dict(t) for t in data["held"]]
        state.indicators = IndicatorState.from_json_dict(data["indicators"])
        return state


@dataclass(frozen=True)
class Signal:
    symbol: str
    signal: str  # BUY / SELL
    bar_start_ms: int
    price: Decimal
    indicators: IndicatorValues
    fast: int
    slow: int

    @property
    def bar_time(self) -> str:
        return datetime.fromtimestamp(self.bar_start_ms / 1000, UTC).isoformat()


def apply(state: SymbolState, ticks: list[TickIn], config: TrendConfig) -> list[Signal]:
    """Fold ticks into the state, one at a time; returns the crossovers of the bars closed.

    A tick whose key is among the recent ones is a re-delivery and changes nothing."""
    recent = set(state.recent)
    signals: list[Signal] = []
    for tick in ticks:
        if tick.key in recent:
            continue
        recent.add(tick.key)
        state.recent.append(tick.key)
        _admit(state, tick, config, signals)
    if len(state.recent) > RECENT_TICKS:
        del state.recent[: len(state.recent) - RECENT_TICKS]
    return signals


def _admit(state: SymbolState, tick: TickIn, config: TrendConfig, signals: list[Signal]) -> None:
    if state.max_event_ms is not None and tick.event_time_ms <= state.max_event_ms + config.jump_ms:
        state.held_streak = 0
        _fold(state, tick, config, signals)
        _release_reachable(state, config, signals)
        return
    state.held.append(tick)
    state.held_streak += 1
    streak = state.held[-state.held_streak :][-config.confirmations :]
    times = [t.event_time_ms for t in streak]
    if len(streak) == config.confirmations and max(times) - min(times) <= config.jump_ms:
        _confirm(state, min(times) - config.jump_ms, max(times) + config.jump_ms, config, signals)
    elif len(state.held) > MAX_HELD:
        state.held.pop(0)
        state.outlier_ticks += 1
        state.held_streak = min(state.held_streak, len(state.held))


def _confirm(
    state: SymbolState, low: int, high: int, config: TrendConfig, signals: list[Signal]
) -> None:
    """A confirmed jump: fold the held ticks near it in event-time order; drop those before."""
    near = [t for t in state.held if low <= t.event_time_ms <= high]
    before = [t for t in state.held if t.event_time_ms < low]
    state.held = [t for t in state.held if t.event_time_ms > high]
    state.held_streak = 0
    state.outlier_ticks += len(before)
    for tick in sorted(near, key=lambda t: (t.event_time_ms, t.id)):
        _fold(state, tick, config, signals)
    _release_reachable(state, config, signals)


def _release_reachable(state: SymbolState, config: TrendConfig, signals: list[Signal]) -> None:
    """Fold the held ticks the watermark has caught up with, earliest first."""
    while state.max_event_ms is not None:
        reach = state.max_event_ms + config.jump_ms
        ready = [t for t in state.held if t.event_time_ms <= reach]
        if not ready:
            return
        first = min(ready, key=lambda t: (t.event_time_ms, t.id))
        state.held.remove(first)
        _fold(state, first, config, signals)


def _fold(state: SymbolState, tick: TickIn, config: TrendConfig, signals: list[Signal]) -> None:
    if tick.event_time_ms < state.closed_until_ms:
        state.late_ticks += 1
        return
    start = tick.event_time_ms - tick.event_time_ms % config.bar_ms
    bar = state.open_bars.get(start)
    if bar is None:
        state.open_bars[start] = Bar.of(start, tick)
    else:
        bar.add(tick)
    state.max_event_ms = max(state.max_event_ms or 0, tick.event_time_ms)
    watermark = state.max_event_ms - config.allowed_lateness_ms
    for start in sorted(state.open_bars):
        if start + config.bar_ms > watermark:
            break
        signal = _close_bar(state, state.open_bars.pop(start), config)
        if signal is not None:
            signals.append(signal)


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
    side = _side(state, config)
    if side is None:
        return None
    previous, state.side = state.side, side
    if previous is None or side == previous:
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


def _side(state: SymbolState, config: TrendConfig) -> str | None:
    """Fast vs slow SMA, exactly: fast/f > slow/s (1 + h) <=> fast * s > slow * f * (1 + h)."""
    fast_sum = window_sum(state.indicators.closes, config.fast)
    slow_sum = window_sum(state.indicators.closes, config.slow)
    if fast_sum is None or slow_sum is None:
        return None
    with localcontext(EXACT):
        fast = fast_sum * config.slow
        slow = slow_sum * config.fast
        if fast > slow * (1 + config.band):
            return "above"
        if fast < slow * (1 - config.band):
            return "below"
    return state.side  # inside the band (or equal): no change of side
