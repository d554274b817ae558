"""Consumer benchmark: core throughput without the network, and put-to-DynamoDB latency.

    .venv/bin/python -m bench.consumer_bench [--ticks 100000] [--rate 200] [--seconds 15]
                                             [--skip-kcl]

Part 1 (one core, no network): decode + validate + de-duplicate + transform (polars),
Parquet encoding (zstd), DynamoDB item building, in flush-sized chunks.
Part 2 (emulator over HTTP, default settings: the hot path writes DynamoDB per GetRecords
batch): ticks are put at a steady rate in small PutRecords calls; latency = the item's
DynamoDB stream record time (ms, stamped by the emulator at write) - put returned. Run once
with the local driver, once with one real KCL MultiLangDaemon worker.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.producer_bench import SYMBOLS, machine
from common import aws
from common.settings import Settings
from common.tick import Tick, make_tick
from consumer import encode
from consumer.app import processor_factory
from consumer.batch import InRecord, PriceMemory, build_batch
from consumer.local_driver import driver_for
from producer.sources.synthetic import SyntheticSource
from stockpipe import emulator, stack
from stockpipe.provision import provision


def synthetic_ticks(n: int, seed: int, start_ms: int) -> list[Tick]:
    source = SyntheticSource(SYMBOLS, seed=seed, start_ms=start_ms, step_ms=100, limit=n)
    return [make_tick(*q, source="synthetic") for q in source.quotes(threading.Event())]


def core(n: int, chunk: int = 5000) -> dict[str, float]:
    now = time.time()
    ticks = synthetic_ticks(n, 3, int(now * 1000) - 86_400_000)
    records = [
        InRecord(t.encode(), str(10**20 + i), 0, t.event_time_ms + 100, t.symbol)
        for i, t in enumerate(ticks)
    ]
    memory = PriceMemory()
    spent = {"transform": 0.0, "parquet": 0.0, "dynamodb_items": 0.0}
    parquet_bytes = 0
    for start in range(0, n, chunk):
        t0 = time.perf_counter()
        batch = build_batch(records[start : start + chunk], "shardId-000000000000", memory)
        t1 = time.perf_counter()
        parquet_bytes += sum(len(o.body) for o in encode.parquet_objects(batch)[0])
        t2 = time.perf_counter()
        encode.dynamodb_items(batch, ttl_days=7)
        t3 = time.perf_counter()
        spent["transform"] += t1 - t0
        spent["parquet"] += t2 - t1
        spent["dynamodb_items"] += t3 - t2
    result = {f"{stage}_per_s": n / seconds for stage, seconds in spent.items()}
    result["all_stages_per_s"] = n / sum(spent.values())
    result["parquet_bytes_per_tick"] = parquet_bytes / n
    result["json_bytes_per_tick"] = sum(len(r.data) for r in records) / n
    return result


class StreamWatcher:
    """Reads the ticks table's DynamoDB stream: when each tick id was written (the emulator
    stamps stream records with millisecond precision at write time)."""

    def __init__(self, stream_arn: str) -> None:
        self._streams = aws.client("dynamodbstreams")
        self._arn = stream_arn
        self._iterators: dict[str, str | None] = {}
        self.written: dict[str, float] = {}

    def poll(self) -> None:
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        for shard in shards:
            if shard["ShardId"] not in self._iterators:
                self._iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                    StreamArn=self._arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
        for shard_id, iterator in self._iterators.items():
            if iterator is None:
                continue
            page = self._streams.get_records(ShardIterator=iterator)
            for record in page["Records"]:
                image = record["dynamodb"].get("NewImage", {})
                if record["eventName"] == "INSERT" and "id" in image:
                    stamp = record["dynamodb"]["ApproximateCreationDateTime"].timestamp()
                    self.written.setdefault(image["id"]["S"], stamp)
            self._iterators[shard_id] = page.get("NextShardIterator")

    def wait_for(self, ids: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if all(i in self.written for i in ids):
                return
            time.sleep(0.5)


def put_steadily(ticks: list[Tick], rate: float, stream: str) -> dict[str, float]:
    """Small PutRecords calls at `rate` ticks/s; returns id -> wall time the put returned."""
    kinesis = aws.client("kinesis")
    per_call = max(1, int(rate / 10))
    put_at: dict[str, float] = {}
    started = time.monotonic()
    for i in range(0, len(ticks), per_call):
        due = started + i / rate
        time.sleep(max(0.0, due - time.monotonic()))
        calls = ticks[i : i + per_call]
        kinesis.put_records(
            StreamName=stream,
            Records=[{"Data": t.encode(), "PartitionKey": t.symbol} for t in calls],
        )
        now = time.time()
        put_at.update({t.id: now for t in calls})
    return put_at


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99), "n": len(ordered)}


def start_kcl_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """One real KCL worker (`python -m consumer`) with these settings; stop it by its group."""
    env = {**os.environ, **settings.to_env(), "STOCKPIPE_KCL_SHARD_SYNC_MS": "2000"}
    return subprocess.Popen(
        [sys.executable, "-m", "consumer"],
        env=env,
        stderr=log.open("wb"),
        start_new_session=True,
    )


def save(name: str, results: dict[str, Any]) -> None:
    """Print the results and keep them in bench/results/<name>.json."""
    print(json.dumps(results, indent=2, default=lambda v: round(v, 2)))
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, indent=2))


def latency(
    mode: str,
    settings: Settings,
    rate: float,
    seconds: float,
    seed: int,
    logs: Path,
    start_worker: Callable[[Settings, Path], subprocess.Popen[bytes]] = start_kcl_worker,
) -> dict[str, float]:
    resources = provision(settings)
    warm = synthetic_ticks(20, seed + 100, int(time.time() * 1000) - 7_200_000)
    ticks = synthetic_ticks(int(rate * seconds), seed, int(time.time() * 1000) - 3_600_000)
    watcher = StreamWatcher(resources.ticks_table_stream_arn)
    stop = threading.Event()
    worker: subprocess.Popen[bytes] | None = None
    runner: threading.Thread | None = None
    if mode == "local":
        driver = driver_for(settings, processor_factory(settings))
        runner = threading.Thread(target=driver.run, args=(stop,))
        runner.start()
    else:
        worker = start_worker(settings, logs / f"{mode}-worker.log")
    try:
        put_steadily(warm, 100, settings.stream_name)  # wait until the consumer is live
        watcher.wait_for([t.id for t in warm], 180)
        put_at = put_steadily(ticks, rate, settings.stream_name)
        watcher.wait_for(list(put_at), 60)
    finally:
        stop.set()
        if runner is not None:
            runner.join()  # its history flush, before the emulator goes
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait()
    lags = [watcher.written[i] - put_at[i] for i in put_at if i in watcher.written]
    if not lags:
        raise RuntimeError(f"no tick reached DynamoDB in {mode} mode (see {logs})")
    return {**percentiles(lags), "missing": len(put_at) - len(lags)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=100_000, help="ticks for the core part")
    parser.add_argument("--rate", type=float, default=200, help="ticks/s for the latency part")
    parser.add_argument("--seconds", type=float, default=15, help="duration of each latency run")
    parser.add_argument(
        "--skip-kcl", action="store_true", help="latency with the local driver only"
    )
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": machine(),
        "core_ticks": args.ticks,
        "core": core(args.ticks),
    }
    print(json.dumps(results, indent=2, default=lambda v: round(v, 1)), flush=True)
    logs = Path("bench/results")
    logs.mkdir(parents=True, exist_ok=True)
    with emulator.Emulator() as emu:
        stack.use_endpoint(emu.endpoint)
        results["latency_setup"] = {
            "rate_ticks_per_s": args.rate,
            "seconds": args.seconds,
            "shards": 2,
        }
        modes = ["local"] if args.skip_kcl else ["local", "kcl"]
        for seed, mode in enumerate(modes):
            settings = Settings(
                shard_count=2,
                stream_name=f"bench-{mode}",
                ticks_table=f"bench-{mode}-ticks",
                bucket=f"bench-{mode}",
                consumer_application=f"bench-{mode}-consumer",
            )
            results[f"latency_{mode}"] = latency(
                mode, settings, args.rate, args.seconds, seed, logs
            )
            print(mode, results[f"latency_{mode}"], flush=True)
    print(json.dumps(results, indent=2, default=lambda v: round(v, 1)))
    (logs / "consumer.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
