"""A trend runner killed between publishing an alert and removing it from the outbox: the
next runner publishes it again with the same id, and the alerts feed drops the repeat."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from common import aws, failpoints, tables
from stockpipe import alerts_feed
from stockpipe.provision import Resources
from tests.integration.lambdas.test_trend_handler import CLOSES, expected
from tests.unit.lambdas.test_trend_engine import bar_ticks

ROOT = Path(__file__).resolve().parents[3]
LEASE_S = 1
RUNNER = """
import time
from common.settings import Settings
from stockpipe.trend_local import trend_event_source
source = trend_event_source(Settings())
while source.idle_polls < 3:
    if not source.poll_once():
        time.sleep(0.1)
"""


def put_ticks(table: str) -> None:
    dynamodb = aws.client("dynamodb")
    items = [
        tables.encode_tick_item(
            tables.TickItem("AAPL", t.id, t.event_time_ms, t.price, t.volume, "replay"),
            dt="2025-11-24",
            ingest_lag_ms=0,
            expires_at_s=0,
            change=None,
            change_pct=None,
        )
        for t in bar_ticks(CLOSES)
    ]
    for i in range(0, len(items), 25):
        dynamodb.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": item}} for item in items[i : i + 25]]}
        )


def run_trend(failpoint: str | None) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"STOCKPIPE_TREND_PUBLISH_LEASE": f"{LEASE_S}s"}
    env.pop(failpoints.ENV, None)
    if failpoint:
        env[failpoints.ENV] = failpoint
    return subprocess.run(
        [sys.executable, "-c", RUNNER],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_kill_between_publish_and_clear_repeats_the_same_id_and_the_feed_drops_it(
    resources: Resources,
) -> None:
    put_ticks(resources.ticks_table)
    sqs, seen = aws.client("sqs"), alerts_feed.SeenAlerts()
    # WHEN the runner dies right after SNS accepted the first alert
    crashed = run_trend("trend-after-publish")
    assert crashed.returncode == failpoints.EXIT_CODE, crashed.stderr[-2000:]
    assert "failpoint trend-after-publish" in crashed.stderr
    first = alerts_feed.drain(sqs, resources.alerts_queue_url, seen=seen)
    assert len(first) == 1
    # AND a new runner starts once the dead one's lease is over (not a guess at a kill moment)
    time.sleep(LEASE_S + 0.2)
    again = run_trend(None)
    assert again.returncode == 0, again.stderr[-2000:]
    raw = alerts_feed.drain(sqs, resources.alerts_queue_url)
    # THEN the first alert came again with the same id, and de-duplication drops it
    assert [a.id for a in raw].count(first[0].id) == 1 and len(raw) == 2
    deduplicated = first + [a for a in raw if seen.first_time(a)]
    assert [(a.symbol, a.signal) for a in deduplicated] == expected("AAPL", CLOSES)
    assert seen.repeats == 1


def test_a_kill_between_recording_and_publishing_loses_nothing_and_repeats_nothing(
    resources: Resources,
) -> None:
    put_ticks(resources.ticks_table)
    # WHEN the runner dies right after its conditional write recorded the first alert
    crashed = run_trend("trend-after-save")
    assert crashed.returncode == failpoints.EXIT_CODE, crashed.stderr[-2000:]
    sqs = aws.client("sqs")
    assert alerts_feed.drain(sqs, resources.alerts_queue_url) == []
    time.sleep(LEASE_S + 0.2)
    assert run_trend(None).returncode == 0
    # THEN the next runner publishes the recorded alert (its lease expired) and the rest, once
    got = alerts_feed.drain(sqs, resources.alerts_queue_url)
    assert [(a.symbol, a.signal) for a in got] == expected("AAPL", CLOSES)
