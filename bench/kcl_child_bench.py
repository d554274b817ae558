"""CPU per tick of the KCL path's Python child, fed as the MultiLangDaemon feeds it.

    .venv/bin/python -m bench.kcl_child_bench [--ticks 100000] [--batch 1000]

`python -m consumer.kcl_app` (the child the daemon starts per shard) runs as its own process,
writing to the emulator's DynamoDB and S3 with default settings. This process plays the
daemon's side of the kclpy protocol over the child's stdin/stdout: initialize, processRecords
with `--batch` records each (base64 data, arrival time in ms, as the daemon's JSON carries
them), answering checkpoint requests, then shutdownRequested (the history flush) and end of
input. The child's CPU seconds come from wait4; a second child given no records is the fixed
cost (imports, clients). The JVM's own CPU (GetRecords, leases) is not in these figures.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import time
from typing import IO, Any

from bench.consumer_bench import save, synthetic_ticks
from bench.producer_bench import machine
from common.settings import Settings
from stockpipe import emulator, stack
from stockpipe.provision import provision

SHARD = "shardId-000000000000"


def send(child: subprocess.Popen[bytes], message: dict[str, Any]) -> None:
    """One message to the child, then answer its checkpoints until it reports done."""
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(json.dumps(message).encode() + b"\n")
    child.stdin.flush()
    while True:
        reply = _read(child.stdout)
        if reply["action"] == "status":
            return
        if reply["action"] == "checkpoint":
            answer = {**reply, "error": None}
            child.stdin.write(json.dumps(answer).encode() + b"\n")
            child.stdin.flush()


def _read(stdout: IO[bytes]) -> dict[str, Any]:
    while True:
        line = stdout.readline()
        if not line:
            raise RuntimeError("the child exited (see its stderr)")
        if line.strip():
            return dict(json.loads(line))


def run_child(settings: Settings, records: list[dict[str, Any]], batch: int) -> dict[str, float]:
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "consumer.kcl_app"],
        env={**os.environ, **settings.to_env()},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    send(
        child,
        {
            "action": "initialize",
            "shardId": SHARD,
            "sequenceNumber": "TRIM_HORIZON",
            "subSequenceNumber": 0,
        },
    )
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        send(child, {"action": "processRecords", "records": chunk, "millisBehindLatest": 0})
    send(child, {"action": "shutdownRequested"})
    assert child.stdin is not None
    child.stdin.close()
    _pid, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"the child exited {os.waitstatus_to_exitcode(status)}")
    return {
        "wall_s": time.perf_counter() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def daemon_records(n: int) -> list[dict[str, Any]]:
    """The records as the daemon's JSON lines carry them."""
    now_ms = int(time.time() * 1000)
    return [
        {
            "action": "record",
            "data": base64.b64encode(tick.encode()).decode(),
            "partitionKey": tick.symbol,
            "sequenceNumber": str(10**20 + i),
            "subSequenceNumber": 0,
            "approximateArrivalTimestamp": now_ms,
        }
        for i, tick in enumerate(synthetic_ticks(n, 13, now_ms - 3_600_000))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": machine(), "load_before": os.getloadavg(), **vars(args)}
    with emulator.Emulator() as emu:
        stack.use_endpoint(emu.endpoint)
        settings = Settings(shard_count=1, bucket="kcl-child", ticks_table="kcl-child-ticks")
        provision(settings)
        records = daemon_records(args.ticks)
        result["child"] = run_child(settings, records, args.batch)
        idle = run_child(settings, [], args.batch)
    cpu = result["child"]["cpu_s"]
    result["startup_cpu_s"] = idle["cpu_s"]
    result["ticks_per_cpu_s"] = args.ticks / cpu
    result["steady_ticks_per_cpu_s"] = args.ticks / (cpu - idle["cpu_s"])
    result["load_after"] = os.getloadavg()
    save(f"kcl-child-{args.ticks}", result)


if __name__ == "__main__":
    main()
