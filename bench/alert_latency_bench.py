"""Put of the bar-closing tick -> alert on the SQS subscription, default settings.

    .venv/bin/python -m bench.alert_latency_bench [--symbols 10] [--bars 60] [--rate 20]
                                                  [--mode local|kcl]

The local stack on the emulator: the consumer (local driver in a thread, or one real KCL
worker process), the trend handler on the ticks table's stream (`stockpipe trend`'s
StreamEventSource), the SNS topic's SQS subscription. Each symbol follows a sine of period
24 bars (SMA-5 and SMA-20 cross about every 12 bars); 3 ticks per 1-minute bar in event
time (hours ago), put in event-time order at `--rate` ticks/s in real time.

A bar closes when the symbol's watermark (latest event time - allowed lateness) passes its
end, so the tick that fires the alert for bar B is the symbol's first tick with event time
>= B end + lateness (docs/trend.md, timing model). Latency = the alert's receipt on SQS (long
poll) - that tick's PutRecords returned. Also reported: the out-of-order seen on the ticks
table's stream (per symbol, how far each tick's event time is behind the latest one before it).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench.consumer_bench import percentiles, save, start_kcl_worker
from bench.producer_bench import machine
from common import aws, tables
from common.settings import Settings
from common.tick import Tick, make_tick
from consumer.app import processor_factory
from consumer.local_driver import driver_for
from stockpipe import alerts_feed, emulator, stack
from stockpipe.provision import provision
from stockpipe.trend_local import trend_event_source


def series(symbols: int, bars: int, start_ms: int) -> list[Tick]:
    ticks = []
    for bar in range(bars):
        for offset in (5_000, 30_000, 55_000):
            for s in range(symbols):
                close = 100 + 10 * math.sin(2 * math.pi * (bar + s) / 24)
                price = round(close * (1 + (offset - 55_000) / 5_000_000), 4)
                ticks.append(
                    make_tick(f"SYM{s}", start_ms + bar * 60_000 + offset, price, 100, "bench")
                )
    return ticks


def put_in_order(ticks: list[Tick], rate: float, stream: str) -> dict[str, float]:
    kinesis = aws.client("kinesis")
    put_at: dict[str, float] = {}
    started = time.monotonic()
    for i, tick in enumerate(ticks):
        time.sleep(max(0.0, started + i / rate - time.monotonic()))
        kinesis.put_record(StreamName=stream, Data=tick.encode(), PartitionKey=tick.symbol)
        put_at[tick.id] = time.time()
    return put_at


def out_of_order(settings: Settings) -> dict[str, float]:
    """Per symbol, in stream order: how far behind the latest event time each tick arrived."""
    dynamodb, streams = aws.client("dynamodb"), aws.client("dynamodbstreams")
    arn = dynamodb.describe_table(TableName=settings.ticks_table)["Table"]["LatestStreamArn"]
    latest: dict[str, int] = {}
    behind: list[int] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator)
            for record in page["Records"]:
                image = record["dynamodb"].get("NewImage", {})
                tick = tables.decode_tick_item(image) if record["eventName"] == "INSERT" else None
                if tick is None:
                    continue
                symbol, event = tick.symbol, tick.event_time_ms
                behind.append(max(0, latest.get(symbol, event) - event))
                latest[symbol] = max(latest.get(symbol, event), event)
            iterator = page.get("NextShardIterator") if page["Records"] else None
    late = sorted(b for b in behind if b > 0)
    return {"ticks": len(behind), "out_of_order": len(late), "max_behind_ms": max(late, default=0)}


def run(settings: Settings, args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    resources = provision(settings)
    sqs = aws.client("sqs")
    alerts_feed.drain(sqs, resources.alerts_queue_url)
    stop = threading.Event()
    worker: subprocess.Popen[bytes] | None = None
    threads = [threading.Thread(target=trend_event_source(settings).run, args=(stop,))]
    if args.mode == "local":
        driver = driver_for(settings, processor_factory(settings))
        threads.append(threading.Thread(target=driver.run, args=(stop,)))
    else:
        worker = start_kcl_worker(settings, logs / "alert-kcl-worker.log")
    received: list[tuple[Any, float]] = []

    def listen() -> None:
        while not stop.is_set():
            batch = alerts_feed.receive(sqs, resources.alerts_queue_url, wait_s=1)
            now = time.time()
            received.extend((a, now) for a in batch)

    threads.append(threading.Thread(target=listen))
    for thread in threads:
        thread.start()
    lateness_ms, bar_ms = settings.allowed_lateness_ms, settings.bar_ms
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - now_ms % 60_000 - 6 * 3_600_000
    ticks = series(args.symbols, args.bars, start_ms)
    try:
        warm = [make_tick("WARM", start_ms + i, 1.0, 1, "bench") for i in range(5)]
        put_in_order(warm, 10, settings.stream_name)  # until the consumer is live
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not _in_table(settings, warm[-1]):
            time.sleep(0.5)
        put_at = put_in_order(ticks, args.rate, settings.stream_name)
        time.sleep(10)  # the last alerts
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait()
    by_symbol: dict[str, list[Tick]] = {}
    for tick in ticks:
        by_symbol.setdefault(tick.symbol, []).append(tick)
    lags = []
    for alert, at in received:
        closing = next(
            t
            for t in by_symbol[alert.symbol]
            if t.event_time_ms >= alert.bar_start_ms + bar_ms + lateness_ms
        )
        lags.append(at - put_at[closing.id])
    return {
        "alerts": len(received),
        "distinct_alerts": len({(a.symbol, a.bar_start_ms, a.signal) for a, _ in received}),
        **(percentiles(lags) if lags else {}),
        "order": out_of_order(settings),
    }


def _in_table(settings: Settings, tick: Tick) -> bool:
    item = aws.client("dynamodb").get_item(
        TableName=settings.ticks_table,
        Key={
            tables.PARTITION_KEY: {"S": tick.symbol},
            tables.SORT_KEY: {"S": tables.tick_sort_key(tick.event_time_ms, tick.id)},
        },
    )
    return "Item" in item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--bars", type=int, default=60)
    parser.add_argument("--rate", type=float, default=20.0, help="ticks/s put in real time")
    parser.add_argument("--mode", choices=["local", "kcl"], default="local")
    args = parser.parse_args()
    logs = Path("bench/results")
    logs.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"machine": machine(), "load_before": os.getloadavg(), **vars(args)}
    with emulator.Emulator() as emu:
        stack.use_endpoint(emu.endpoint)
        result["latency"] = run(Settings(), args, logs)
    result["load_after"] = os.getloadavg()
    save(f"alert-latency-{args.mode}", result)


if __name__ == "__main__":
    main()
