"""Emulator bridge benchmark: our ASGI bridge to moto vs Hypercorn's own WSGI adapter.

    .venv/bin/python -m bench.emulator_bench [--records 20000] [--objects 200]

Both serve the same moto app on a free loopback port; each run uses a fresh emulator and a
fresh 4-shard stream (moto slows as a shard fills, docs/emulator.md). Measured: PutRecords
(500 records of ~120 bytes per call), GetRecords (all shards, 10 000 per call), S3 PUT and
HEAD of 64 KiB objects. HEAD runs on the bridge only: Hypercorn's adapter answers it with 500.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from bench.producer_bench import machine
from common import aws
from stockpipe import emulator, stack

APPS = {
    "asgi_bridge": "stockpipe.emulator_app:app",
    "hypercorn_wsgi_adapter": "stockpipe.emulator_app:moto_wsgi",
}


def per_second(n: int, fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return n / (time.perf_counter() - started)


def run(app: str, records: int, objects: int) -> dict[str, float]:
    with emulator.Emulator(app=app) as emu:
        stack.use_endpoint(emu.endpoint)
        kinesis, s3 = aws.client("kinesis"), aws.client("s3")
        kinesis.create_stream(StreamName="bench", ShardCount=4)
        kinesis.get_waiter("stream_exists").wait(StreamName="bench")
        batch = [{"Data": b"x" * 120, "PartitionKey": f"key-{i}"} for i in range(500)]

        def put() -> None:
            for _ in range(records // len(batch)):
                kinesis.put_records(StreamName="bench", Records=batch)

        def get() -> None:
            for shard in kinesis.list_shards(StreamName="bench")["Shards"]:
                iterator = kinesis.get_shard_iterator(
                    StreamName="bench", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                while iterator:
                    page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
                    iterator = page["NextShardIterator"] if page["Records"] else None

        s3.create_bucket(Bucket="bench-bucket")
        body = b"p" * 65_536

        def put_objects() -> None:
            for i in range(objects):
                s3.put_object(Bucket="bench-bucket", Key=f"ticks/dt=2026-11-25/{i}", Body=body)

        def head_objects() -> None:
            for i in range(objects):
                s3.head_object(Bucket="bench-bucket", Key=f"ticks/dt=2026-11-25/{i}")

        result = {
            "putrecords_records_per_s": per_second(records, put),
            "getrecords_records_per_s": per_second(records, get),
            "s3_put_64k_per_s": per_second(objects, put_objects),
        }
        if app == APPS["asgi_bridge"]:
            result["s3_head_per_s"] = per_second(objects, head_objects)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000, help="Kinesis records per run")
    parser.add_argument("--objects", type=int, default=200, help="S3 objects per run")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine()}
    for name, app in APPS.items():
        results[name] = run(app, args.records, args.objects)
    bridge, adapter = results["asgi_bridge"], results["hypercorn_wsgi_adapter"]
    results["bridge_vs_adapter"] = {k: bridge[k] / adapter[k] for k in adapter}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
