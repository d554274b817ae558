"""History benchmark: bytes a typical query reads, and local query time on millions of rows.

    .venv/bin/python -m bench.history_bench [--rows 2000000] [--days 20] [--symbols 10]
                                            [--object-minutes 0]

Ticks (GBM prices, vectorised with polars) are encoded by the consumer's own Parquet encoder
into the emulator's S3: one object per day per shard (the idealised layout, the default), or
with `--object-minutes 5` one object per shard per 5 minutes of ticks, which is what the
consumer writes when ticks arrive slower than its size bound (16 MiB) fills: its age bound
(5 min) ends every object (bench/history_layout_bench.py measures that at 5 ticks/s).

Bytes: Athena reads only the needed columns of the partitions a query needs; the figure is
the compressed size of those column chunks (from the Parquet footers). The original design
stored one JSON object per record with no partitions: every query reads every object whole.

Time: the local engine (`stockpipe query`), split into reading the files from S3 (pyarrow)
and running the DuckDB SQL.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq

from bench.producer_bench import machine
from common import aws
from common.settings import Settings
from consumer.encode import PARQUET_COLUMNS, encode_parquet
from stockpipe import emulator, stack
from stockpipe.history.local_engine import LocalHistory, s3_filesystem
from stockpipe.history.named import QUERIES
from stockpipe.history.plan import plan
from stockpipe.provision import provision

DAY_MS = 86_400_000
FIRST_DAY_MS = 1_761_955_200_000  # 2025-11-01T00:00Z


def day_frame(
    day: int, symbols: list[str], per_symbol: int, rng: np.random.Generator
) -> pl.DataFrame:
    """One day of ticks for every symbol, 13:30-21:00 UTC, in the consumer's Parquet schema."""
    n = per_symbol * len(symbols)
    symbol = np.repeat(symbols, per_symbol)
    offsets = np.tile(np.sort(rng.choice(27_000_000, per_symbol, replace=False)), len(symbols))
    event_ms = FIRST_DAY_MS + day * DAY_MS + 48_600_000 + offsets
    returns = rng.normal(0, 0.0005, n).reshape(len(symbols), per_symbol).cumsum(axis=1)
    price = np.round(100 * np.exp(returns).ravel(), 2)
    volume = rng.integers(1, 1000, n)
    frame = pl.DataFrame(
        {
            "id": [f"b{day}-{i}" for i in range(n)],
            "symbol": symbol,
            "event_time_ms": event_ms,
            "price": price,
            "volume": volume,
            "source": "synthetic",
            "change": np.concatenate([[np.nan], np.diff(price)]),
            "sequence_number": [str(10**20 + i) for i in range(n)],
            "arrival_ms": event_ms + 150,
        }
    )
    return frame.with_columns(
        pl.from_epoch("event_time_ms", time_unit="ms")
        .cast(pl.Datetime("ms"))
        .dt.replace_time_zone("UTC")
        .alias("event_time"),
        (pl.col("change") / pl.col("price") * 100).alias("change_pct"),
        pl.lit(150, pl.Int64).alias("ingest_lag_ms"),
    )


def objects_of(part: pl.DataFrame, minutes: int) -> list[pl.DataFrame]:
    """A shard's day as one object, or as one object per `minutes` of event time."""
    if not minutes:
        return [part]
    window = pl.col("event_time_ms") // (minutes * 60_000)
    return part.with_columns(window.alias("_w")).partition_by(
        "_w", include_key=False, maintain_order=True
    )


def json_bytes_per_tick(frame: pl.DataFrame) -> float:
    """The tick as the original design stored it: one JSON object per record."""
    sample = frame.head(1000).select("id", "symbol", "event_time_ms", "price", "volume", "source")
    return sum(len(json.dumps(r, separators=(",", ":"))) for r in sample.to_dicts()) / 1000


def column_bytes(bodies: list[bytes], columns: set[str]) -> int:
    total = 0
    for body in bodies:
        metadata = pq.ParquetFile(io.BytesIO(body)).metadata
        for g in range(metadata.num_row_groups):
            group = metadata.row_group(g)
            for c in range(group.num_columns):
                chunk = group.column(c)
                if chunk.path_in_schema in columns:
                    total += chunk.total_compressed_size
    return total


