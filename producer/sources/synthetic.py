"""Synthetic quotes: seeded geometric Brownian motion, one quote per symbol per step.

In simulated time a run covers hours of market in seconds (event times advance by `step_ms`
without waiting); in real time it paces itself and stamps quotes with the clock.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

from common.tick import Clock
from producer.sources.base import RawQuote

TRADING_MS_PER_YEAR = 252 * 6.5 * 3600 * 1000


def default_start_ms(clock: Clock = time.time) -> int:
    """Yesterday 14:30 UTC (a US market open): recent enough to pass validation."""
    today = datetime.fromtimestamp(clock(), UTC).replace(
        hour=14, minute=30, second=0, microsecond=0
    )
    return int((today - timedelta(days=1)).timestamp() * 1000)


class SyntheticSource:
    """GBM prices with log-normal volumes; the same seed gives the same quotes."""

    name = "synthetic"

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        seed: int = 7,
        step_ms: int = 1000,
        start_ms: int | None = None,
        realtime: bool = False,
        limit: int | None = None,
        drift: float = 0.05,
        volatility: float = 0.3,
        clock: Clock = time.time,
    ) -> None:
        if not symbols:
            raise ValueError("the synthetic source needs at least one symbol")
        if step_ms <= 0:
            raise ValueError("step_ms must be positive")
        self.symbols = list(symbols)
        self.seed = seed
        self.step_ms = step_ms
        self.start_ms = start_ms
        self.realtime = realtime
        self.limit = limit
        self.drift = drift
        self.volatility = volatility
        self._clock = clock

    def quotes(self, stop: threading.Event) -> Iterator[RawQuote]:
        rng = random.Random(f"stockpipe-synthetic-{self.seed}")
        prices = {s: round(rng.uniform(20, 500), 2) for s in self.symbols}
        dt = self.step_ms / TRADING_MS_PER_YEAR
        drift = (self.drift - 0.5 * self.volatility**2) * dt
        shock = self.volatility * math.sqrt(dt)
        start = self.start_ms if self.start_ms is not None else default_start_ms(self._clock)
        emitted = 0
        step = 0
        while not stop.is_set():
            now_ms = int(self._clock() * 1000) if self.realtime else start + step * self.step_ms
            for symbol in self.symbols:
                if self.limit is not None and emitted >= self.limit:
                    return
                prices[symbol] *= math.exp(drift + shock * rng.gauss(0.0, 1.0))
                volume = int(rng.lognormvariate(5.0, 1.0))
                yield RawQuote(symbol, now_ms, round(prices[symbol], 2), volume)
                emitted += 1
            step += 1
            if self.realtime:
                stop.wait(self.step_ms / 1000)
