"""The trend engine against independent polars computations on the same bars."""

from __future__ import annotations

import itertools
import json
import math
import random
from decimal import Decimal

import pytest

from lambdas.trend.engine import SymbolState, TickIn, TrendConfig, apply
from lambdas.trend.indicators import IndicatorState, update
from tests.unit.lambdas.trend_reference import reference_crossovers, reference_indicators

BAR = 60_000
T0 = 1_763_996_400_000  # 2025-11-24T15:00:00Z, a bar boundary


def random_walk(n: int, seed: int, start: float = 100.0) -> list[float]:
    rng = random.Random(seed)
    closes, price = [], start
    for _ in range(n):
        price *= math.exp(rng.gauss(0, 0.01))
        closes.append(round(price, 4))
    return closes


def dec(price: float) -> Decimal:
    """A float price as the decimal text the consumer writes for it."""
    return Decimal(str(price))


def bar_ticks(
    closes: list[float], *, per_bar: int = 3, seed: int = 1, bars: list[int] | None = None
) -> list[TickIn]:
    """Ticks whose last (by event time) in bar i closes at closes[i]; shuffled within a bar."""
    rng = random.Random(seed)
    ticks: list[TickIn] = []
    for i, close in zip(bars if bars is not None else range(len(closes)), closes, strict=True):
        start = T0 + i * BAR
        inside = [
            TickIn(f"t{i}-{k}", start + 1000 * (k + 1), dec(close * (1 + 0.001 * (k - 1))), 10)
            for k in range(per_bar - 1)
        ]
        inside.append(TickIn(f"t{i}-last", start + 59_000, dec(close), 10))
        rng.shuffle(inside)
        ticks += inside
    return ticks