def time_queries(history: LocalHistory, first: str, last: str) -> dict[str, Any]:
    """Each named query over all days: objects read, read time (S3 via pyarrow), SQL time."""
    timings = {}
    for name, named in QUERIES.items():
        if name == "dead-letters":
            continue
        query_plan = plan(
            named.render(
                symbol=None if name in ("top-movers", "vwap") else "S01", start=first, end=last
            ),
            "stockpipe",
        )
        started = time.perf_counter()
        files = history.files(query_plan, "ticks")
        table = history.load("ticks", files)
        loaded = time.perf_counter()
        connection = duckdb.connect()
        connection.register("ticks", table)
        out = connection.execute(query_plan.duckdb_sql).fetchall()
        done = time.perf_counter()
        timings[name] = {
            "objects_read": len(files),
            "read_s": round(loaded - started, 2),
            "duckdb_s": round(done - loaded, 3),
            "result_rows": len(out),
        }
        print(name, timings[name], flush=True)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument(
        "--object-minutes", type=int, default=0, help="0: one object per shard per day"
    )
    args = parser.parse_args()
    symbols = [f"S{i:02d}" for i in range(args.symbols)]
    per_symbol = args.rows // (args.days * args.symbols)
    rng = np.random.default_rng(5)
    results: dict[str, Any] = {
        "machine": machine(),
        "rows": per_symbol * args.symbols * args.days,
        "days": args.days,
        "symbols": args.symbols,
        "object_minutes": args.object_minutes,
    }
    with emulator.Emulator() as emu:
        stack.use_endpoint(emu.endpoint)
        settings = Settings()
        provision(settings)
        s3 = aws.client("s3")
        bodies: dict[str, list[bytes]] = {}
        json_per_tick = 0.0
        for day in range(args.days):
            frame = day_frame(day, symbols, per_symbol, rng).select(PARQUET_COLUMNS)
            dt = time.strftime("%Y-%m-%d", time.gmtime((FIRST_DAY_MS + day * DAY_MS) / 1000))
            json_per_tick = json_per_tick or json_bytes_per_tick(frame)
            shards = frame.with_columns((pl.col("symbol").rank("dense") % 2).alias("shard"))
            for shard, part in enumerate(shards.partition_by("shard", include_key=False)):
                for piece, rows in enumerate(objects_of(part, args.object_minutes)):
                    body = encode_parquet(rows)
                    s3.put_object(
                        Bucket=settings.bucket,
                        Key=f"ticks/dt={dt}/shardId-{shard:012d}-{day}-{piece:04d}.parquet",
                        Body=body,
                    )
                    bodies.setdefault(dt, []).append(body)
        parquet_total = sum(len(b) for day_bodies in bodies.values() for b in day_bodies)
        rows = results["rows"]
        one_day = sorted(bodies)[len(bodies) // 2]
        needed = {"symbol", "price", "event_time_ms", "volume"}  # daily-ohlc reads these
        results["objects"] = sum(len(day_bodies) for day_bodies in bodies.values())
        results["parquet_bytes_per_tick"] = round(parquet_total / rows, 1)
        results["bytes"] = {
            "json_one_object_per_tick_total": int(json_per_tick * rows),
            "json_objects": rows,
            "parquet_total": parquet_total,
            "daily_ohlc_one_symbol_one_day_parquet_pruned": column_bytes(bodies[one_day], needed),
            "daily_ohlc_one_symbol_all_days_parquet": column_bytes(
                [b for day_bodies in bodies.values() for b in day_bodies], needed
            ),
        }
        history = LocalHistory(s3, settings.bucket, s3_filesystem("us-east-1"))
        days = sorted(bodies)
        results["local_query_times"] = time_queries(history, days[0], days[-1])
    print(json.dumps(results, indent=2))
    out_dir = Path("bench/results")
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"history-{args.object_minutes}min" if args.object_minutes else "history"
    (out_dir / f"{name}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
