"""The watermark one outlier cannot move, re-delivered ticks, and batch independence."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from lambdas.trend.engine import MAX_HELD, SymbolState, TickIn, TrendConfig, apply
from tests.unit.lambdas.test_trend_engine import bar_ticks, random_walk
from tests.unit.lambdas.test_trend_exact import cent_series

BAR = 60_000
T0 = 1_763_996_400_000
HOUR = 3_600_000


def run(ticks: list[TickIn], config: TrendConfig | None = None, chunk: int = 17):
    config = config or TrendConfig()
    state, signals = SymbolState("AAPL"), []
    for i in range(0, len(ticks), chunk):
        signals += apply(state, ticks[i : i + chunk], config)
    return state, [(s.bar_start_ms, s.signal) for s in signals]


def without_holding(state: SymbolState) -> dict[str, object]:
    data = state.to_json_dict()
    for name in ("held", "held_streak", "recent"):
        del data[name]
    return data


def test_one_tick_23_hours_ahead_does_not_make_later_ticks_late() -> None:
    # GIVEN a real series and one tick dated 23 h ahead in its middle
    ticks = bar_ticks(random_walk(200, seed=3))
    outlier = TickIn("bogus", T0 + 23 * HOUR, Decimal("9999.99"), 1_000_000)
    with_outlier = [*ticks[:300], outlier, *ticks[300:]]
    # WHEN both run
    state, signals = run(with_outlier)
    clean_state, clean_signals = run(ticks)
    # THEN no real tick is late, the alerts and bars are those of the clean series, and the
    # outlier waits aside (it is folded if the real ticks ever reach its time)
    assert state.late_ticks == 0 and signals == clean_signals and len(clean_signals) > 3
    assert without_holding(state) == without_holding(clean_state)
    assert [t.id for t in state.held] == ["bogus"]


@settings(deadline=None)
@given(
    cent_series(min_bars=30, max_bars=90),
    st.data(),
    st.integers(10 * 60_000 + 1, 24 * HOUR),
)
def test_an_outlier_anywhere_changes_no_alert(
    closes: list[Decimal], data: st.DataObject, ahead_ms: int
) -> None:
    ticks = [TickIn(f"b{i}", T0 + i * BAR + 30_000, c, 10) for i, c in enumerate(closes)]
    at = data.draw(st.integers(0, len(ticks)))
    reached = ticks[at - 1].event_time_ms if at else T0
    outlier = TickIn("bogus", reached + ahead_ms + 60_000, Decimal("0.01"), 1)
    state, signals = run([*ticks[:at], outlier, *ticks[at:]], chunk=5)
    clean_state, clean_signals = run(ticks, chunk=5)
    # bars before the outlier's own bar are untouched (among those the clean run closed: the
    # outlier, once the watermark reached it, may close the last bars early); none is late
    limit = min(outlier.event_time_ms - outlier.event_time_ms % BAR, clean_state.closed_until_ms)
    assert [s for s in signals if s[0] < limit] == [s for s in clean_signals if s[0] < limit]
    assert state.late_ticks <= 1 and clean_state.late_ticks == 0


def test_a_real_jump_is_followed_once_confirmed() -> None:
    # GIVEN a trading day, then the next morning 17.5 h later
    day1 = bar_ticks(random_walk(60, seed=1))
    gap = T0 + 60 * BAR + 17 * HOUR + 30 * 60_000
    day2 = [TickIn(f"d2-{i}", gap + i * 20_000, Decimal("101.00"), 5) for i in range(10)]
    config = TrendConfig()
    state, _ = run(day1, config)
    assert T0 + 59 * BAR in state.open_bars  # the last bar waits for the watermark
    apply(state, day2[:2], config)
    assert len(state.held) == 2 and T0 + 59 * BAR in state.open_bars  # not yet confirmed
    apply(state, day2[2:3], config)
    # THEN the third tick confirms the jump: day 1 closes, day 2 is folded in order
    assert state.held == [] and state.max_event_ms == day2[2].event_time_ms
    assert T0 + 59 * BAR not in state.open_bars and state.late_ticks == 0
    apply(state, day2[3:], config)
    assert state.late_ticks == 0


def test_outliers_interleaved_with_real_ticks_are_never_confirmed_and_stay_bounded() -> None:
    ticks = bar_ticks(random_walk(300, seed=8))
    mixed: list[TickIn] = []
    for k, tick in enumerate(ticks):
        mixed.append(tick)
        if k % 3 == 0:  # every third arrival an outlier, each far from the others
            mixed.append(TickIn(f"x{k}", T0 + 48 * HOUR + k * HOUR, Decimal("1"), 1))
    state, signals = run(mixed)
    assert signals == run(ticks)[1] and state.late_ticks == 0
    assert len(state.held) == MAX_HELD and state.outlier_ticks == 300 - MAX_HELD


@settings(deadline=None)
@given(cent_series(min_bars=25, max_bars=80), st.lists(st.integers(1, 30), min_size=1))
def test_any_batching_and_any_redelivery_give_the_same_state(
    closes: list[Decimal], sizes: list[int]
) -> None:
    ticks = [
        TickIn(f"b{i}-{k}", T0 + i * BAR + 10_000 * k, c + k, 10)
        for i, c in enumerate(closes)
        for k in range(2)
    ]
    config = TrendConfig(hysteresis=0.001, cooldown_bars=2)
    one_by_one = SymbolState("AAPL")
    expected = [s for t in ticks for s in apply(one_by_one, [t], config)]
    state, got, i = SymbolState("AAPL"), [], 0
    for n, size in enumerate(sizes * (len(ticks) // len(sizes) + 1)):
        if i >= len(ticks):
            break
        batch = ticks[i : i + size]
        got += apply(state, batch, config)
        if n % 2:  # a Lambda retry re-delivers the batch (and a bit before it)
            got += apply(state, ticks[max(0, i - 3) : i + size], config)
        i += size
    assert got == expected
    assert json.dumps(state.to_json_dict()) == json.dumps(one_by_one.to_json_dict())
