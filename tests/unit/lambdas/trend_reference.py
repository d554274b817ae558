"""Independent reference computations with polars (vectorised), to check the engine."""

from __future__ import annotations

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