def run(
    ticks: list[TickIn], config: TrendConfig | None = None, chunk: int = 17
) -> tuple[SymbolState, list[tuple[int, str]]]:
    config = config or TrendConfig()
    state, signals = SymbolState("AAPL"), []
    for i in range(0, len(ticks), chunk):  # as several stream batches
        signals += apply(state, ticks[i : i + chunk], config)
    return state, [((s.bar_start_ms - T0) // BAR, s.signal) for s in signals]


def test_indicator_values_match_the_reference_bar_by_bar() -> None:
    closes = random_walk(300, seed=5)
    volumes = [100.0 + (i * 37) % 500 for i in range(300)]
    sessions = ["2025-11-24" if i < 150 else "2025-11-25" for i in range(300)]
    state = IndicatorState()
    got = [
        update(state, dec(c), v, s, fast=5, slow=20, window=20)
        for c, v, s in zip(closes, volumes, sessions, strict=True)
    ]
    reference = reference_indicators(closes, volumes, sessions)
    for name in (
        "sma_fast",
        "sma_slow",
        "ema_12",
        "ema_26",
        "rsi_14",
        "vwap",
        "bb_upper",
        "bb_middle",
        "bb_lower",
    ):
        expected = reference[name].to_list()
        for i, (mine, theirs) in enumerate(
            zip((getattr(g, name) for g in got), expected, strict=True)
        ):
            if theirs is None or (isinstance(theirs, float) and math.isnan(theirs)):
                assert mine is None, f"{name}[{i}] should not be defined yet"
            else:
                assert mine == pytest.approx(theirs, rel=1e-9, abs=1e-9), f"{name}[{i}]"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_crossovers_are_exactly_the_reference_sign_flips(seed: int) -> None:
    closes = random_walk(400, seed=seed)
    _, signals = run(bar_ticks(closes, seed=seed))
    # the last bar stays open: nothing after it has pushed the watermark past its end
    expected = [c for c in reference_crossovers(closes) if c[0] < len(closes) - 1]
    assert signals == expected and len(expected) > 3


def test_golden_cross_then_death_cross_one_alert_each() -> None:
    closes = (
        [100 - i * 0.5 for i in range(25)]
        + [88 + i * 1.0 for i in range(25)]
        + [112 - i * 1.5 for i in range(25)]
    )
    _, signals = run(bar_ticks(closes))
    assert [s for _, s in signals] == ["BUY", "SELL"]
    assert signals == reference_crossovers(closes)


def test_flat_prices_give_no_alert() -> None:
    _, signals = run(bar_ticks([50.0] * 100))
    assert signals == []


def test_warm_up_with_fewer_bars_than_the_slow_period_never_alerts() -> None:
    closes = [100, 90, 110, 80, 120, 70, 130, 60, 140, 50, 150, 40, 160, 30, 170, 20, 180, 10.0]
    state, signals = run(bar_ticks(closes))
    assert signals == [] and state.side is None


def test_ticks_later_than_the_allowed_lateness_are_counted_and_ignored() -> None:
    closes = random_walk(60, seed=9)
    ticks = bar_ticks(closes)
    late = TickIn("late", T0 + 5 * BAR + 30_000, Decimal("10000"), 1_000_000)  # bar 5, long closed
    state, signals = run([*ticks, late])
    reference_state, reference_signals = run(ticks)
    assert state.late_ticks == 1 and reference_state.late_ticks == 0
    assert signals == reference_signals
    assert state.indicators == reference_state.indicators


def test_out_of_order_ticks_within_the_lateness_land_in_their_bar() -> None:
    closes = random_walk(80, seed=4)
    in_order = bar_ticks(closes)
    # each bar's three ticks arrive after one tick of the next bar (up to ~1 bar late)
    by_bar = [in_order[i : i + 3] for i in range(0, len(in_order), 3)]
    swapped: list[TickIn] = []
    for k, ticks in enumerate(by_bar):
        ahead = by_bar[k + 1][0] if k + 1 < len(by_bar) else None
        swapped += [ahead, *ticks] if ahead else ticks
        if ahead:
            by_bar[k + 1] = by_bar[k + 1][1:]
    assert sorted(t.id for t in swapped) == sorted(t.id for t in in_order)
    assert run(swapped)[1] == run(in_order)[1]
    assert run(swapped)[0].late_ticks == 0


def test_gaps_make_no_bars_and_indicators_use_the_bars_that_exist() -> None:
    closes = random_walk(200, seed=11)
    bars = [i + (i // 10) * 5 for i in range(200)]  # 5 silent minutes after every 10 bars
    _, signals = run(bar_ticks(closes, bars=bars))
    expected = [(bars[i], s) for i, s in reference_crossovers(closes) if i < len(closes) - 1]
    assert signals == expected


def test_hysteresis_suppresses_whipsaws_and_cooldown_spaces_alerts() -> None:
    closes = [100 + (0.3 if i % 2 else -0.3) for i in range(60)]  # noise around 100
    ticks = bar_ticks(closes)
    assert len(run(ticks)[1]) > 5
    assert run(ticks, TrendConfig(hysteresis=0.01))[1] == []
    spaced = run(bar_ticks(random_walk(400, seed=2)), TrendConfig(cooldown_bars=30))[1]
    assert len(spaced) >= 2
    assert all(b - a >= 30 for (a, _), (b, _) in itertools.pairwise(spaced))


def test_state_survives_a_json_round_trip_mid_stream() -> None:
    closes = random_walk(120, seed=6)
    ticks = bar_ticks(closes)
    config = TrendConfig()
    state, first = SymbolState("AAPL"), []
    first += apply(state, ticks[:150], config)
    restored = SymbolState.from_json_dict(json.loads(json.dumps(state.to_json_dict())))
    rest = apply(restored, ticks[150:], config)
    assert [(s.bar_start_ms, s.signal) for s in first + rest] == [
        ((T0 + i * BAR), s) for i, s in run(ticks)[1]
    ]


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="fast < slow"):
        TrendConfig(fast=20, slow=5)
