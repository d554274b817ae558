"""Real KCL workers (`python -m consumer`: launcher, Java daemon, one Python child per shard)
against the emulator, and what the tests read back: lease owners, stored tick ids, logs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from common import aws
from common.settings import Settings
from producer.publisher import KinesisPublisher
from stockpipe import inventory

FAST_KCL = {
    "STOCKPIPE_CONSUMER_COLD_AGE_MS": "300",
    "STOCKPIPE_KCL_SHARD_SYNC_MS": "2000",
    "STOCKPIPE_KCL_FAILOVER_MS": "10000",
    "STOCKPIPE_KCL_WORKER_METRICS_MS": "2000",
    "STOCKPIPE_LOG_LEVEL": "INFO",
    "STOCKPIPE_LOG_FORMAT": "json",
}


def start_worker(name: str, logs: Path, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "consumer"],
        env={**os.environ, **FAST_KCL, **env},
        stderr=(logs / f"{name}.log").open("wb"),
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def leases() -> list[dict[str, Any]]:
    """The lease table's items; an emulator error fails the caller (no empty stand-in)."""
    table = Settings().consumer_application
    items: list[dict[str, Any]] = aws.client("dynamodb").scan(TableName=table)["Items"]
    return items


def lease_owners(open_only: bool = False) -> Counter[str]:
    """Owner -> number of leases (open_only: of shards not yet at SHARD_END)."""
    try:
        items = leases()
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return Counter()  # the first worker has not made the table yet
    return Counter(
        i.get("leaseOwner", {}).get("S", "")
        for i in items
        if not (open_only and i["checkpoint"]["S"] == "SHARD_END")
    )


def owner_of(worker: subprocess.Popen[bytes], owners: Counter[str]) -> str | None:
    """Worker ids are <host>-<launcher pid>-<random> (consumer/daemon.py)."""
    return next((o for o in owners if f"-{worker.pid}-" in o), None)


def publish(batch: list[Any], pause_s: float = 0.0) -> None:
    stream = Settings().stream_name
    with KinesisPublisher(aws.client("kinesis"), stream, linger_s=0.02) as pub:
        for i, tick in enumerate(batch):
            pub.send(tick)
            if pause_s and i % 50 == 49:
                time.sleep(pause_s)


def stored_ids(settings: Settings) -> tuple[list[str], list[str]]:
    dynamo = inventory.dynamodb_tick_ids(aws.client("dynamodb"), settings.ticks_table)
    frame = inventory.parquet_frame(aws.client("s3"), settings.bucket, ["id"])
    return dynamo, frame["id"].to_list() if frame.height else []


def stop(worker: subprocess.Popen[bytes], sig: int) -> None:
    """SIGKILL the whole group (daemon and children); other signals go to the launcher."""
    if sig == 9:
        os.killpg(worker.pid, sig)
    else:
        worker.send_signal(sig)
