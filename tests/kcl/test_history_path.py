"""The hot and cold paths under the real KCL MultiLangDaemon: a SIGKILL with a half-full
history buffer, a restart, every tick once in S3 and DynamoDB; a SIGTERM flushes the history
buffer within the shutdown grace."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from common.settings import ConsumerSettings, Settings
from stockpipe.provision import provision
from tests.factories import ticks
from tests.kcl import workers
from tests.kcl.workers import publish, stop, stored_ids
from tests.waiting import wait_for

GRACE_MS = 10_000


@pytest.fixture
def two_shards(aws_env: str) -> Settings:
    settings = Settings(shard_count=2)
    provision(settings)
    return settings


def start_worker(name: str, logs: Path, **env: str) -> subprocess.Popen[bytes]:
    """One worker with the default history age (5 minutes) unless overridden."""
    history = {
        "STOCKPIPE_CONSUMER_COLD_AGE_MS": str(ConsumerSettings().consumer_cold_age_ms),
        "STOCKPIPE_KCL_SHUTDOWN_GRACE_MS": str(GRACE_MS),
    }
    return workers.start_worker(name, logs, **(history | env))


def test_sigkill_with_a_half_full_history_buffer_then_a_new_worker_stores_every_tick_once(
    two_shards: Settings, tmp_path: Path
) -> None:
    batch = ticks(1200)
    publish(batch[:600])
    first = start_worker("first", tmp_path)
    try:
        # GIVEN a worker whose hot path wrote 600 ticks and whose history buffer holds them
        wait_for(lambda: len(stored_ids(two_shards)[0]) >= 600, 150, "the hot path")
        assert stored_ids(two_shards)[1] == [], "history flushed before its age bound"
        # WHEN it is SIGKILLed and a new worker (history age 1 s) takes over
        stop(first, signal.SIGKILL)
        first.wait(timeout=10)
        publish(batch[600:])
        second = start_worker("second", tmp_path, STOCKPIPE_CONSUMER_COLD_AGE_MS="1000")
        try:
            # THEN every tick is once in DynamoDB and once in S3
            wait_for(lambda: len(stored_ids(two_shards)[1]) >= 1200, 180, "all 1200 in S3")
            time.sleep(3)  # a duplicate write would show up now
            dynamo, parquet = stored_ids(two_shards)
            expected = sorted(t.id for t in batch)
            assert sorted(dynamo) == expected
            assert sorted(parquet) == expected
        finally:
            stop(second, signal.SIGKILL)
            second.wait(timeout=10)
    finally:
        if first.poll() is None:
            stop(first, signal.SIGKILL)


def test_sigterm_flushes_the_history_buffer_within_the_grace(
    two_shards: Settings, tmp_path: Path
) -> None:
    batch = ticks(400)
    publish(batch)
    worker = start_worker("worker", tmp_path)
    try:
        # GIVEN every tick in DynamoDB and none yet in S3 (history age 5 minutes)
        wait_for(lambda: len(stored_ids(two_shards)[0]) >= 400, 150, "the hot path")
        assert stored_ids(two_shards)[1] == []
        # WHEN the worker gets SIGTERM (an ECS task stop)
        stopped = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=GRACE_MS / 1000 + 30)
        # THEN it stopped within the grace, with the history flushed
        assert time.monotonic() - stopped <= GRACE_MS / 1000 + 5
        assert sorted(stored_ids(two_shards)[1]) == sorted(t.id for t in batch)
    finally:
        if worker.poll() is None:
            stop(worker, signal.SIGKILL)
