"""Indicator edges the random-walk reference never reaches: no movement at all, one-way
moves, sessions without volume, the session boundary at UTC midnight, and the warm-up of
every indicator, each against a value worked out independently here."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from lambdas.trend.engine import SymbolState, TickIn, TrendConfig, apply
from lambdas.trend.indicators import IndicatorState, IndicatorValues, update

DAY = "2025-11-24"


def fold(closes: list[float], volumes: list[float] | None = None) -> list[IndicatorValues]:
    state = IndicatorState()
    volumes = volumes or [1.0] * len(closes)
    return [
        update(state, Decimal(str(c)), v, DAY, fast=5, slow=20, window=20)
        for c, v in zip(closes, volumes, strict=True)
    ]


def wilder_rsi(closes: list[float], period: int = 14) -> list[float | None]:
    """RSI from scratch: simple mean of the first `period` gains/losses, then Wilder's
    smoothing; no losses at all reads 100 when there were gains, 50 when nothing moved."""
    out: list[float | None] = [None] * min(len(closes), period)
    changes = [b - a for a, b in itertools.pairwise(closes)]
    gains = [max(c, 0.0) for c in changes]
    losses = [max(-c, 0.0) for c in changes]
    if len(changes) < period:
        return out
    gain, loss = sum(gains[:period]) / period, sum(losses[:period]) / period
    for i in range(period, len(changes) + 1):
        if i > period:
            gain = (gain * (period - 1) + gains[i - 1]) / period
            loss = (loss * (period - 1) + losses[i - 1]) / period
        if loss == 0:
            out.append(100.0 if gain > 0 else 50.0)
        else:
            out.append(100 - 100 / (1 + gain / loss))
    return out


@pytest.mark.parametrize(
    "closes",
    [
        [10.0] * 30,  # nothing moves: 50
        [10 + 0.01 * i for i in range(30)],  # only (small) gains: 100
        [30 - 0.5 * i for i in range(30)],  # only losses: 0
        [10.0] * 10 + [10.5] + [10.0] * 19,  # one jump up and back within the warm-up
        [10.0] * 20 + [10.25, 10.5, 10.0, 10.0, 10.75] + [11.0] * 5,  # moves after it
    ],
)
def test_rsi_equals_wilders_definition_on_one_way_and_flat_series(closes: list[float]) -> None:
    got = [v.rsi_14 for v in fold(closes)]
    want = wilder_rsi(closes)
    assert got[:14] == [None] * 14
    assert got == pytest.approx(want, abs=1e-9)


def test_rsi_of_a_flat_series_is_50_and_of_a_rising_one_100() -> None:
    assert fold([10.0] * 15)[-1].rsi_14 == 50.0
    assert fold([10 + 0.01 * i for i in range(15)])[-1].rsi_14 == 100.0
    assert fold([10 - 0.01 * i for i in range(15)])[-1].rsi_14 == 0.0


def test_every_indicator_waits_for_its_own_warm_up() -> None:
    values = fold([10.0 + i for i in range(25)])
    defined = {
        name: next(i for i, v in enumerate(values) if getattr(v, name) is not None)
        for name in ("sma_fast", "sma_slow", "ema_12", "ema_26", "rsi_14", "vwap", "bb_middle")
    }
    assert defined == {
        "sma_fast": 4,
        "sma_slow": 19,
        "ema_12": 0,
        "ema_26": 0,
        "rsi_14": 14,
        "vwap": 0,
        "bb_middle": 19,
    }
    # the bands of 20 closes 10..29: mean 19.5, population sd sqrt((20^2 - 1) / 12)
    last = values[19]
    sd = ((20**2 - 1) / 12) ** 0.5
    assert (last.bb_upper, last.bb_middle, last.bb_lower) == pytest.approx(
        (19.5 + 2 * sd, 19.5, 19.5 - 2 * sd)
    )
    assert (last.sma_fast, last.sma_slow) == (27.0, 19.5)


def test_vwap_is_undefined_until_a_bar_of_the_session_has_volume() -> None:
    state = IndicatorState()
    bars = [("10", 0.0, DAY), ("11", 0.0, DAY), ("12", 3.0, DAY), ("20", 1.0, DAY)]
    got = [update(state, Decimal(c), v, s, fast=2, slow=3, window=20).vwap for c, v, s in bars]
    assert got == [None, None, 12.0, (12 * 3 + 20) / 4]
    # a new session starts from nothing, a volume-less first bar included
    nxt = update(state, Decimal("30"), 0.0, "2025-11-25", fast=2, slow=3, window=20)
    assert nxt.vwap is None
    assert update(state, Decimal("40"), 2.0, "2025-11-25", fast=2, slow=3, window=20).vwap == 40


@pytest.fixture
def new_york_time() -> Iterator[None]:
    """The machine's clock in a zone whose date changes 5 h after UTC's."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    assert time.localtime(0).tm_hour == 19  # 1970-01-01T00:00Z is 19:00 the day before there
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.usefixtures("new_york_time")
def test_the_vwap_session_is_the_utc_date_of_the_bar_whatever_the_machine_zone() -> None:
    # GIVEN bars each minute from 23:57 to 00:02 UTC (volume 1, closes 1..6, one tick a bar)
    midnight_ms = 1_764_028_800_000  # 2025-11-25T00:00:00Z
    starts = [midnight_ms + k * 60_000 for k in range(-3, 3)]
    ticks = [TickIn(f"t{k}", start + 30_000, Decimal(k + 1), 1) for k, start in enumerate(starts)]
    ticks.append(TickIn("push", starts[-1] + 120_000, Decimal(1), 1))  # closes the last bar
    state = SymbolState("AAPL")
    config = TrendConfig(fast=2, slow=3)
    apply(state, ticks, config)
    # THEN the session of the last bars holds only the 3 bars after midnight UTC
    assert state.bars_closed == 6
    assert state.indicators.session_volume == 3
    assert state.indicators.session_pv == 4 + 5 + 6
