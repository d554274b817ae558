"""History queries over Parquet the consumer's own code wrote, checked against polars."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import urllib.request
from typing import Any

import polars as pl
import pytest

from common import aws
from common.settings import Settings
from common.tick import make_tick
from consumer.app import make_sink
from consumer.batch import InRecord, PriceMemory, build_batch
from stockpipe import inventory
from stockpipe.history.athena import AthenaQueryFailed
from stockpipe.history.service import HistoryQueries, render_query
from stockpipe.provision import Resources

DAYS = ["2025-11-19", "2025-11-20", "2025-11-21"]
SYMBOLS = ("AAPL", "MSFT", "NVDA")


@pytest.fixture
def history(settings: Settings, resources: Resources) -> pl.DataFrame:
    """Three days of ticks for three symbols, 13:30-21:30 UTC, with silent minutes."""
    rng = random.Random(3)
    records: list[InRecord] = []
    for day in DAYS:
        start = (
            int(pl.Series([day]).str.to_datetime("%Y-%m-%d", time_zone="UTC").dt.epoch("ms")[0])
            + 13 * 3_600_000
            + 1_800_000
        )
        for symbol in SYMBOLS:
            price = rng.uniform(50, 500)
            t = start
            while t < start + 8 * 3_600_000:
                t += rng.choice([7_000, 13_000, 29_000, 61_000, 180_000])
                price *= 1 + rng.gauss(0, 0.002)
                tick = make_tick(symbol, t, round(price, 2), rng.randint(1, 900), "replay")
                records.append(
                    InRecord(tick.encode(), str(10**20 + len(records)), 0, t + 100, symbol)
                )
    sink = make_sink(settings)
    records.append(
        InRecord(b"{broken", str(10**20 + len(records)), 0, 1_763_553_600_000, "X")
    )  # 2025-11-19T12:00Z
    for i in range(0, len(records), 700):  # flushes, as the consumer makes them
        sink.write(build_batch(records[i : i + 700], "shardId-000000000000", PriceMemory()))
    frame = inventory.parquet_frame(aws.client("s3"), settings.bucket)
    return frame.with_columns(pl.col("event_time").dt.strftime("%Y-%m-%d").alias("dt"))


def run(
    settings: Settings,
    name: str,
    symbol: str | None = "AAPL",
    start: str = DAYS[0],
    end: str = DAYS[-1],
) -> tuple[pl.DataFrame, Any]:
    result = HistoryQueries(settings).run(
        render_query(name, symbol=symbol, start=start, end=end), local=True
    )
    return pl.DataFrame(result.rows, schema=result.columns, orient="row"), result


def ordered(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort("symbol", "event_time_ms")


def test_daily_ohlc_equals_polars(settings: Settings, history: pl.DataFrame) -> None:
    got, _ = run(settings, "daily-ohlc")
    want = (
        ordered(history)
        .filter(pl.col("symbol") == "AAPL")
        .group_by("symbol", "dt")
        .agg(
            pl.col("price").first().alias("open"),
            pl.col("price").max().alias("high"),
            pl.col("price").min().alias("low"),
            pl.col("price").last().alias("close"),
            pl.col("volume").sum().alias("volume"),
            pl.len().alias("ticks"),
        )
        .sort("dt")
    )
    assert got["day"].to_list() == want["dt"].to_list() == DAYS
    for column in ("open", "high", "low", "close", "volume", "ticks"):
        assert got[column].to_list() == want[column].to_list(), column


def test_vwap_equals_polars(settings: Settings, history: pl.DataFrame) -> None:
    got, _ = run(settings, "vwap", symbol=None)
    want = (
        history.group_by("symbol", "dt")
        .agg(((pl.col("price") * pl.col("volume")).sum() / pl.col("volume").sum()).alias("vwap"))
        .sort("symbol", "dt")
    )
    assert got["vwap"].to_list() == pytest.approx(want["vwap"].to_list(), rel=1e-12)


def test_sma_crossovers_equal_polars(settings: Settings, history: pl.DataFrame) -> None:
    got, _ = run(settings, "sma-crossovers", symbol="MSFT")
    bars = (
        ordered(history)
        .filter(pl.col("symbol") == "MSFT")
        .group_by(pl.col("event_time").dt.truncate("1m").alias("minute"))
        .agg(pl.col("price").last().alias("close"))
        .sort("minute")
    )
    bars = bars.with_columns(
        pl.col("close").rolling_mean(5).alias("sma_5"),
        pl.col("close").rolling_mean(20).alias("sma_20"),
    ).with_columns((pl.col("sma_5") - pl.col("sma_20")).sign().alias("side"))
    bars = bars.with_columns(pl.col("side").shift(1).alias("prev")).with_columns(
        pl.when((pl.col("prev") == -1) & (pl.col("side") == 1))
        .then(pl.lit("BUY"))
        .when((pl.col("prev") == 1) & (pl.col("side") == -1))
        .then(pl.lit("SELL"))
        .alias("crossover")
    )
    assert got.height == bars.height > 300
    assert got["close"].to_list() == bars["close"].to_list()
    assert got["sma_20"].to_list() == pytest.approx(bars["sma_20"].to_list(), nan_ok=True)
    assert got["crossover"].to_list() == bars["crossover"].to_list()
    assert got["crossover"].drop_nulls().len() >= 2


def test_top_movers_equal_polars(settings: Settings, history: pl.DataFrame) -> None:
    got, _ = run(settings, "top-movers", symbol=None)
    want = (
        ordered(history)
        .group_by("symbol")
        .agg(
            ((pl.col("price").last() / pl.col("price").first() - 1) * 100)
            .round(3)
            .alias("change_pct")
        )
        .sort("change_pct", descending=True)
    )
    assert got["symbol"].to_list() == want["symbol"].to_list()
    assert got["change_pct"].to_list() == pytest.approx(want["change_pct"].to_list())


def test_gaps_equal_polars(settings: Settings, history: pl.DataFrame) -> None:
    got, _ = run(settings, "gaps", symbol="NVDA")
    local = history.filter(pl.col("symbol") == "NVDA").with_columns(
        pl.col("event_time").dt.convert_time_zone("America/New_York").alias("local")
    )
    minutes = local.with_columns(
        (pl.col("local").dt.hour().cast(pl.Int32) * 60 + pl.col("local").dt.minute()).alias(
            "minute"
        )
    ).filter(pl.col("minute").is_between(570, 959))
    want = minutes.group_by("dt").agg(pl.col("minute").n_unique().alias("with")).sort("dt")
    assert got["minutes_with_ticks"].to_list() == want["with"].to_list()
    assert got["missing_minutes"].to_list() == [390 - n for n in want["with"].to_list()]
    assert all(0 < m < 390 for m in got["missing_minutes"].to_list())


def test_dead_letters_by_reason(settings: Settings, history: pl.DataFrame) -> None:
    result = HistoryQueries(settings).run(
        render_query("dead-letters", symbol=None, start="2025-11-19", end="2025-11-19"), local=True
    )
    assert [(r[0], r[1]) for r in result.rows] == [("not_json", 1)]


def test_partition_pruning_reads_fewer_files_for_the_same_answer(
    settings: Settings, history: pl.DataFrame
) -> None:
    _, everything = run(settings, "daily-ohlc", start=DAYS[0], end=DAYS[-1])
    one_day, pruned = run(settings, "daily-ohlc", start=DAYS[1], end=DAYS[1])
    files = sum(1 for k in inventory.keys(aws.client("s3"), settings.bucket, "ticks/"))
    assert everything.files_read == files
    assert 0 < pruned.files_read < everything.files_read
    assert pruned.bytes_read < everything.bytes_read
    assert one_day.row(0) == next(r for r in everything.rows if r[1] == DAYS[1])


def test_cli_query_json_matches_the_engine(settings: Settings, history: pl.DataFrame) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stockpipe",
            "query",
            "daily-ohlc",
            "--symbol",
            "aapl",
            "--from",
            DAYS[0],
            "--to",
            DAYS[-1],
            "--format",
            "json",
        ],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    got, _ = run(settings, "daily-ohlc")
    assert [r["close"] for r in rows] == got["close"].to_list()
    assert "3 row(s)" in result.stderr and "file(s)" in result.stderr


def seed_athena_results(endpoint: str, rows: list[list[str]]) -> None:
    body = {
        "results": [
            {
                "rows": [{"Data": [{"VarCharValue": v} for v in row]} for row in rows],
                "column_info": [{"Name": n, "Type": "varchar"} for n in rows[0]],
            }
        ]
    }
    request = urllib.request.Request(
        f"{endpoint}/moto-api/static/athena/query-results",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def test_athena_path_against_the_emulator(
    settings: Settings, resources: Resources, aws_env: str
) -> None:
    # the emulator runs no SQL: it serves seeded rows, and walks the execution's states
    seed_athena_results(aws_env, [["symbol", "close"], ["AAPL", "229.87"], ["MSFT", "410.5"]])
    queries = HistoryQueries(settings)
    result = queries.run("SELECT symbol, close FROM ticks LIMIT 2", local=False)
    assert result.columns == ["symbol", "close"]
    assert result.rows == [("AAPL", "229.87"), ("MSFT", "410.5")]
    athena = aws.client("athena")
    [execution_id] = athena.list_query_executions(WorkGroup="stockpipe")["QueryExecutionIds"]
    execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
    assert execution["Query"] == "SELECT symbol, close FROM ticks LIMIT 2"
    assert execution["QueryExecutionContext"]["Database"] == "stockpipe"


def test_athena_errors_are_reported(settings: Settings, resources: Resources) -> None:
    bad = settings.model_copy(update={"athena_workgroup": "no-such-workgroup"})
    with pytest.raises(AthenaQueryFailed):
        HistoryQueries(bad).run("SELECT 1", local=False)
