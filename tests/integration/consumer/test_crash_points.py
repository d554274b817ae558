"""`stockpipe consume` stopped at each consumer failpoint (common/failpoints.py), not at a moment
picked with a sleep: the exit code and log line say the kill landed there, the stores show what
the point promises (written past the checkpoint, or not), and a restart leaves every tick
exactly once in DynamoDB and in the live Parquet objects, every bad record once as a dead
letter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from common import aws, failpoints
from common.settings import Settings
from stockpipe.provision import Resources
from tests.crash_points import (
    BeyondCheckpoint,
    Stores,
    checkpoints,
    mixed_records,
    put_all,
)
from tests.waiting import wait_for

CONSUME = [sys.executable, "-m", "stockpipe", "consume"]
# small reads and a small history buffer: a cold flush every few batches, by size, not time
ENV = {
    "STOCKPIPE_CONSUMER_MAX_RECORDS": "25",
    "STOCKPIPE_CONSUMER_COLD_MAX_BYTES": "15000",
    "STOCKPIPE_CONSUMER_COLD_AGE_MS": "600000",
}


def consume(log: Path, failpoint: str | None) -> subprocess.Popen[bytes]:
    env = os.environ | ENV
    env.pop(failpoints.ENV, None)
    if failpoint:
        env[failpoints.ENV] = failpoint
    return subprocess.Popen(CONSUME, env=env, stderr=log.open("w"))


# (failpoint@n, records past the checkpoint in DynamoDB?, in Parquet?, among dead letters?)
CASES = [
    ("consumer-after-hot-write@9", True, False, False),
    ("consumer-after-history-parquet@3", True, True, False),
    ("consumer-after-cold-flush@3", True, True, True),
]


@pytest.mark.parametrize(("failpoint", "in_dynamodb", "in_parquet", "in_dead_letters"), CASES)
def test_a_consumer_stopped_at_a_failpoint_then_restarted_stores_every_record_once(
    settings: Settings,
    resources: Resources,
    tmp_path: Path,
    failpoint: str,
    in_dynamodb: bool,
    in_parquet: bool,
    in_dead_letters: bool,
) -> None:
    # GIVEN 400 ticks over three dates and a bad record after every 5th, on two shards
    puts = put_all(aws.client("kinesis"), settings.stream_name, mixed_records(400, 5))
    s3, dynamodb = aws.client("s3"), aws.client("dynamodb")
    # WHEN the consumer runs until it reaches the failpoint
    crashed = consume(tmp_path / "first.log", failpoint)
    assert crashed.wait(timeout=120) == failpoints.EXIT_CODE
    name, _, nth = failpoint.partition("@")
    log = (tmp_path / "first.log").read_text()
    assert f"failpoint {name}: exiting (reached {nth} time(s))" in log, log[-3000:]
    # THEN it died where it was meant to: past the checkpoint, exactly these stores were written
    at_crash = BeyondCheckpoint.of(
        Stores.read(s3, dynamodb, settings),
        puts,
        checkpoints(dynamodb, f"{settings.consumer_application}-local-checkpoints"),
    )
    assert (at_crash.dynamodb > 0, at_crash.parquet > 0, at_crash.dead_letters > 0) == (
        in_dynamodb,
        in_parquet,
        in_dead_letters,
    ), at_crash
    assert checkpoints(dynamodb, f"{settings.consumer_application}-local-checkpoints"), (
        "no flush was checkpointed before the crash: the replay would start from the horizon"
    )
    # WHEN it restarts, reads everything, and is stopped with SIGTERM (flushing its history)
    ticks = sum(1 for p in puts if p.tick_id is not None)
    again = consume(tmp_path / "second.log", None)
    try:
        wait_for(
            lambda: len(Stores.read(s3, dynamodb, settings).dynamodb) == ticks,
            120,
            "every tick in DynamoDB",
            interval=0.5,
        )
    finally:
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=60) == 0
    # THEN every tick is once in DynamoDB and once in the live Parquet, every bad record once
    Stores.read(s3, dynamodb, settings).assert_every_record_once(puts)
