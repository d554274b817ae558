"""A day's 1-minute OHLC of one symbol from the Parquet history, through `stockpipe query`'s
engines (DuckDB on the local stack, Athena on AWS) and its validated named query."""

from __future__ import annotations

from typing import Any

from common.settings import Settings
from stockpipe.history.service import HistoryQueries, render_query


class NoHistory(LookupError):
    """The day has no ticks of the symbol."""


def day_bars(settings: Settings, symbol: str, day: str, *, local: bool) -> dict[str, Any]:
    """Candles (chart time in seconds) and the day's open, high, low, close, volume."""
    sql = render_query("minute-bars", symbol=symbol, start=day, end=day)
    result = HistoryQueries(settings).run(sql, local=local)
    rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    if not rows:
        raise NoHistory(f"no history for {symbol.upper()} on {day}")
    bars = [
        {
            "time": int(row["minute"].timestamp()),
            **{k: float(row[k]) for k in ("open", "high", "low", "close")},
            "volume": int(row["volume"]),
        }
        for row in rows
    ]
    day_ohlc = {
        "open": bars[0]["open"],
        "high": max(b["high"] for b in bars),
        "low": min(b["low"] for b in bars),
        "close": bars[-1]["close"],
        "volume": sum(b["volume"] for b in bars),
    }
    return {"symbol": symbol.upper(), "day": day, "bars": bars, "ohlc": day_ohlc}
