"""The pipeline on resources created from the deploy/ template: the data stack goes through the
emulator's CloudFormation, the consumer runs as its ECS task does (`python -m consumer`: the
real KCL daemon, leasing from the stack's pre-made lease table), and the trend handler reads
the stack's ticks table stream and publishes to its KMS-encrypted topic."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common import aws
from common.settings import Settings
from producer.publisher import KinesisPublisher
from producer.run import produce
from producer.sources.replay import ReplaySource
from stockpipe import alerts_feed, inventory
from stockpipe.deployment import settings_env
from stockpipe.trend_local import trend_event_source
from tests.deployed_stack import deploy_data_stack
from tests.scenarios import AAPL, MSFT, expected, run_until, write_scenario
from tests.waiting import wait_for


def test_ticks_flow_through_the_deployed_stack_to_alerts_exactly_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN the data stack deployed from its template, and the settings `stockpipe env` gives
    outputs = deploy_data_stack()
    for variable, value in settings_env(outputs).items():
        monkeypatch.setenv(variable, value)
    settings = Settings()
    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    alerts_feed.subscribe(
        aws.client("sns"),
        outputs["AlertsTopicArn"],
        "sqs",
        queue_arn["Attributes"]["QueueArn"],
        symbols=[],
        signals=[],
    )

    # WHEN the consumer task's command runs and a scenario is produced into the stream
    worker = subprocess.Popen(
        [sys.executable, "-m", "consumer"],
        env={
            **os.environ,
            "STOCKPIPE_KCL_SHARD_SYNC_MS": "2000",
            "STOCKPIPE_CONSUMER_FLUSH_AGE_MS": "300",
        },
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "consumer.log").open("wb"),
        start_new_session=True,
    )
    try:
        now_ms = int(time.time() * 1000)
        start_ms = now_ms - now_ms % 60_000 - 3 * 3_600_000
        write_scenario(tmp_path / "scenario.csv", start_ms)
        publisher = KinesisPublisher(aws.client("kinesis"), settings.stream_name).start()
        stats = produce(ReplaySource(tmp_path / "scenario.csv"), publisher)
        total = 3 * (len(AAPL) + len(MSFT))
        assert stats.produced == total and stats.failed == 0

        def stored() -> tuple[int, int]:
            dynamo = inventory.dynamodb_tick_ids(aws.client("dynamodb"), settings.ticks_table)
            history = inventory.parquet_frame(aws.client("s3"), settings.bucket, ["id"])
            return len(dynamo), history.height

        wait_for(lambda: stored() == (total, total), 150, f"{total} ticks in both stores")
        leases = aws.client("dynamodb").scan(TableName=outputs["ConsumerApplication"])["Items"]
        assert sorted(i["leaseKey"]["S"] for i in leases) == [
            "shardId-000000000000",
            "shardId-000000000001",
        ]
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=60)
    assert code == 0, (tmp_path / "consumer.log").read_text()[-3000:]

    # THEN the trend handler on the stack's ticks stream sends exactly the reference alerts
    want = expected(start_ms)
    got: list[dict[str, object]] = []

    def all_alerts_in() -> bool:
        got.extend(alerts_feed.receive(sqs, queue_url, wait_s=0))
        return len(got) >= len(want)

    run_until([trend_event_source(settings)], all_alerts_in, timeout=90)
    time.sleep(1)
    got += alerts_feed.drain(sqs, queue_url)
    assert sorted((a["symbol"], a["signal"], a["bar_start_ms"]) for a in got) == want
