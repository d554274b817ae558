"""Replay quotes from a file: yfinance download output (CSV or Parquet) or a plain tick CSV.

Formats recognised:
- yfinance `download(...).to_csv()`: a three-line header (`Price,Close,...` / `Ticker,AAPL,...`
  / `Date,,...`) with one column group per ticker; or the older one-line header
  (`Date,Open,High,Low,Close,Adj Close,Volume`) for a single symbol.
- yfinance output saved as Parquet: flat columns, or pandas' flattened multi-index names
  such as `('Close', 'AAPL')`.
- a plain tick CSV with `symbol`, `event_time` (ISO 8601 or epoch ms) or `event_time_ms`,
  `price`, `volume`.

Bars become one quote each: the close price at the bar's time, with the bar's volume.
A date without a time means midnight UTC.
"""

from __future__ import annotations

import ast
import csv
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from producer.sources.base import RawQuote, as_volume

_TIME_COLUMNS = ("Datetime", "Date", "datetime", "date", "timestamp", "event_time")


class ReplayFormatError(ValueError):
    """The file is in none of the formats the replay source reads."""


class ReplaySource:
    """Quotes from a file in event-time order, paced by `speed` (0 = as fast as possible)."""

    name = "replay"

    def __init__(
        self,
        path: str | Path,
        *,
        speed: float = 0.0,
        loop: bool = False,
        symbol: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.speed = speed
        self.loop = loop
        self.rows = load_quotes(self.path, symbol=symbol)

    def quotes(self, stop: threading.Event) -> Iterator[RawQuote]:
        rows = self.rows
        times = [r[1] for r in rows if isinstance(r[1], int)]
        if not times:
            yield from (RawQuote(s, t, p, as_volume(v)) for s, t, p, v in rows)
            return
        first, span = min(times), max(times) - min(times) + 1000
        offset = 0
        while True:
            started = time.monotonic()
            for symbol, ts, price, volume in rows:
                if stop.is_set():
                    return
                if self.speed > 0 and isinstance(ts, int):
                    delay = started + (ts - first) / 1000 / self.speed - time.monotonic()
                    if delay > 0 and stop.wait(delay):
                        return
                shifted = ts + offset if isinstance(ts, int) else ts
                yield RawQuote(symbol, shifted, price, as_volume(volume))
            if not self.loop:
                return
            offset += span  # each pass is a new stretch of time, so ticks get new ids


Row = tuple[Any, Any, Any, Any]


def load_quotes(path: Path, *, symbol: str | None = None) -> list[Row]:
    """Read any supported file into (symbol, event_time_ms, price, volume) rows by time."""
    if not path.exists():
        raise FileNotFoundError(f"replay file {path} does not exist")
    default_symbol = (symbol or path.stem.split(".")[0]).upper()
    if path.suffix.lower() == ".parquet":
        rows = _from_wide(pl.read_parquet(path), default_symbol)
    else:
        rows = _read_csv(path, default_symbol)
    return sorted(rows, key=lambda r: (0, r[1]) if isinstance(r[1], int) else (1, 0))


def _read_csv(path: Path, default_symbol: str) -> list[Row]:
    with path.open(newline="") as f:
        header = [row for _, row in zip(range(3), csv.reader(f), strict=False)]
    if not header:
        raise ReplayFormatError(f"{path} is empty")
    first = [c.strip() for c in header[0]]
    if first[0] == "Price" and len(header) >= 3 and header[1][:1] == ["Ticker"]:
        return _read_yfinance_multiheader(path, header)
    lowered = [c.lower() for c in first]
    if "symbol" in lowered and "price" in lowered:
        return _from_tick_csv(pl.read_csv(path, infer_schema=False))
    if any(c in first for c in _TIME_COLUMNS) and "Close" in first:
        return _from_wide(pl.read_csv(path, infer_schema=False), default_symbol)
    raise ReplayFormatError(
        f"{path}: header {first[:6]} is neither yfinance download output nor a tick CSV "
        "(symbol,event_time,price,volume)"
    )


def _read_yfinance_multiheader(path: Path, header: list[list[str]]) -> list[Row]:
    fields, tickers = header[0], header[1]
    names = [header[2][0] or "Date"] + [
        f"{f}|{t}" for f, t in zip(fields[1:], tickers[1:], strict=True)
    ]
    raw = pl.read_csv(path, skip_rows=3, has_header=False, new_columns=names, infer_schema=False)
    return _long_from_pairs(raw, names[0], [_split_pair(n) for n in names[1:]], names[1:])


def _split_pair(name: str) -> tuple[str, str]:
    field, ticker = name.split("|", 1)
    return field, ticker


def _from_wide(frame: pl.DataFrame, default_symbol: str) -> list[Row]:
    time_col = next((c for c in frame.columns if c in _TIME_COLUMNS), None)
    tuple_cols = {c: _parse_tuple_name(c) for c in frame.columns}
    pairs = {c: t for c, t in tuple_cols.items() if t is not None}
    if pairs:
        time_col = time_col or next((c for c, t in pairs.items() if t[0] in _TIME_COLUMNS), None)
        if time_col is None:
            raise ReplayFormatError("yfinance Parquet without a Date/Datetime column")
        cols = [c for c, t in pairs.items() if t[0] not in _TIME_COLUMNS]
        return _long_from_pairs(frame, time_col, [pairs[c] for c in cols], cols)
    if time_col is None or "Close" not in frame.columns:
        raise ReplayFormatError(f"columns {frame.columns[:8]} have no Date/Datetime and Close")
    sym = pl.col("Ticker").cast(pl.String) if "Ticker" in frame.columns else pl.lit(default_symbol)
    volume = pl.col("Volume") if "Volume" in frame.columns else pl.lit(0)
    return _normalise(
        frame.select(
            sym.alias("symbol"),
            pl.col(time_col).alias("t"),
            pl.col("Close").alias("price"),
            volume.alias("volume"),
        )
    )


def _long_from_pairs(
    frame: pl.DataFrame, time_col: str, pairs: list[tuple[str, str]], columns: list[str]
) -> list[Row]:
    """Wide (field, ticker) columns to one row per ticker per bar."""
    tickers = sorted({t for _, t in pairs})
    parts = []
    for ticker in tickers:
        by_field = {f: c for (f, t), c in zip(pairs, columns, strict=True) if t == ticker}
        if "Close" not in by_field:
            continue
        volume = pl.col(by_field["Volume"]) if "Volume" in by_field else pl.lit(0)
        parts.append(
            frame.select(
                pl.lit(ticker).alias("symbol"),
                pl.col(time_col).alias("t"),
                pl.col(by_field["Close"]).alias("price"),
                volume.alias("volume"),
            )
        )
    if not parts:
        raise ReplayFormatError("no Close column found for any ticker")
    return _normalise(pl.concat(parts, how="vertical_relaxed"))


def _from_tick_csv(frame: pl.DataFrame) -> list[Row]:
    lower = {c.lower(): c for c in frame.columns}
    time_col = lower.get("event_time_ms") or lower.get("event_time") or lower.get("timestamp")
    if time_col is None or "volume" not in lower:
        raise ReplayFormatError(
            "tick CSV needs symbol, event_time (or event_time_ms), price, volume"
        )
    return _normalise(
        frame.select(
            pl.col(lower["symbol"]).alias("symbol"),
            pl.col(time_col).alias("t"),
            pl.col(lower["price"]).alias("price"),
            pl.col(lower["volume"]).alias("volume"),
        )
    )


def _normalise(frame: pl.DataFrame) -> list[Row]:
    """Values stay as found where they do not parse, so validation can reject them by rule."""
    return [
        (symbol, _to_epoch_ms(t), _to_number(price), _to_number(volume))
        for symbol, t, price, volume in zip(
            frame["symbol"].cast(pl.String).to_list(),
            frame["t"].to_list(),
            frame["price"].to_list(),
            frame["volume"].to_list(),
            strict=True,
        )
    ]


def _parse_tuple_name(name: str) -> tuple[str, str] | None:
    if not (name.startswith("(") and name.endswith(")")):
        return None
    try:
        value = ast.literal_eval(name)
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return (value[0], value[1])
    return None


def _to_epoch_ms(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return value
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    return value


def _to_number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value) if value.strip() else None
        except ValueError:
            return value
    return value
