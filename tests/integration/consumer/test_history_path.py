"""The two paths with default settings (5-minute history age), as `stockpipe consume` runs:
a SIGKILL with a half-full history buffer loses and duplicates nothing, alerts included;
SIGTERM flushes the history buffer and checkpoints it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from common import aws
from common.settings import Settings
from producer.publisher import KinesisPublisher
from producer.run import produce
from producer.sources.replay import ReplaySource
from stockpipe import alerts_feed, inventory
from stockpipe.provision import Resources
from stockpipe.trend_local import trend_event_source
from tests.scenarios import expected, write_scenario
from tests.waiting import wait_for

CONSUME = [sys.executable, "-m", "stockpipe", "consume"]


def dynamo_ids(settings: Settings) -> list[str]:
    return inventory.dynamodb_tick_ids(aws.client("dynamodb"), settings.ticks_table)


def parquet_ids(settings: Settings) -> list[str]:
    frame = inventory.parquet_frame(aws.client("s3"), settings.bucket, ["id"])
    return frame["id"].to_list() if frame.height else []


def publish_rows(settings: Settings, scenario: Path, rows: list[str], name: str) -> int:
    part = scenario.with_name(name)
    part.write_text("\n".join([scenario.read_text().splitlines()[0], *rows]) + "\n")
    publisher = KinesisPublisher(aws.client("kinesis"), settings.stream_name).start()
    stats = produce(ReplaySource(part), publisher)
    assert stats.failed == 0
    return stats.produced


def test_sigkill_with_a_half_full_history_buffer_then_restart_stores_every_tick_once(
    settings: Settings, resources: Resources, tmp_path: Path
) -> None:
    # GIVEN the crossover scenario, its first half in the stream, the trend handler running
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - now_ms % 60_000 - 3 * 3_600_000
    scenario = tmp_path / "scenario.csv"
    write_scenario(scenario, start_ms)
    rows = sorted(scenario.read_text().splitlines()[1:], key=lambda r: int(r.split(",")[1]))
    half = len(rows) // 2
    produced = publish_rows(settings, scenario, rows[:half], "first.csv")
    stop_trend = threading.Event()
    trend = trend_event_source(settings)
    trend_thread = threading.Thread(target=trend.run, args=(stop_trend,))
    trend_thread.start()
    log = (tmp_path / "consume.log").open("w")
    env = dict(os.environ)  # default settings: the history buffer waits 5 minutes
    try:
        first = subprocess.Popen(CONSUME, env=env, stderr=log)
        wait_for(lambda: len(dynamo_ids(settings)) >= produced, 90, "the hot path")
        # WHEN the consumer is SIGKILLed with every tick in DynamoDB and none yet in S3
        assert parquet_ids(settings) == [], "the history flushed before its age bound"
        first.kill()
        first.wait()
        # AND the second half arrives and the consumer restarts
        produced += publish_rows(settings, scenario, rows[half:], "second.csv")
        second = subprocess.Popen(CONSUME, env=env, stderr=log)
        wait_for(lambda: len(dynamo_ids(settings)) >= produced, 90, "the second half")
        time.sleep(1)  # a replayed write would show up now
        # THEN a SIGTERM flushes the history buffer and checkpoints it
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
        # AND every tick is once in DynamoDB and once in S3
        ids = dynamo_ids(settings)
        assert len(ids) == len(set(ids)) == produced
        assert sorted(parquet_ids(settings)) == sorted(ids)
        # AND nothing is left to re-read: the checkpoint covers the flushed history
        third_log = tmp_path / "third.log"
        third = subprocess.Popen(CONSUME, env=env, stderr=third_log.open("w"))
        wait_for(lambda: "took shard" in third_log.read_text(), 60, "the third consumer")
        time.sleep(2)  # a few polls
        third.send_signal(signal.SIGTERM)
        assert third.wait(timeout=60) == 0
        assert "stopped after 0 record(s)" in third_log.read_text()
        # AND each crossover alerted exactly once
        sqs: Any = aws.client("sqs")
        wait_for(lambda: trend.idle_polls >= 3, 30, "the trend handler to catch up")
    finally:
        stop_trend.set()
        trend_thread.join()
    alerts = alerts_feed.drain(sqs, resources.alerts_queue_url)
    assert sorted((a.symbol, a.signal, a.bar_start_ms) for a in alerts) == expected(start_ms)
