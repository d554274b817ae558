"""The history layout the consumer writes at a realistic rate, default settings.

    .venv/bin/python -m bench.history_layout_bench [--minutes 10] [--rate 5] [--shards 2]

On the emulator: the synthetic producer in real time (5 symbols, `--rate` ticks/s in all) and
the consumer (local driver, default settings: history age 5 min, cap 16 MiB) for
`--minutes`, then the consumer stops (its history flushed at shutdown). Reported: Parquet
objects per shard per date, per 5 minutes of run (with and without the one object each
consumer stop adds); bytes per stored tick against the same
rows written as one object per shard per date; rows stored = ticks produced.
"""

from __future__ import annotations

import argparse
import io
import os
import threading
import time
from typing import Any

import polars as pl

from bench.consumer_bench import save
from bench.producer_bench import machine
from common import aws, layout
from common.settings import Settings
from consumer.app import processor_factory
from consumer.encode import PARQUET_COLUMNS, encode_parquet
from consumer.local_driver import driver_for
from producer.publisher import KinesisPublisher
from producer.run import produce
from producer.sources.synthetic import SyntheticSource
from stockpipe import emulator, inventory, stack
from stockpipe.provision import provision

SYMBOLS = ("AAPL", "MSFT", "GOOG", "AMZN", "NVDA")


def run(settings: Settings, minutes: float, rate: float) -> dict[str, Any]:
    provision(settings)
    stop = threading.Event()
    driver = driver_for(settings, processor_factory(settings))
    consumer = threading.Thread(target=driver.run, args=(stop,))
    consumer.start()
    step_ms = int(len(SYMBOLS) / rate * 1000)  # one round of all symbols per step
    limit = int(minutes * 60 * rate)
    source = SyntheticSource(SYMBOLS, seed=3, step_ms=step_ms, realtime=True, limit=limit)
    started = time.monotonic()
    publisher = KinesisPublisher(aws.client("kinesis"), settings.stream_name).start()
    stats = produce(source, publisher)
    time.sleep(2)
    stop.set()
    consumer.join()
    seconds = time.monotonic() - started
    s3 = aws.client("s3")
    groups: dict[tuple[str, str], list[str]] = {}
    for key in inventory.keys(s3, settings.bucket, layout.TICKS_PREFIX):
        _prefix, partition, name = key.split("/")
        groups.setdefault((partition, name.rsplit("-", 2)[0]), []).append(key)
    stored = one_per_date = rows = 0
    ids: set[str] = set()
    for group in groups.values():
        bodies = [s3.get_object(Bucket=settings.bucket, Key=k)["Body"].read() for k in group]
        stored += sum(map(len, bodies))
        frame = pl.concat([pl.read_parquet(io.BytesIO(b)) for b in bodies])
        rows += frame.height
        ids |= set(frame["id"].to_list())
        one_per_date += len(encode_parquet(frame.sort("event_time_ms").select(PARQUET_COLUMNS)))
    most = max((len(g) for g in groups.values()), default=0)
    return {
        "seconds": round(seconds, 1),
        "produced": stats.produced,
        "rows": rows,
        "distinct_ids": len(ids),
        "objects": sum(len(g) for g in groups.values()),
        "objects_per_shard_date": {f"{p} {s}": len(g) for (p, s), g in groups.items()},
        "most_objects_per_shard_date_per_5_min": round(most / (seconds / 300), 2),
        # the last object of each group is the stop's flush, once per consumer run
        "same_without_the_stop_flush": round((most - 1) / (seconds / 300), 2),
        "bytes_per_tick": round(stored / max(1, rows), 1),
        "bytes_per_tick_one_object_per_shard_date": round(one_per_date / max(1, rows), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--shards", type=int, default=2)
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": machine(), "load_before": os.getloadavg(), **vars(args)}
    with emulator.Emulator() as emu:
        stack.use_endpoint(emu.endpoint)
        result["history"] = run(Settings(shard_count=args.shards), args.minutes, args.rate)
    result["load_after"] = os.getloadavg()
    save("history-layout", result)


if __name__ == "__main__":
    main()
