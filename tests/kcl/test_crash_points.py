"""A shard child of the real KCL MultiLangDaemon stopped at a failpoint (after a cold flush,
before its checkpoint): the child exits where it was meant to (its failpoint line, and the
daemon sees it gone in the middle of processRecords), the worker goes down with it, and a new
worker stores every tick and every bad record exactly once."""

from __future__ import annotations

import signal
from pathlib import Path

from common import aws, failpoints
from common.settings import Settings
from stockpipe.provision import Resources
from tests.crash_points import BeyondCheckpoint, Stores, checkpoints, mixed_records, put_all
from tests.kcl import workers
from tests.kcl.workers import stop
from tests.waiting import wait_for

# small reads and a small history buffer: a cold flush every few batches, by size
SMALL_FLUSHES = {
    "STOCKPIPE_CONSUMER_MAX_RECORDS": "25",
    "STOCKPIPE_CONSUMER_COLD_MAX_BYTES": "15000",
    "STOCKPIPE_CONSUMER_COLD_AGE_MS": "600000",
}
POINT = "consumer-after-cold-flush"


def test_a_child_stopped_after_a_flush_before_its_checkpoint_then_a_new_worker_stores_once(
    settings: Settings, resources: Resources, tmp_path: Path
) -> None:
    s3, dynamodb = aws.client("s3"), aws.client("dynamodb")
    puts = put_all(aws.client("kinesis"), settings.stream_name, mixed_records(400, 5))
    # WHEN a worker's shard children reach the failpoint at their third flush
    first = workers.start_worker(
        "first", tmp_path, **SMALL_FLUSHES, **{failpoints.ENV: f"{POINT}@3"}
    )
    log = tmp_path / "first.log"
    try:
        wait_for(lambda: first.poll() is not None, 180, "the worker to go down with its child")
    finally:
        if first.poll() is None:
            stop(first, signal.SIGKILL)
    # THEN a child died there (exit 86, its log line), with a flush in S3 past its checkpoint
    text = log.read_text(errors="replace")
    assert f"failpoint {POINT}: exiting (reached 3 time(s))" in text, text[-3000:]
    # (the daemon does not log the child's exit code; it sees the child gone mid-processRecords)
    assert "Reached end of STDIN of child process" in text
    at_crash = BeyondCheckpoint.of(
        Stores.read(s3, dynamodb, settings),
        puts,
        checkpoints(dynamodb, settings.consumer_application),
    )
    assert at_crash.parquet > 0 and at_crash.dead_letters > 0 and at_crash.dynamodb > 0, at_crash
    # WHEN a new worker takes the leases (short history age) and reads to the end
    ticks = sum(1 for p in puts if p.tick_id is not None)
    letters = len(puts) - ticks
    second = workers.start_worker("second", tmp_path, STOCKPIPE_CONSUMER_COLD_AGE_MS="1000")
    try:
        wait_for(
            lambda: (
                sum(Stores.read(s3, dynamodb, settings).parquet.values()) >= ticks
                and sum(Stores.read(s3, dynamodb, settings).dead_letters.values()) >= letters
            ),
            240,
            "every tick in S3 and every bad record dead-lettered",
        )
    finally:
        stop(second, signal.SIGTERM)
        second.wait(timeout=60)
    # THEN every tick is once in DynamoDB and the live Parquet, every bad record once
    Stores.read(s3, dynamodb, settings).assert_every_record_once(puts)
