"""The engine's smaller rules, each against values worked out here: which settings it
accepts, what a bar holds, what an alert carries, what the state keeps between invocations."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest

from lambdas.trend.engine import (
    MAX_HELD,
    RECENT_TICKS,
    SymbolState,
    TickIn,
    TrendConfig,
    apply,
)
from lambdas.trend.indicators import IndicatorState, update

BAR = 60_000
T0 = 1_763_996_400_000  # 2025-11-24T15:00:00Z, a bar boundary


@pytest.mark.parametrize(
    "settings",
    [
        {"fast": 1, "slow": 2},
        {"bar_ms": 1},
        {"allowed_lateness_ms": 0},
        {"hysteresis": 0.0},
        {"max_jump_ms": 1},
        {"confirmations": 1},
        {"confirmations": MAX_HELD},
    ],
)
def test_the_smallest_and_largest_settings_are_accepted(settings: dict[str, int]) -> None:
    config = TrendConfig(**settings)
    assert all(getattr(config, name) == value for name, value in settings.items())


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"fast": 0, "slow": 2}, "need 0 < fast < slow, got fast=0 slow=2"),
        ({"fast": 5, "slow": 5}, "need 0 < fast < slow, got fast=5 slow=5"),
        ({"fast": 6, "slow": 5}, "need 0 < fast < slow, got fast=6 slow=5"),
        ({"bar_ms": 0}, "bar, lateness and hysteresis must not be negative"),
        ({"allowed_lateness_ms": -1}, "bar, lateness and hysteresis must not be negative"),
        ({"hysteresis": -0.001}, "bar, lateness and hysteresis must not be negative"),
        ({"max_jump_ms": 0}, f"need max_jump_ms > 0 and 1 <= confirmations <= {MAX_HELD}"),
        ({"confirmations": 0}, f"need max_jump_ms > 0 and 1 <= confirmations <= {MAX_HELD}"),
        (
            {"confirmations": MAX_HELD + 1},
            f"need max_jump_ms > 0 and 1 <= confirmations <= {MAX_HELD}",
        ),
    ],
)
def test_impossible_settings_are_refused_with_what_is_needed(
    settings: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        TrendConfig(**settings)
    assert str(refused.value) == message


def test_the_indicator_window_keeps_at_least_20_closes_for_the_bands() -> None:
    assert TrendConfig(fast=2, slow=3).window == 20
    assert TrendConfig(fast=2, slow=50).window == 50


def test_a_step_of_one_bar_plus_the_lateness_is_never_a_jump() -> None:
    config = TrendConfig(allowed_lateness_ms=30_000, max_jump_ms=1000, confirmations=2)
    state = SymbolState("AAPL")
    apply(state, [TickIn("a", T0, Decimal(1), 1), TickIn("a2", T0 + 1, Decimal(1), 1)], config)
    step = BAR + 30_000
    apply(state, [TickIn("b", T0 + 1 + step, Decimal(2), 1)], config)  # folded at once
    apply(state, [TickIn("c", T0 + 2 + 2 * step, Decimal(3), 1)], config)  # 1 ms more: held
    assert state.max_event_ms == T0 + 1 + step and [t.id for t in state.held] == ["c"]


def ohlcv(ticks: list[TickIn]) -> tuple[Decimal, Decimal, Decimal, Decimal, int]:
    """A bar from scratch: open = earliest tick, close = latest (by time, then id)."""
    by_time = sorted(ticks, key=lambda t: (t.event_time_ms, t.id))
    prices = [t.price for t in ticks]
    return (
        by_time[0].price,
        max(prices),
        min(prices),
        by_time[-1].price,
        sum(t.volume for t in ticks),
    )


@pytest.mark.parametrize("seed", range(5))
def test_a_bar_holds_open_high_low_close_and_volume_of_its_ticks_in_any_order(
    seed: int,
) -> None:
    rng = random.Random(seed)
    times = rng.sample(range(T0, T0 + BAR), 12)
    ticks = [
        TickIn(f"t{k}", t, Decimal(rng.randint(9_000, 11_000)).scaleb(-2), rng.randint(1, 500))
        for k, t in enumerate(times)
    ]
    # two ticks at the same millisecond: the close is the greater id
    ticks.append(TickIn("t99", max(times), Decimal("123.45"), 7))
    ticks.append(TickIn("t98", max(times), Decimal("67.89"), 7))
    rng.shuffle(ticks)
    state = SymbolState("AAPL")
    apply(state, ticks, TrendConfig())
    bar = state.open_bars[T0]
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == ohlcv(ticks)
    assert (bar.first_ms, bar.last_ms, bar.last_id) == (min(times), max(times), "t99")


def test_the_first_arrival_at_the_earliest_millisecond_stays_the_open() -> None:
    state = SymbolState("AAPL")
    first = [TickIn("b", T0 + 5, Decimal(2), 1), TickIn("a", T0 + 5, Decimal(3), 1)]
    apply(state, first, TrendConfig(confirmations=1))
    assert state.open_bars[T0].open == Decimal(2)


def test_a_closed_bar_feeds_the_indicators_its_close_and_volume() -> None:
    ticks = [
        TickIn("a", T0 + 1_000, Decimal("10.00"), 5),
        TickIn("b", T0 + 50_000, Decimal("12.00"), 7),
        TickIn("c", T0 + 20_000, Decimal("11.00"), 11),
    ]
    state = SymbolState("AAPL")
    apply(state, [*ticks, TickIn("next", T0 + 2 * BAR + 1, Decimal(1), 1)], TrendConfig())
    assert state.indicators.closes == [Decimal("12.00")]
    assert state.indicators.session_volume == 23
    assert state.indicators.session_pv == 12.0 * 23


def test_an_alert_carries_the_bar_its_close_its_indicators_and_the_rule() -> None:
    # GIVEN 20 falling bars, then a jump: the golden cross is on bar 20, closing at 40
    closes = [Decimal(30 - i) for i in range(20)] + [Decimal(40), Decimal(41), Decimal(42)]
    ticks = [TickIn(f"b{i}", T0 + i * BAR + 30_000, c, 100 + i) for i, c in enumerate(closes)]
    config = TrendConfig(fast=3, slow=5, allowed_lateness_ms=0)
    [signal] = apply(SymbolState("MSFT"), ticks, config)
    assert (signal.symbol, signal.signal, signal.bar_start_ms) == ("MSFT", "BUY", T0 + 20 * BAR)
    assert signal.price == Decimal(40) and (signal.fast, signal.slow) == (3, 5)
    assert signal.bar_time == "2025-11-24T15:20:00+00:00"
    reference = IndicatorState()
    for i, c in enumerate(closes[:21]):
        values = update(reference, c, 100 + i, "2025-11-24", fast=3, slow=5, window=20)
    assert signal.indicators == values
    assert (values.sma_fast, values.sma_slow) == (21.0, 18.0)


def test_the_whole_state_survives_json_with_every_field() -> None:
    config = TrendConfig(cooldown_bars=2, confirmations=3)
    state = SymbolState("AAPL")
    ticks = [
        TickIn(f"b{i}", T0 + i * BAR + 30_000, Decimal(100 + (i % 7) * 3), 10) for i in range(40)
    ]
    ticks.append(TickIn("late", T0, Decimal(1), 1))
    ticks.append(TickIn("ahead", T0 + 90 * 86_400_000, Decimal(5), 2))
    apply(state, ticks, config)
    assert state.open_bars and state.held and state.late_ticks and state.last_alert_bar
    text = json.dumps(state.to_json_dict())
    restored = SymbolState.from_json_dict(json.loads(text))
    assert restored == state
    later = [TickIn(f"c{i}", T0 + (40 + i) * BAR + 30_000, Decimal(90), 10) for i in range(10)]
    assert apply(restored, later, config) == apply(state, later, config)
    assert restored == state


def test_only_the_last_recent_ticks_keys_are_remembered() -> None:
    state = SymbolState("AAPL")
    ticks = [TickIn(f"t{k}", T0 + k * 1000, Decimal(1), 1) for k in range(RECENT_TICKS + 10)]
    apply(state, ticks[:5], TrendConfig())
    apply(state, ticks[5:], TrendConfig())
    assert state.recent == [t.key for t in ticks[10:]]
    # a re-delivery of a remembered tick changes nothing; a forgotten one is folded again
    # (here: late, its bar long closed)
    apply(state, [ticks[-1]], TrendConfig())
    assert state.late_ticks == 0
    apply(state, [ticks[0]], TrendConfig())
    assert state.late_ticks == 1


def test_a_re_delivered_tick_within_one_batch_is_folded_once() -> None:
    tick = TickIn("a", T0 + 1, Decimal(2), 5)
    state = SymbolState("AAPL")
    ticks = [tick, tick, TickIn("b", T0 + 2, Decimal(3), 1), tick]
    apply(state, ticks, TrendConfig(confirmations=1))
    assert state.open_bars[T0].volume == 6 and state.recent == [tick.key, f"{T0 + 2}#b"]
