"""A local stack for the dashboard's tests and benchmark: its own emulator, provisioned like
`stockpipe up`, with an observer queue subscribed to the alerts topic, which receives exactly
the messages the topic published (SNS envelope with its publish timestamp); the dashboard
server and the browser that open pages on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from playwright.sync_api import Browser, Page, Playwright

from common import aws
from common.settings import Settings
from stockpipe import alerts_feed, emulator, inventory
from stockpipe.provision import provision
from stockpipe.trend_local import topic_arn
from tests.waiting import wait_for

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


# The browser: Debian's Chromium driven by Playwright (its own browser download needs the
# internet); the dashboard: the real `stockpipe dashboard` command.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FEED = """() => [...document.querySelectorAll('#alerts li')].map(li => ({
  key: li.dataset.key, shownMs: Number(li.dataset.shownMs), text: li.textContent }))"""


def launch(playwright: Playwright) -> Browser:
    if not shutil.which(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: `make chromium` installs Debian's package")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def open_page(browser: Browser, url: str) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_function("window.dashboard && window.dashboard.loaded")
    return page


def alert_key(alert: dict[str, Any]) -> str:
    """The page's key of an alert in the feed (data-key)."""
    return f"{alert['symbol']}|{alert['signal']}|{alert['bar_start_ms']}"


def start_dashboard(log: Path) -> tuple[subprocess.Popen[str], str]:
    """`stockpipe dashboard` as a user runs it; returns the process and the URL it prints."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stockpipe", "dashboard"],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env=os.environ.copy(),
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("dashboard on http://127.0.0.1:"), line or log.read_text()
    url = line.split()[2]
    wait_for(lambda: _answers(url + "api/symbols"), 30, "the dashboard server")
    return process, url


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
