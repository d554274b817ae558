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


def folded_volume(state: SymbolState) -> int:
    """The volume of every tick folded so far (closed bars of the day + open bars)."""
    return int(state.indicators.session_volume) + sum(b.volume for b in state.open_bars.values())


def test_a_confirmed_jump_folds_the_held_ticks_within_its_reach_and_drops_those_before() -> None:
    # GIVEN a start at T0 and held ticks around a jump J (volumes are bits: which were folded)
    config = TrendConfig(allowed_lateness_ms=0, max_jump_ms=600_000, confirmations=3)
    jump = 600_000
    j = T0 + 10_000_000
    arrivals = [
        ("a0", T0, 1),
        ("a1", T0 + 1, 2),
        ("a2", T0 + 2, 4),  # confirms the start
        ("low", j - jump, 8),  # held; exactly at the reach of the jump below
        ("before", j - jump - 1, 16),  # held; 1 ms out of that reach: an outlier
        ("reach", j + 2 + 2 * jump, 32),  # held; exactly reachable once the jump is folded
        ("n1", T0 + 3, 64),  # ordinary: ends that streak of held ticks
        ("high", j + 2 + jump, 128),  # held; exactly at the reach of the jump
        ("n2", T0 + 4, 256),
        ("j0", j, 512),
        ("j1", j + 1, 1024),
        ("j2", j + 2, 2048),  # the third close arrival: the jump is confirmed
    ]
    state = SymbolState("AAPL")
    for name, time_ms, volume in arrivals:
        apply(state, [TickIn(name, time_ms, Decimal(1), volume)], config)
        if name == "n2":
            assert folded_volume(state) == 1 + 2 + 4 + 64 + 256 and len(state.held) == 4
    # THEN every tick but the one before the reach was folded, once; nothing is held
    assert folded_volume(state) == 4095 - 16
    assert state.outlier_ticks == 1 and state.held == [] and state.held_streak == 0
    assert state.max_event_ms == j + 2 + 2 * jump and state.late_ticks == 0


def test_held_ticks_exactly_max_jump_apart_confirm_a_jump() -> None:
    config = TrendConfig(max_jump_ms=600_000, confirmations=2)
    state = SymbolState("AAPL")
    apply(state, [TickIn("a", T0, Decimal(1), 1), TickIn("b", T0 + 1, Decimal(1), 1)], config)
    far = T0 + 86_400_000
    apply(state, [TickIn("x", far, Decimal(1), 1)], config)
    assert [t.id for t in state.held] == ["x"]
    apply(state, [TickIn("y", far + 600_000, Decimal(1), 1)], config)
    assert state.held == [] and state.max_event_ms == far + 600_000


def test_after_a_long_run_of_outliers_a_real_jump_is_still_followed() -> None:
    # GIVEN a start, then 66 outliers two days apart (never confirmed; 64 are kept)
    config = TrendConfig(max_jump_ms=600_000, confirmations=3)
    state = SymbolState("AAPL")
    apply(state, [TickIn(f"a{k}", T0 + k, Decimal(1), 1) for k in range(3)], config)
    days = [T0 + 2 * 86_400_000 * (k + 1) for k in range(66)]
    apply(state, [TickIn(f"x{k}", t, Decimal(1), 1) for k, t in enumerate(days)], config)
    assert [t.id for t in state.held] == [f"x{k}" for k in range(2, 66)]
    assert state.outlier_ticks == 2 and state.max_event_ms == T0 + 2
    # WHEN two more arrive within a minute of the last outlier
    apply(state, [TickIn("y0", days[-1] + 1, Decimal(1), 1)], config)
    apply(state, [TickIn("y1", days[-1] + 2, Decimal(1), 1)], config)
    # THEN the last three confirm the jump; every other outlier is dropped and counted
    assert state.max_event_ms == days[-1] + 2 and state.held == []
    assert state.outlier_ticks == 66 + 2 - 3


@pytest.mark.parametrize(("first", "second"), [(1, 3), (3, 1)])
def test_an_sma_exactly_on_the_hysteresis_band_edge_is_inside_the_band(
    first: int, second: int
) -> None:
    # GIVEN SMA1 vs SMA2 with a 50 % band: closes 1, 3 put SMA1 = 3 = SMA2 * 1.5 exactly,
    # closes 3, 1 put SMA1 = 1 = SMA2 * 0.5 exactly
    config = TrendConfig(fast=1, slow=2, hysteresis=0.5, allowed_lateness_ms=0, confirmations=1)
    state = SymbolState("AAPL")
    ticks = [TickIn(f"b{i}", T0 + i * BAR, Decimal(c), 1) for i, c in enumerate([first, second])]
    apply(state, [*ticks, TickIn("next", T0 + 2 * BAR, Decimal(1), 1)], config)
    # THEN the side is not set: "above" and "below" need the SMA strictly beyond the band
    assert state.bars_closed == 2 and state.side is None


def test_a_crossover_on_a_bar_closed_by_a_confirmed_jump_is_alerted() -> None:
    # GIVEN a falling SMA1 vs SMA2 (side below) and an open bar closing far higher
    config = TrendConfig(fast=1, slow=2, allowed_lateness_ms=0, confirmations=2)
    closes = [Decimal(10), Decimal(9), Decimal(20)]
    ticks = [TickIn(f"b{i}", T0 + i * BAR + 30_000, c, 1) for i, c in enumerate(closes)]
    state = SymbolState("AAPL")
    assert apply(state, ticks, config) == [] and state.side == "below"
    # WHEN the next day's first ticks confirm the jump, which closes that bar
    far = T0 + 2 * 86_400_000
    next_day = [TickIn("d1", far, Decimal(20), 1), TickIn("d2", far + 1, Decimal(20), 1)]
    [signal] = apply(state, next_day, config)
    # THEN its crossover is alerted like any other
    assert (signal.signal, signal.bar_start_ms, signal.price) == ("BUY", T0 + 2 * BAR, 20)
