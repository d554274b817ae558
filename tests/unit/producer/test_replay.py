"""Replay reads yfinance download output (as pandas writes it) and plain tick CSVs."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from producer.sources.replay import ReplayFormatError, ReplaySource

T0 = 1_763_735_400_000  # 2025-11-21 09:30 America/New_York in epoch ms


def yfinance_frame(tickers: list[str], periods: int = 3) -> pd.DataFrame:
    """Shaped like `yf.download(tickers, interval="1m")`: (Price, Ticker) column levels."""
    index = pd.DatetimeIndex(
        pd.date_range("2025-11-21 09:30", periods=periods, freq="1min", tz="America/New_York"),
        name="Datetime",
    )
    fields = ["Adj Close", "Close", "High", "Low", "Open", "Volume"]
    columns = pd.MultiIndex.from_product([fields, tickers], names=["Price", "Ticker"])
    values = np.arange(periods * len(columns), dtype=float).reshape(periods, len(columns)) + 100
    return pd.DataFrame(values, index=index, columns=columns)


def quotes(source: ReplaySource) -> list[tuple[object, ...]]:
    return [tuple(q) for q in source.quotes(threading.Event())]


def test_multi_ticker_csv_gives_close_and_volume_per_ticker_in_time_order(tmp_path: Path) -> None:
    frame = yfinance_frame(["AAPL", "MSFT"])
    path = tmp_path / "download.csv"
    frame.to_csv(path)
    result = quotes(ReplaySource(path))
    assert len(result) == 6
    assert [q[1] for q in result] == [T0, T0, T0 + 60_000, T0 + 60_000, T0 + 120_000, T0 + 120_000]
    aapl = [q for q in result if q[0] == "AAPL"]
    assert [q[2] for q in aapl] == list(frame[("Close", "AAPL")])
    assert [q[3] for q in aapl] == [int(v) for v in frame[("Volume", "AAPL")]]


def test_multi_ticker_parquet_matches_the_csv(tmp_path: Path) -> None:
    frame = yfinance_frame(["AAPL", "MSFT"])
    frame.to_csv(tmp_path / "d.csv")
    frame.to_parquet(tmp_path / "d.parquet")
    assert quotes(ReplaySource(tmp_path / "d.parquet")) == quotes(ReplaySource(tmp_path / "d.csv"))


def test_single_ticker_flat_csv_takes_the_symbol_from_the_option(tmp_path: Path) -> None:
    flat = yfinance_frame(["AAPL"]).xs("AAPL", axis=1, level=1)
    flat.to_csv(tmp_path / "aapl.csv")
    result = quotes(ReplaySource(tmp_path / "aapl.csv", symbol="aapl"))
    assert {q[0] for q in result} == {"AAPL"} and len(result) == 3


def test_daily_bars_without_time_mean_midnight_utc(tmp_path: Path) -> None:
    path = tmp_path / "spy.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,472.16,473.67,470.49,472.65,463.2,123623700\n"
    )
    [(symbol, ts, price, volume)] = quotes(ReplaySource(path))
    assert (symbol, ts, price, volume) == ("SPY", 1_704_153_600_000, 472.65, 123_623_700)


def test_plain_tick_csv_with_iso_and_epoch_times(tmp_path: Path) -> None:
    path = tmp_path / "ticks.csv"
    path.write_text(
        "symbol,event_time,price,volume\n"
        "AAPL,2025-11-21T14:30:00Z,229.5,100\n"
        f"MSFT,{T0 + 1},410.25,50\n"
    )
    assert quotes(ReplaySource(path)) == [("AAPL", T0, 229.5, 100), ("MSFT", T0 + 1, 410.25, 50)]


def test_missing_values_pass_through_so_validation_rejects_them(tmp_path: Path) -> None:
    frame = yfinance_frame(["AAPL"])
    frame.iloc[1, :] = np.nan  # yfinance leaves NaN rows for minutes without trades
    frame.to_csv(tmp_path / "gaps.csv")
    result = quotes(ReplaySource(tmp_path / "gaps.csv"))
    assert result[1][2] is None or result[1][2] != result[1][2]


def test_loop_shifts_each_pass_so_ids_stay_unique(tmp_path: Path) -> None:
    yfinance_frame(["AAPL"]).to_csv(tmp_path / "a.csv")
    stream = ReplaySource(tmp_path / "a.csv", loop=True).quotes(threading.Event())
    times = [next(stream)[1] for _ in range(7)]
    assert len(set(times)) == 7 and times[3] > times[2]


def test_speed_paces_by_event_time(tmp_path: Path) -> None:
    # 3 bars 60 s apart at speed 600 take 2 * 0.1 s
    yfinance_frame(["AAPL"]).to_csv(tmp_path / "a.csv")
    started = time.monotonic()
    assert len(quotes(ReplaySource(tmp_path / "a.csv", speed=600))) == 3
    assert 0.18 < time.monotonic() - started < 1.0


def test_unknown_layout_and_missing_file_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(ReplayFormatError, match="neither yfinance download output nor a tick"):
        ReplaySource(tmp_path / "x.csv")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ReplaySource(tmp_path / "missing.csv")
