"""Builders for test data: valid by default, override what a test is about."""

from __future__ import annotations

from typing import Any

from common.tick import Tick, make_tick

NOW_S = 1_764_000_000.0  # 2025-11-24T16:00:00Z, a fixed clock for tests
NOW_MS = int(NOW_S * 1000)


def fixed_clock() -> float:
    return NOW_S


def quote_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "symbol": "AAPL",
        "event_time_ms": NOW_MS - 60_000,
        "price": 229.87,
        "volume": 300,
        "source": "synthetic",
    }
    fields.update(overrides)
    return fields


def a_tick(**overrides: Any) -> Tick:
    return make_tick(**quote_fields(**overrides), clock=fixed_clock)


def ticks(n: int, symbols: tuple[str, ...] = ("AAPL", "MSFT", "GOOG")) -> list[Tick]:
    """n distinct valid ticks, round-robin over symbols, one second apart, all in the past
    (from an hour ago, or earlier when n is larger)."""
    start = NOW_MS - max(3_600_000, n * 1000 + 60_000)
    return [
        a_tick(
            symbol=symbols[i % len(symbols)],
            event_time_ms=start + i * 1000,
            price=100.0 + (i % 97) * 0.01,
            volume=i,
        )
        for i in range(n)
    ]
