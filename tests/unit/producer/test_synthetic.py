"""The synthetic market: deterministic, plausible, and paced only in real-time mode."""

from __future__ import annotations

import itertools
import math
import threading

import pytest

from common.tick import make_tick
from producer.sources.synthetic import SyntheticSource
from tests.factories import NOW_MS, fixed_clock

SYMBOLS = ("AAPL", "MSFT", "NVDA")


def take(source: SyntheticSource, n: int) -> list[tuple[object, ...]]:
    quotes = source.quotes(threading.Event())
    return [tuple(next(quotes)) for _ in range(n)]


def test_same_seed_same_quotes_other_seed_other_quotes() -> None:
    a = take(SyntheticSource(SYMBOLS, seed=1, start_ms=NOW_MS), 300)
    b = take(SyntheticSource(SYMBOLS, seed=1, start_ms=NOW_MS), 300)
    c = take(SyntheticSource(SYMBOLS, seed=2, start_ms=NOW_MS), 300)
    assert a == b and a != c


def test_simulated_time_advances_one_step_per_round_of_symbols() -> None:
    quotes = take(SyntheticSource(SYMBOLS, start_ms=NOW_MS - 10**7, step_ms=15_000), 9)
    assert [q[0] for q in quotes] == list(SYMBOLS) * 3
    assert [q[1] for q in quotes] == [NOW_MS - 10**7 + 15_000 * (i // 3) for i in range(9)]


def test_every_quote_is_valid_and_prices_move_like_gbm() -> None:
    # GIVEN a day of 1-second quotes WHEN validated THEN all pass and log-returns are sane
    source = SyntheticSource(["AAPL"], seed=3, start_ms=NOW_MS - 86_400_000, step_ms=1000)
    quotes = take(source, 23_400)
    for q in quotes:
        make_tick(*q, source="synthetic", clock=fixed_clock)
    prices = [float(q[2]) for q in quotes]  # type: ignore[arg-type]
    returns = [math.log(b / a) for a, b in itertools.pairwise(prices)]
    daily_vol = math.sqrt(sum(r * r for r in returns))
    assert 0.3 / math.sqrt(252) * 0.5 < daily_vol < 0.3 / math.sqrt(252) * 2
    assert all(isinstance(q[3], int) and q[3] >= 0 for q in quotes)


def test_limit_ends_the_source() -> None:
    source = SyntheticSource(SYMBOLS, start_ms=NOW_MS, limit=7)
    assert len(list(source.quotes(threading.Event()))) == 7


def test_real_time_mode_stamps_with_the_clock_and_stops_on_the_event() -> None:
    stop = threading.Event()
    source = SyntheticSource(["AAPL"], realtime=True, step_ms=10_000, clock=fixed_clock)
    quotes = source.quotes(stop)
    first = next(quotes)
    stop.set()
    assert first[1] == NOW_MS
    assert list(quotes) == []  # the step wait returns at once when stopped


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one symbol"):
        SyntheticSource([])
    with pytest.raises(ValueError, match="step_ms"):
        SyntheticSource(["AAPL"], step_ms=0)
