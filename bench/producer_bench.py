"""Producer benchmark: where the time goes, without and with the network.

    .venv/bin/python -m bench.producer_bench [--ticks 200000] [--emulator-ticks 20000]

Part 1 (no network, one core): synthetic quote generation, validation + id, JSON encoding,
batching into PutRecords calls. Part 2 (emulator over HTTP): the publisher end to end vs
bare PutRecords calls with pre-encoded batches, so our overhead is apart from the
emulator's cost. Each emulator run uses a fresh 4-shard stream: moto slows as a shard fills
(docs/emulator.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import aws
from common.tick import make_tick
from producer.batching import Entry, batches
from producer.publisher import KinesisPublisher
from producer.sources.synthetic import SyntheticSource
from stockpipe import emulator, stack

SYMBOLS = ("AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "META", "TSLA", "JPM", "V", "XOM")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def rate(n: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return n / (time.perf_counter() - started), result


def offline(n: int, chunk: int = 500) -> dict[str, float]:
    """Stage rates when ticks flow through in PutRecords-sized chunks, as in the producer.

    (Holding all n encoded records at once would mostly measure page faults: orjson sizes
    each output buffer generously, see docs/performance.md.)
    """
    source = SyntheticSource(
        SYMBOLS, seed=1, start_ms=int(time.time() * 1000) - 86_400_000, step_ms=100, limit=n
    )
    gen_rate, quotes = rate(n, lambda: list(source.quotes(threading.Event())))
    spent = {"validate": 0.0, "encode": 0.0, "batch": 0.0}
    calls = 0
    record_bytes = 0
    for start in range(0, n, chunk):
        t0 = time.perf_counter()
        ticks = [make_tick(*q, source="synthetic") for q in quotes[start : start + chunk]]
        t1 = time.perf_counter()
        entries = [Entry(t.encode(), t.symbol) for t in ticks]
        t2 = time.perf_counter()
        calls += len(list(batches(entries)))
        t3 = time.perf_counter()
        spent["validate"] += t1 - t0
        spent["encode"] += t2 - t1
        spent["batch"] += t3 - t2
        record_bytes += sum(e.size for e in entries)
    return {
        "synthetic_quotes_per_s": gen_rate,
        "validate_and_id_per_s": n / spent["validate"],
        "encode_per_s": n / spent["encode"],
        "batch_per_s": n / spent["batch"],
        "validate_encode_batch_per_s": n / sum(spent.values()),
        "putrecords_calls": calls,
        "mean_record_bytes": record_bytes / n,
    }


def fresh_stream(kinesis: Any, name: str) -> None:
    kinesis.create_stream(StreamName=name, ShardCount=4)
    kinesis.get_waiter("stream_exists").wait(StreamName=name)


def against_emulator(n: int) -> dict[str, float]:
    with emulator.Emulator() as emu:
        stack.use_endpoint(emu.endpoint)
        kinesis = aws.client("kinesis")
        source = SyntheticSource(
            SYMBOLS, seed=2, start_ms=int(time.time() * 1000) - 86_400_000, step_ms=100, limit=n
        )
        ticks = [make_tick(*q, source="synthetic") for q in source.quotes(threading.Event())]

        fresh_stream(kinesis, "bench-raw")
        calls = list(batches(Entry(t.encode(), t.symbol) for t in ticks))

        def raw() -> None:
            for call in calls:
                kinesis.put_records(
                    StreamName="bench-raw",
                    Records=[{"Data": e.data, "PartitionKey": e.partition_key} for e in call],
                )

        raw_rate, _ = rate(n, raw)

        fresh_stream(kinesis, "bench-publisher")

        def publish() -> None:
            with KinesisPublisher(kinesis, "bench-publisher", linger_s=0.05) as publisher:
                for tick in ticks:
                    publisher.send(tick)

        pub_rate, _ = rate(n, publish)
    return {
        "bare_putrecords_records_per_s": raw_rate,
        "publisher_records_per_s": pub_rate,
        "publisher_vs_bare": pub_rate / raw_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=200_000, help="ticks for the offline part")
    parser.add_argument(
        "--emulator-ticks",
        type=int,
        default=20_000,
        help="ticks sent to the emulator (0 skips that part)",
    )
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine(), "offline_ticks": args.ticks}
    results["offline"] = offline(args.ticks)
    if args.emulator_ticks:
        results["emulator_ticks"] = args.emulator_ticks
        results["emulator"] = against_emulator(args.emulator_ticks)
    print(json.dumps(results, indent=2, default=lambda v: round(v, 2)))
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "producer.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
