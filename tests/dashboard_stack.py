"""A local stack for the dashboard's tests: its own emulator, provisioned like `stockpipe up`,
with an observer queue subscribed to the alerts topic, which receives exactly the messages
the topic published (SNS envelope with its publish timestamp)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from common import aws
from common.settings import Settings
from stockpipe import alerts_feed, emulator, inventory
from stockpipe.provision import provision
from stockpipe.trend_local import topic_arn

OBSERVER_QUEUE = "dashboard-test-observer"


@dataclass
class DemoStack:
    endpoint: str
    settings: Settings
    emulator: emulator.Emulator
    observer_url: str
    observed: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def observe(self) -> list[tuple[int, dict[str, Any]]]:
        """Every alert published so far: (publish time in epoch ms, alert body)."""
        sqs = aws.client("sqs")
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.observer_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return self.observed
            for message in messages:
                envelope = orjson.loads(message["Body"])
                published = datetime.fromisoformat(envelope["Timestamp"]).timestamp()
                self.observed.append((round(published * 1000), orjson.loads(envelope["Message"])))
                sqs.delete_message(
                    QueueUrl=self.observer_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def history(self) -> pl.DataFrame:
        return inventory.parquet_frame(aws.client("s3"), self.settings.bucket)


@contextmanager
def demo_stack(tmp: Path) -> Iterator[DemoStack]:
    with (
        emulator.Emulator(log_path=tmp / "emulator.log") as emu,
        pytest.MonkeyPatch.context() as env,
    ):
        for name, value in {
            "AWS_ENDPOINT_URL": emu.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "STOCKPIPE_STATE_DIR": str(tmp / "state"),
        }.items():
            env.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            env.delenv(name, raising=False)
        settings = Settings(shard_count=2)
        provision(settings)
        sqs = aws.client("sqs")
        url = sqs.create_queue(QueueName=OBSERVER_QUEUE)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        alerts_feed.subscribe(
            aws.client("sns"), topic_arn(settings), "sqs", arn, symbols=[], signals=[]
        )
        yield DemoStack(emu.endpoint, settings, emu, url)


def minute_bars(history: pl.DataFrame, symbol: str) -> list[dict[str, Any]]:
    """1-minute OHLCV of one symbol computed from the Parquet history (chart times in s)."""
    bars = (
        history.filter(pl.col("symbol") == symbol)
        .sort("event_time_ms")
        .group_by((pl.col("event_time_ms") // 60_000 * 60).alias("time"), maintain_order=True)
        .agg(
            pl.col("price").first().alias("open"),
            pl.col("price").max().alias("high"),
            pl.col("price").min().alias("low"),
            pl.col("price").last().alias("close"),
            pl.col("volume").sum().alias("volume"),
        )
    )
    return bars.to_dicts()
