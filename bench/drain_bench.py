"""End-to-end consumer cost: drain a pre-filled stream, CPU per tick and throughput vs ceiling.

    .venv/bin/python -m bench.drain_bench [--ticks 100000] [--shards 10] [--profile FILE]

A stream is filled with `--ticks` ticks (several shards: the emulator's Kinesis slows as a
shard fills), then the consumer runs in its own process (bench/drain_child.py: the local driver with
default settings, the same processor and sinks as `stockpipe consume`) from process start
until every record is written to DynamoDB and the history flushed at its stop. The parent
reads the child's CPU seconds from wait4 (the emulator, another process, is excluded).
In the same run: the emulator's bare BatchWriteItem ceiling (pre-built items, the ones the
consumer makes of other synthetic ticks, 25 per call, one client, one thread), the
emulator's CPU during the drain (which process bounds it), and the "core" stages of
bench/consumer_bench.py (decode, validate, transform, Parquet, DynamoDB items; no network)
at the same load. A second child run on the
drained stream gives the fixed cost (start, clients, stop) apart from the per-tick cost.
`--profile F` samples the child with py-spy (`F.speedscope.json` for speedscope.app, `F.txt`
collapsed stacks for `bench.profile_summary`; sampling inflates the CPU figure a little:
profile and measure in separate runs).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.consumer_bench import core, save, synthetic_ticks
from bench.producer_bench import machine
from common import aws
from common.settings import Settings
from consumer.batch import InRecord, PriceMemory, build_batch
from consumer.encode import dynamodb_items
from stockpipe import emulator, stack
from stockpipe.provision import provision


def fill(settings: Settings, n: int) -> None:
    kinesis = aws.client("kinesis")
    ticks = synthetic_ticks(n, 11, int(time.time() * 1000) - 3_600_000)
    for start in range(0, n, 500):
        chunk = ticks[start : start + 500]
        kinesis.put_records(
            StreamName=settings.stream_name,
            Records=[{"Data": t.encode(), "PartitionKey": t.symbol} for t in chunk],
        )


def batch_write_ceiling(table: str, n: int = 5000) -> float:
    """Items/s of BatchWriteItem with 25 pre-built items per call and one client: the items
    the consumer makes of n other synthetic ticks (change and change % included), so the
    ceiling writes what the drain writes."""
    client = aws.client("dynamodb")
    ticks = synthetic_ticks(n, 12, int(time.time() * 1000) - 3_600_000)
    records = [
        InRecord(t.encode(), str(10**20 + i), 0, t.event_time_ms + 100, t.symbol)
        for i, t in enumerate(ticks)
    ]
    items, _ = dynamodb_items(build_batch(records, "ceiling", PriceMemory()), ttl_days=7)
    started = time.perf_counter()
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        client.batch_write_item(RequestItems={table: requests})
    return len(items) / (time.perf_counter() - started)


def measure(argv: list[str], env: dict[str, str], cwd: str | None = None) -> dict[str, float]:
    """Run a consumer process to its end: wall seconds, its own CPU seconds and peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, cwd=cwd)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"{argv} exited {os.waitstatus_to_exitcode(status)}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process and its descendants (Linux /proc):
    the emulator serves from a hypercorn worker process under the one it starts."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    return own + sum(tree_cpu_s(child) for child in children)


def drain(settings: Settings, n: int, profile: Path | None) -> dict[str, float]:
    argv = [sys.executable, "-m", "bench.drain_child", str(n)]
    env = {**os.environ, **settings.to_env()}
    if profile:  # a sampling profile of the child (py-spy, installed in the venv)
        for fmt, suffix in (("speedscope", ".speedscope.json"), ("raw", ".txt")):
            spy = [str(Path(sys.executable).with_name("py-spy")), "record", "--format", fmt]
            measure([*spy, "-r", "200", "-o", f"{profile}{suffix}", "--", *argv], env)
            fill(settings, n)
    result = measure(argv, env)
    return {
        "ticks": n,
        **result,
        "ticks_per_cpu_s": n / result["cpu_s"] if n else 0.0,
        "ticks_per_s": n / result["wall_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=10)
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="py-spy profiles of the child (two extra drains, before the measured one)",
    )
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": machine(), "load_before": os.getloadavg()}
    with emulator.Emulator() as emu:
        stack.use_endpoint(emu.endpoint)
        settings = Settings(
            shard_count=args.shards,
            stream_name="drain",
            ticks_table="drain-ticks",
            bucket="drain",
            consumer_application="drain-consumer",
        )
        provision(settings)
        started = time.perf_counter()
        fill(settings, args.ticks)
        result["fill_s"] = time.perf_counter() - started
        emulator_before = tree_cpu_s(emu.pid or 0)
        result["drain"] = drain(settings, args.ticks, args.profile)
        # who bounds the drain: the emulator's CPU over the drain's wall time
        result["drain"]["emulator_cpu_s"] = tree_cpu_s(emu.pid or 0) - emulator_before
        idle = drain(settings, 0, None)  # start, read nothing new, stop: the fixed cost
        result["startup_cpu_s"] = idle["cpu_s"]
        result["steady_ticks_per_cpu_s"] = args.ticks / (result["drain"]["cpu_s"] - idle["cpu_s"])
        result["batch_write_ceiling_items_per_s"] = batch_write_ceiling(settings.ticks_table)
        result["drain_vs_ceiling"] = (
            result["drain"]["ticks_per_s"] / result["batch_write_ceiling_items_per_s"]
        )
    # the "core" stages (no network, one core) at the same load, for scale
    result["core_all_stages_per_s"] = core(min(args.ticks, 20_000))["all_stages_per_s"]
    result["load_after"] = os.getloadavg()
    save(f"drain-{args.ticks}", result)


if __name__ == "__main__":
    main()
