"""Ticks held ahead of the watermark: released in event-time order, a confirmation needs
consecutive held arrivals, a bar closed by a released tick still signals, and the exact
side comparison does not round (lambdas/trend/engine.py)."""

from __future__ import annotations

from decimal import Decimal

from lambdas.trend.engine import SymbolState, TickIn, TrendConfig, _side, apply
from lambdas.trend.indicators import window_sum

BAR = 60_000
M = 1_763_996_400_000  # a bar boundary
SECOND = 1000


def tick(name: str, at_s: float, price: str = "100") -> TickIn:
    return TickIn(name, M + int(at_s * SECOND), Decimal(price), 10)


def signals_of(ticks: list[TickIn], config: TrendConfig) -> list[tuple[int, str]]:
    state = SymbolState("AAPL")
    return [(s.bar_start_ms, s.signal) for s in apply(state, ticks, config)]


def test_ticks_released_together_fold_earliest_first() -> None:
    # GIVEN 30 s bars, no lateness, a 60 s jump bound, and the watermark at M
    config = TrendConfig(bar_ms=30_000, allowed_lateness_ms=0, max_jump_ms=60_000, confirmations=3)
    state = SymbolState("AAPL")
    apply(state, [tick("a", 0), tick("b", 0.5), tick("c", 1)], config)  # confirmed start
    # WHEN two ticks beyond the jump bound arrive latest first, then one that lets both in
    apply(state, [tick("x", 119), tick("y", 62)], config)
    assert [t.id for t in state.held] == ["x", "y"]
    apply(state, [tick("z", 59)], config)
    # THEN y (earlier) was folded before x closed its bar: nothing is late
    assert (state.held, state.late_ticks) == ([], 0)
    assert sorted(state.open_bars) == [M + 90_000]  # x's bar; y's bar [60 s, 90 s) closed


def test_a_confirmation_needs_consecutive_held_arrivals() -> None:
    # GIVEN two confirmations needed and a held tick, then an in-order one between
    config = TrendConfig(max_jump_ms=60_000, confirmations=2)
    state = SymbolState("AAPL")
    apply(state, [tick("a", 0), tick("b", 1)], config)
    apply(state, [tick("far1", 200), tick("near", 30)], config)
    # WHEN a second far tick arrives next to the first one's time
    apply(state, [tick("far2", 210)], config)
    # THEN the two far ticks are not consecutive arrivals: both stay held
    assert [t.id for t in state.held] == ["far1", "far2"]
    assert state.max_event_ms == M + 30 * SECOND


def crossing_closes() -> list[float]:
    """Down 25 bars, then up: the fast SMA crosses above the slow one during the rise."""
    return [100 - i * 0.5 for i in range(25)] + [88 + i * 1.0 for i in range(25)]


# a 1-minute jump bound and no lateness: a tick two bars past the watermark is held
HOLDING = TrendConfig(max_jump_ms=BAR, allowed_lateness_ms=0, confirmations=3)


def one_tick_per_bar(closes: list[float]) -> list[TickIn]:
    """A tick at each bar's start; bar 0 has two more in its first seconds, so the first
    three arrivals lie within the jump bound and confirm the start."""
    ticks = [tick(f"b{i}", i * 60, repr(c)) for i, c in enumerate(closes)]
    start = [tick(f"b0-{k}", k, repr(closes[0])) for k in (1, 2)]
    return ticks[:1] + start + ticks[1:]


def test_a_bar_closed_by_released_ticks_signals_as_in_order() -> None:
    # GIVEN a rise whose crossover bars are reached only through held ticks: every second
    # tick arrives before its predecessor, 2 bars past the watermark with a 1-bar jump bound
    ticks = one_tick_per_bar(crossing_closes())
    start, rest = ticks[:3], ticks[3:]
    swapped = start + [t for i in range(0, len(rest) - 1, 2) for t in (rest[i + 1], rest[i])]
    # WHEN both orders run
    expected = signals_of(ticks[: len(swapped)], HOLDING)
    # THEN the same crossovers come out (every second bar closed by a released tick)
    assert expected and signals_of(swapped, HOLDING) == expected


def test_a_bar_closed_by_a_tick_released_after_a_confirmed_jump_signals() -> None:
    # GIVEN the bars before the first crossover bar i, in order
    closes = crossing_closes()
    (first_bar, _), *_ = signals_of(one_tick_per_bar(closes), HOLDING)
    i = (first_bar - M) // BAR
    before = one_tick_per_bar(closes[:i])
    # WHEN after a gap bar i's ticks (a, b, e, k) and bar i+1's (h) arrive so that a, e, b
    # confirm the jump, k (held before them) folds with them, and only k's watermark
    # releases h, which closes bar i
    t = (i - 1) * 60 + 180
    c0, c1 = (repr(c) for c in closes[i : i + 2])
    after = [
        tick("k", t + 50, c0),
        tick("h", t + 100, c1),
        tick("a", t, c0),
        tick("e", t + 30, c0),
        tick("b", t + 10, c0),
    ]
    got = signals_of(before + after, HOLDING)
    # THEN bar i signals as it does with the same ticks in event-time order
    in_order = signals_of(before + sorted(after, key=lambda x: x.event_time_ms), HOLDING)
    assert got == in_order
    assert (M + t * SECOND, "BUY") in got


def test_window_sums_and_the_side_are_exact_beyond_28_digits() -> None:
    # GIVEN closes with 30 significant digits: the fast SMA above the slow one by 1e-19
    a, b = Decimal("1234567890.1234567890"), Decimal("1234567890.1234567890000000001")
    closes = [a] * 19 + [b]
    # THEN the sums are exact (the default context would round to 28 digits)
    assert window_sum(closes, 20) == Decimal("24691357802.4691357800000000001")
    state = SymbolState("AAPL")
    state.indicators.closes = closes
    assert _side(state, TrendConfig(fast=5, slow=20)) == "above"
