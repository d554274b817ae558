"""A replayed scenario with known crossovers, through every part of the embedded stack."""

from __future__ import annotations

import time
from pathlib import Path

from common import aws
from common.settings import Settings
from consumer.app import processor_factory
from consumer.local_driver import driver_for
from producer.publisher import KinesisPublisher
from producer.run import produce
from producer.sources.replay import ReplaySource
from stockpipe import alerts_feed
from stockpipe.provision import Resources
from stockpipe.trend_local import trend_event_source
from tests.scenarios import AAPL, MSFT, expected, run_until, write_scenario


def test_known_crossovers_alert_exactly_once_end_to_end(
    settings: Settings, resources: Resources, tmp_path: Path
) -> None:
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - now_ms % 60_000 - 3 * 3_600_000
    write_scenario(tmp_path / "scenario.csv", start_ms)
    want = expected(start_ms)
    assert len(want) >= 4

    # producer: the replay source and the Kinesis publisher
    stats = produce(
        ReplaySource(tmp_path / "scenario.csv"),
        KinesisPublisher(aws.client("kinesis"), settings.stream_name).start(),
    )
    assert stats.produced == 3 * (len(AAPL) + len(MSFT)) and stats.failed == 0

    sqs = aws.client("sqs")
    got: list[dict[str, object]] = []

    def all_alerts_in() -> bool:
        got.extend(alerts_feed.receive(sqs, resources.alerts_queue_url, wait_s=0))
        return len(got) >= len(want)

    driver = driver_for(settings, processor_factory(settings))
    trend = trend_event_source(settings)
    run_until([driver, trend], all_alerts_in, timeout=90)
    time.sleep(1)
    got += alerts_feed.drain(sqs, resources.alerts_queue_url)
    assert sorted((a.symbol, a.signal, a.bar_start_ms) for a in got) == want

    # every stream record delivered again (a new event source from TRIM_HORIZON): no alert
    again = trend_event_source(settings)
    run_until([again], lambda: again.idle_polls >= 3, timeout=60)
    assert again.records_delivered >= stats.produced
    assert alerts_feed.drain(sqs, resources.alerts_queue_url) == []
