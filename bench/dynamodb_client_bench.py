"""CPU per BatchWriteItem call: boto3 clients against the lean client (common/json_api.py).

    .venv/bin/python -m bench.dynamodb_client_bench [--calls 100] [--rounds 2]

The same 25 pre-built tick items per call to the emulator's ticks table, `--calls` calls per
round, the clients alternating for `--rounds`: boto3 as `aws.client` makes it, boto3 without
client-side parameter validation (what the hot path used before the lean client), the lean
client; CPU of this process (the emulator is
another) per call, with the lean client's signing and JSON encoding timed apart.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import boto3
import orjson
from botocore.config import Config

from bench.consumer_bench import save
from bench.producer_bench import machine
from common import aws, tables
from common.settings import Settings
from stockpipe import emulator, stack
from stockpipe.provision import provision


def items(n: int) -> list[dict[str, Any]]:
    return [
        tables.encode_tick_item(
            tables.TickItem("BENCH", f"b-{i}", 1_764_000_000_000 + i, 100.25, 1, "bench"),
            dt="2025-11-24",
            ingest_lag_ms=1,
            expires_at_s=1_764_000_000,
            change=0.25,
            change_pct=0.25,
        )
        for i in range(n)
    ]


def cpu_ms_per_call(call: Callable[[], Any], calls: int) -> float:
    started = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - started) * 1000 / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": machine(), "load_before": os.getloadavg()}
    with emulator.Emulator() as emu:
        stack.use_endpoint(emu.endpoint)
        settings = Settings(shard_count=1, bucket="client-bench", ticks_table="client-bench")
        provision(settings)
        request = {
            "RequestItems": {settings.ticks_table: [{"PutRequest": {"Item": i}} for i in items(25)]}
        }
        clients = {
            "boto3_ms": aws.client("dynamodb"),
            "boto3_unvalidated_ms": boto3.client(
                "dynamodb", config=Config(parameter_validation=False)
            ),
            "lean_ms": aws.dynamodb_writer(),
        }
        runs: dict[str, list[float]] = {name: [] for name in clients}
        for _round in range(args.rounds):
            for name, client in clients.items():
                call = client.batch_write_item
                runs[name].append(cpu_ms_per_call(lambda call=call: call(**request), args.calls))
        result |= runs
        result["lean_json_encoding_ms"] = cpu_ms_per_call(lambda: orjson.dumps(request), 1000)
    result["load_after"] = os.getloadavg()
    save("dynamodb-client", result)


if __name__ == "__main__":
    main()
