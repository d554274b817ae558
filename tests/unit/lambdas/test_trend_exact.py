"""Crossovers decided on exact values, and every edge of the rule with non-zero settings,
compared bar by bar with from-scratch references (fractions; a history recomputed at each
arrival) on generated cent-rounded, low-volatility series with flat stretches."""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lambdas.trend.engine import SymbolState, TickIn, TrendConfig, apply
from tests.unit.lambdas.trend_reference import closed_bars, exact_sides

BAR = 60_000
T0 = 1_763_996_400_000


def cents(values: list[int]) -> list[Decimal]:
    return [Decimal(v).scaleb(-2) for v in values]


OPEN_AT_END = 2  # one tick a bar at :30 with 1 min lateness: the last two bars stay open


def one_tick_per_bar(closes: list[Decimal], *, first: int = 0) -> list[TickIn]:
    return [
        TickIn(f"b{i}", T0 + i * BAR + 30_000, close, 10)
        for i, close in enumerate(closes, start=first)
    ]


def run_bar_by_bar(
    ticks: list[TickIn], config: TrendConfig
) -> tuple[list[str | None], list[tuple[int, str]], SymbolState]:
    """Side after every closed bar, alerts as (bar index, signal), the final state."""
    state, sides, alerts = SymbolState("AAPL"), [], []
    for tick in ticks:
        for signal in apply(state, [tick], config):
            alerts.append(((signal.bar_start_ms - T0) // BAR, signal.signal))
        sides += [state.side] * (state.bars_closed - len(sides))
    return sides, alerts, state


def run_in_chunks(ticks: list[TickIn], config: TrendConfig, sizes: list[int]) -> list[Any]:
    state, signals, i = SymbolState("AAPL"), [], 0
    for size in itertools.chain(sizes, itertools.repeat(7)):
        if i >= len(ticks):
            return signals
        signals += apply(state, ticks[i : i + size], config)
        i += size
    return signals


@st.composite
def cent_series(draw: st.DrawFn, min_bars: int = 30, max_bars: int = 120) -> list[Decimal]:
    """Cent prices that move by at most a few cents a bar, often not at all (flat stretches)."""
    price = draw(st.integers(100, 50_000))
    steps = draw(
        st.lists(
            st.sampled_from([0, 0, 0, 0, 1, -1, 2, -2, 3, -3]) | st.just(0),
            min_size=min_bars,
            max_size=max_bars,
        )
    )
    values = []
    for step in steps:
        price = max(1, price + step)
        values.append(price)
    return cents(values)


RULES = st.tuples(
    st.integers(2, 6),  # fast
    st.integers(1, 20),  # slow - fast
    st.sampled_from(["0", "0.0001", "0.0005", "0.001", "0.002", "0.01"]),
    st.integers(0, 6),  # cooldown
)


def test_a_flat_price_after_a_rise_is_no_crossover() -> None:
    # GIVEN 25 rising bars, then 12.34 for 30 bars (in floats SMA20 = 12.340000000000002 > SMA5)
    closes = cents([1100 + 5 * i for i in range(25)] + [1234] * 30)
    # WHEN the engine closes the bars
    sides, alerts, _ = run_bar_by_bar(one_tick_per_bar(closes), TrendConfig())
    # THEN no SELL/BUY: equal averages keep the side; the reference agrees bar by bar
    assert alerts == []
    want_sides, want_alerts = exact_sides(closes)
    assert sides == want_sides[: len(sides)] and want_alerts == []
    assert sides[-1] == "above"


@settings(deadline=None)
@given(cent_series(), RULES, st.lists(st.integers(1, 40), max_size=20))
def test_alerts_and_sides_equal_the_exact_reference(
    closes: list[Decimal], rule: tuple[int, int, str, int], chunks: list[int]
) -> None:
    fast, gap, hysteresis, cooldown = rule
    config = TrendConfig(
        fast=fast, slow=fast + gap, hysteresis=float(hysteresis), cooldown_bars=cooldown
    )
    ticks = one_tick_per_bar(closes)
    sides, alerts, _ = run_bar_by_bar(ticks, config)
    assert run_in_chunks(ticks, config, chunks) == run_in_chunks(ticks, config, [1])
    want_sides, want_alerts = exact_sides(
        closes,
        fast=fast,
        slow=fast + gap,
        hysteresis=Fraction(hysteresis),
        cooldown=cooldown,
    )
    closed = len(closes) - OPEN_AT_END
    assert len(sides) == closed
    assert sides == want_sides[:closed]
    assert alerts == [a for a in want_alerts if a[0] < closed]


def test_hysteresis_band_holds_the_side_inside_and_flips_just_outside() -> None:
    # GIVEN 19 bars at 100.00 then a close x: fast = 80 + x/5, slow = 95 + x/20; with a 1%
    # band the side is "above" for x >= 106.69 and "below" for x <= 93.35, else unset
    config = TrendConfig(hysteresis=0.01)

    def side_with_last(x: int) -> str | None:
        closes = cents([10_000] * 19 + [x, x, x])
        sides, _, _ = run_bar_by_bar(one_tick_per_bar(closes), config)
        want, _ = exact_sides(closes, hysteresis=Fraction(1, 100))
        assert sides == want[: len(sides)]
        return sides[19]

    assert side_with_last(10_000) is None
    assert side_with_last(10_668) is None
    assert side_with_last(10_669) == "above"
    assert side_with_last(9_336) is None
    assert side_with_last(9_335) == "below"


def test_cooldown_allows_an_alert_exactly_cooldown_bars_later() -> None:
    # GIVEN a series whose crossovers the reference puts k bars apart
    closes = cents([1000] * 20 + [1010, 990, 1010, 990, 1030, 970, 1050, 950, 1070, 930])
    _, no_cooldown = exact_sides(closes)
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(no_cooldown)]
    assert 1 in gaps
    for cooldown in (1, 2, 3):
        _, alerts, _ = run_bar_by_bar(one_tick_per_bar(closes), TrendConfig(cooldown_bars=cooldown))
        want = exact_sides(closes, cooldown=cooldown)[1]
        assert alerts == [a for a in want if a[0] < len(closes) - OPEN_AT_END]


def test_a_crossover_suppressed_by_the_cooldown_still_moves_the_side() -> None:
    # GIVEN a slow fall (side below), a spike (BUY), then a drop inside the cooldown
    closes = cents([1100 - i for i in range(20)] + [1300, 1300, 900, 800, 700, 600, 500, 400])
    _, alerts, state = run_bar_by_bar(one_tick_per_bar(closes), TrendConfig(cooldown_bars=4))
    # THEN the SELL is suppressed but the side is "below": no SELL fires once the cooldown ends
    want = [a for a in exact_sides(closes, cooldown=4)[1] if a[0] < len(closes) - OPEN_AT_END]
    assert alerts == want == [(20, "BUY")]
    assert state.side == "below"


@st.composite
def shuffled_arrivals(draw: st.DrawFn) -> list[tuple[int, Decimal]]:
    """Ticks of up to 3 a bar with distinct event times, arriving up to ~2 bars out of order."""
    n = draw(st.integers(5, 40))
    times: list[int] = []
    for i in range(n):
        offsets = draw(st.sets(st.integers(0, BAR - 1), min_size=1, max_size=3))
        times += [T0 + i * BAR + o for o in offsets]
    delays = draw(st.lists(st.integers(0, 2 * BAR), min_size=len(times), max_size=len(times)))
    prices = draw(st.lists(st.integers(9_990, 10_010), min_size=len(times), max_size=len(times)))
    order = sorted(range(len(times)), key=lambda k: times[k] + delays[k])
    return [(times[k], Decimal(prices[k]).scaleb(-2)) for k in order]


@settings(deadline=None)
@given(shuffled_arrivals(), st.sampled_from([0, 1, 999, 1000, 30_000, 59_999, 60_000, 90_000]))
def test_late_ticks_and_bar_closes_equal_the_reference(
    arrivals: list[tuple[int, Decimal]], lateness: int
) -> None:
    # slow 40 keeps every close in the state (window = max(slow, 20))
    config = TrendConfig(slow=40, allowed_lateness_ms=lateness, confirmations=1)
    state = SymbolState("AAPL")
    for k, (time_ms, price) in enumerate(arrivals):
        apply(state, [TickIn(f"t{k}", time_ms, price, 1)], config)
    want, late = closed_bars(arrivals, bar_ms=BAR, lateness_ms=lateness)
    assert state.late_ticks == late
    assert state.indicators.closes == [close for _, close in want]
    assert state.closed_until_ms == (want[-1][0] + BAR if want else 0)


def test_a_bar_closes_exactly_when_the_watermark_reaches_its_end() -> None:
    config = TrendConfig(allowed_lateness_ms=5_000, confirmations=1)
    state = SymbolState("AAPL")
    apply(state, [TickIn("a", T0 + 10_000, Decimal("1.00"), 1)], config)
    apply(state, [TickIn("b", T0 + BAR + 4_999, Decimal("1.01"), 1)], config)
    assert state.bars_closed == 0  # watermark = end - 1 ms
    apply(state, [TickIn("c", T0 + BAR + 5_000, Decimal("1.02"), 1)], config)
    assert state.bars_closed == 1 and state.closed_until_ms == T0 + BAR


def test_a_tick_at_the_end_of_the_closed_bar_is_on_time_one_ms_before_is_late() -> None:
    config = TrendConfig(allowed_lateness_ms=0, confirmations=1)
    state = SymbolState("AAPL")
    apply(state, [TickIn("a", T0 + 10_000, Decimal("1.00"), 1)], config)
    apply(state, [TickIn("b", T0 + 2 * BAR, Decimal("1.00"), 1)], config)
    assert state.closed_until_ms == T0 + BAR
    apply(state, [TickIn("late", T0 + BAR - 1, Decimal("1.00"), 1)], config)
    apply(state, [TickIn("on-time", T0 + BAR, Decimal("1.00"), 1)], config)
    # the on-time tick makes its own bar, which closes at once (the watermark is past it)
    assert state.late_ticks == 1 and state.bars_closed == 2
    assert state.closed_until_ms == T0 + 2 * BAR
