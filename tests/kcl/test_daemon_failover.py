"""The real KCL MultiLangDaemon (Java) against the emulator: lease balancing, SIGKILL failover,
exactly-once results in DynamoDB and S3, graceful SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from common.settings import Settings
from stockpipe.provision import provision
from tests.factories import ticks
from tests.kcl.workers import lease_owners, leases, publish, start_worker, stop, stored_ids
from tests.waiting import wait_for


@pytest.fixture
def four_shards(aws_env: str) -> Settings:
    settings = Settings(shard_count=4)
    provision(settings)
    return settings


def test_two_workers_split_leases_and_one_survives_sigkill_of_the_other(
    four_shards: Settings, tmp_path: Path
) -> None:
    all_ticks = ticks(4000, symbols=("AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "META", "TSLA", "JPM"))
    first, second = all_ticks[:2000], all_ticks[2000:]
    workers = {"a": start_worker("a", tmp_path), "b": start_worker("b", tmp_path)}
    try:
        publish(first)
        # GIVEN two workers on four shards: every tick lands, and the leases end up 2/2
        wait_for(lambda: len(stored_ids(four_shards)[0]) >= 2000, 150, "the first 2000 ticks")
        wait_for(lambda: sorted(lease_owners().values()) == [2, 2], 120, "a 2/2 lease split")
        owners = lease_owners()
        # WHEN one worker (daemon and its Python children) is SIGKILLed while ticks flow
        feeder = threading.Thread(target=publish, args=(second, 0.05))
        feeder.start()
        time.sleep(2)
        victim = "a" if any(f"-{workers['a'].pid}-" in o for o in owners) else "b"
        survivor = "b" if victim == "a" else "a"
        stop(workers[victim], signal.SIGKILL)
        workers[victim].wait(timeout=10)
        feeder.join()
        # THEN the survivor takes all four leases and every tick lands exactly once
        survivor_id = next(o for o in lease_owners() if f"-{workers[survivor].pid}-" in o)
        wait_for(
            lambda: lease_owners() == Counter({survivor_id: 4}),
            150,
            "the survivor to own all leases",
        )
        wait_for(lambda: len(set(stored_ids(four_shards)[0])) >= 4000, 120, "all 4000 ticks")
        time.sleep(3)  # let any straggling duplicate write show up
        dynamo, parquet = stored_ids(four_shards)
        expected = sorted(t.id for t in all_ticks)
        assert sorted(dynamo) == expected
        assert sorted(parquet) == expected, "S3 history lost or duplicated ticks"
        # AND a SIGTERM shuts the survivor down gracefully, checkpoints written
        workers[survivor].send_signal(signal.SIGTERM)
        assert workers[survivor].wait(timeout=60) == 0  # clean stop, see docs/kcl.md
        checkpoints = [i["checkpoint"]["S"] for i in leases()]
        assert "TRIM_HORIZON" not in checkpoints
    finally:
        for worker in workers.values():
            if worker.poll() is None:
                stop(worker, signal.SIGKILL)
                worker.wait()


def test_stockpipe_consume_kcl_processes_ticks_and_stops_cleanly(
    four_shards: Settings, tmp_path: Path
) -> None:
    batch = ticks(500)
    publish(batch)
    env = {
        **os.environ,
        "STOCKPIPE_KCL_SHARD_SYNC_MS": "2000",
        "STOCKPIPE_CONSUMER_COLD_AGE_MS": "300",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "stockpipe", "consume", "--kcl"],
        env=env,
        stderr=(tmp_path / "consume.log").open("wb"),
        start_new_session=True,
    )
    try:
        wait_for(lambda: len(stored_ids(four_shards)[0]) >= 500, 120, "500 ticks")
        assert sorted(stored_ids(four_shards)[0]) == sorted(t.id for t in batch)
        worker.send_signal(signal.SIGINT)
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            stop(worker, signal.SIGKILL)
