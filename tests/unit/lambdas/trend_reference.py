"""Independent reference computations (polars, vectorised; fractions, from scratch at each
bar), to check the engine."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import polars as pl


def reference_indicators(
    closes: list[float], volumes: list[float], sessions: list[str], fast: int = 5, slow: int = 20
) -> pl.DataFrame:
    frame = pl.DataFrame({"close": closes, "volume": volumes, "session": sessions})
    change = frame["close"].diff().to_numpy()
    gains, losses = np.clip(change, 0, None), np.clip(-change, 0, None)
    rsi = np.full(len(closes), np.nan)
    if len(closes) > 14:
        avg_g, avg_l = gains[1:15].mean(), losses[1:15].mean()
        for i in range(14, len(closes)):
            if i > 14:
                avg_g = (avg_g * 13 + gains[i]) / 14
                avg_l = (avg_l * 13 + losses[i]) / 14
            rsi[i] = 100.0 if avg_l == 0 else 100 - 100 / (1 + avg_g / avg_l)
    return frame.with_columns(
        pl.col("close").rolling_mean(fast).alias("sma_fast"),
        pl.col("close").rolling_mean(slow).alias("sma_slow"),
        pl.col("close").ewm_mean(span=12, adjust=False).alias("ema_12"),
        pl.col("close").ewm_mean(span=26, adjust=False).alias("ema_26"),
        pl.Series("rsi_14", rsi),
        (
            (pl.col("close") * pl.col("volume")).cum_sum().over("session")
            / pl.col("volume").cum_sum().over("session")
        ).alias("vwap"),
        (pl.col("close").rolling_mean(20) + 2 * pl.col("close").rolling_std(20, ddof=0)).alias(
            "bb_upper"
        ),
        (pl.col("close").rolling_mean(20) - 2 * pl.col("close").rolling_std(20, ddof=0)).alias(
            "bb_lower"
        ),
        pl.col("close").rolling_mean(20).alias("bb_middle"),
    )


def reference_crossovers(
    closes: list[float], fast: int = 5, slow: int = 20
) -> list[tuple[int, str]]:
    """(bar index, BUY/SELL) where the sign of SMA(fast) - SMA(slow) flips; zeros keep the side."""
    diff = (pl.Series(closes).rolling_mean(fast) - pl.Series(closes).rolling_mean(slow)).to_list()
    out, side = [], 0
    for i, d in enumerate(diff):
        if d is None or d == 0:
            continue
        new = 1 if d > 0 else -1
        if side and new != side:
            out.append((i, "BUY" if new > 0 else "SELL"))
        side = new
    return out


def exact_sides(
    closes: list[Decimal],
    *,
    fast: int = 5,
    slow: int = 20,
    hysteresis: Fraction = Fraction(0),
    cooldown: int = 0,
) -> tuple[list[str | None], list[tuple[int, str]]]:
    """The side after every bar and the alerts, from scratch at each bar with fractions:
    above when fast > slow (1 + h), below when fast < slow (1 - h), else unchanged; an alert
    when the side flips, unless fewer than `cooldown` bars since the last alert."""
    sides: list[str | None] = []
    alerts: list[tuple[int, str]] = []
    side: str | None = None
    last_alert: int | None = None
    for i in range(len(closes)):
        if i + 1 >= slow:
            f = sum(Fraction(c) for c in closes[i + 1 - fast : i + 1]) / fast
            s = sum(Fraction(c) for c in closes[i + 1 - slow : i + 1]) / slow
            if f > s * (1 + hysteresis):
                new: str | None = "above"
            elif f < s * (1 - hysteresis):
                new = "below"
            else:
                new = side
            cooled = last_alert is None or i - last_alert >= cooldown
            if side is not None and new != side and cooled:
                alerts.append((i, "BUY" if new == "above" else "SELL"))
                last_alert = i
            side = new
        sides.append(side)
    return sides, alerts


def closed_bars(
    arrivals: list[tuple[int, Decimal]], *, bar_ms: int, lateness_ms: int
) -> tuple[list[tuple[int, Decimal]], int]:
    """(bar start, close) of every bar in the order bars close, and the late count, for ticks
    (event time, price) in arrival order, recomputed from the whole history at each arrival:
    the watermark is the greatest event time so far minus the lateness; a bar closes once its
    end is at or before the watermark; a tick before the end of a closed bar is late."""
    accepted: list[tuple[int, Decimal]] = []
    closed: list[int] = []
    late = 0
    for time_ms, price in arrivals:
        if closed and time_ms < max(closed) + bar_ms:
            late += 1
            continue
        accepted.append((time_ms, price))
        watermark = max(t for t, _ in accepted) - lateness_ms
        starts = sorted({t // bar_ms * bar_ms for t, _ in accepted} - set(closed))
        closed += [s for s in starts if s + bar_ms <= watermark]
    result = []
    for start in closed:
        in_bar = [(t, p) for t, p in accepted if start <= t < start + bar_ms]
        result.append((start, max(in_bar, key=lambda tp: tp[0])[1]))
    return result, late
