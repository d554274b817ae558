"""KCL worker stop benchmark: records re-delivered after a graceful stop (SIGTERM) vs a SIGKILL,
and the memory of a worker (JVM, launcher, one Python child per shard).

    .venv/bin/python -m bench.kcl_stop_bench [--shards 2] [--rate 100]

One real KCL 3 worker (`python -m consumer`) reads a fresh stream on the emulator while ticks
are put at a steady rate; after a few seconds of flow it is stopped. Re-delivered = records
after the lease table's checkpoint (what the next owner reads again) that the worker had
already written to DynamoDB before it stopped: the duplicates a stop causes. (Records a
SIGKILL loses from the buffer are read again too, but were never written.)
Memory = VmRSS of each process while it runs.
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
from pathlib import Path
from typing import Any

from bench.consumer_bench import put_steadily, synthetic_ticks
from bench.producer_bench import machine
from common import aws
from common.settings import Settings
from stockpipe import emulator, inventory, stack
from stockpipe.provision import provision


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def children(pid: int) -> list[int]:
    """Children of every thread (the JVM starts the shard processes from worker threads)."""
    tasks = Path(f"/proc/{pid}/task").iterdir()
    return [int(c) for t in tasks for c in (t / "children").read_text().split()]


def memory(launcher: int) -> dict[str, Any]:
    (java,) = children(launcher)
    shard_children = children(java)
    return {
        "launcher_mb": rss_mb(launcher),
        "java_mb": rss_mb(java),
        "children_mb": [rss_mb(c) for c in shard_children],
    }


def redelivered(settings: Settings, processed: set[str]) -> dict[str, int]:
    """Per shard: records after the checkpoint that were already processed."""
    kinesis = aws.client("kinesis")
    leases = aws.client("dynamodb").scan(TableName=settings.consumer_application)["Items"]
    counts: dict[str, int] = {}
    for lease in leases:
        shard, checkpoint = lease["leaseKey"]["S"], lease["checkpoint"]["S"]
        position = (
            {"ShardIteratorType": "TRIM_HORIZON"}
            if checkpoint == "TRIM_HORIZON"
            else {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": checkpoint,
            }
        )
        iterator = kinesis.get_shard_iterator(
            StreamName=settings.stream_name, ShardId=shard, **position
        )["ShardIterator"]
        again = 0
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
            again += sum(json.loads(r["Data"])["id"] in processed for r in page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
        counts[shard] = again
    return counts


def run(mode: str, shards: int, rate: float, seed: int, logs: Path) -> dict[str, Any]:
    settings = Settings(
        shard_count=shards,
        stream_name=f"stop-{mode}",
        ticks_table=f"stop-{mode}-ticks",
        bucket=f"stop-{mode}",
        consumer_application=f"stop-{mode}-consumer",
        # the default 5-minute history age: a stop always lands mid-buffer
    )
    provision(settings)
    env = {
        **os.environ,
        **settings.to_env(),
        "STOCKPIPE_KCL_SHARD_SYNC_MS": "2000",
        "STOCKPIPE_KCL_WORKER_METRICS_MS": "2000",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "consumer"],
        env=env,
        stderr=(logs / f"stop-{mode}.log").open("wb"),
        start_new_session=True,
    )
    dynamodb = aws.client("dynamodb")
    try:
        warm = synthetic_ticks(20, seed + 100, int(time.time() * 1000) - 7_200_000)
        put_steadily(warm, 50, settings.stream_name)
        deadline = time.monotonic() + 180
        while len(inventory.dynamodb_tick_ids(dynamodb, settings.ticks_table)) < len(warm):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker never processed the warm-up ticks ({logs})")
            time.sleep(1)
        ticks = synthetic_ticks(int(rate * 12), seed, int(time.time() * 1000) - 3_600_000)
        feeder = threading.Thread(target=put_steadily, args=(ticks, rate, settings.stream_name))
        feeder.start()
        time.sleep(8)
        mem = memory(worker.pid)
        if mode == "graceful":
            worker.send_signal(signal.SIGTERM)
        else:
            os.killpg(worker.pid, signal.SIGKILL)
        stopped = time.monotonic()
        worker.wait(timeout=60)
        stop_s = time.monotonic() - stopped
        feeder.join()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    processed = set(inventory.dynamodb_tick_ids(dynamodb, settings.ticks_table))
    again = redelivered(settings, processed)
    return {
        "redelivered": sum(again.values()),
        "per_shard": again,
        "processed_before_stop": len(processed),
        "stop_s": round(stop_s, 1),
        "memory": mem,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--rate", type=float, default=100, help="ticks/s while stopping")
    args = parser.parse_args()
    logs = Path("bench/results")
    logs.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "shards": args.shards, "rate": args.rate}
    with emulator.Emulator() as emu:
        stack.use_endpoint(emu.endpoint)
        for seed, mode in enumerate(("graceful", "sigkill")):
            results[mode] = run(mode, args.shards, args.rate, seed, logs)
            print(mode, results[mode], flush=True)
    (logs / "kcl_stop.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
