"""A replayed scenario with known crossovers, through every part of the embedded stack."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from common import aws
from common.settings import Settings
from consumer.app import make_processor
from consumer.local_driver import driver_for
from producer.publisher import KinesisPublisher
from producer.run import produce
from producer.sources.replay import ReplaySource
from stockpipe import alerts_feed
from stockpipe.provision import Resources
from stockpipe.trend_local import trend_event_source
from tests.unit.lambdas.trend_reference import reference_crossovers

AAPL = (
    [100 - i * 0.5 for i in range(25)]
    + [88 + i * 1.0 for i in range(25)]
    + [112 - i * 1.5 for i in range(25)]
)
MSFT = (
    [200 + i * 0.8 for i in range(30)]
    + [224 - i * 1.2 for i in range(30)]
    + [188 + i * 0.4 for i in range(20)]
)


def write_scenario(path: Path, start_ms: int) -> None:
    """Three ticks per 1-minute bar; the last one of each bar is the bar's close."""
    lines = ["symbol,event_time_ms,price,volume"]
    for symbol, closes in (("AAPL", AAPL), ("MSFT", MSFT)):
        for i, close in enumerate(closes):
            bar = start_ms + i * 60_000
            lines += [
                f"{symbol},{bar + 5_000},{close * 0.999:.4f},100",
                f"{symbol},{bar + 30_000},{close * 1.001:.4f},100",
                f"{symbol},{bar + 55_000},{close:.4f},100",
            ]
    path.write_text("\n".join(lines) + "\n")


def expected(start_ms: int) -> list[tuple[str, str, int]]:
    result = []
    for symbol, closes in (("AAPL", AAPL), ("MSFT", MSFT)):
        # the last bar stays open: no later tick pushes the watermark past its end
        result += [
            (symbol, signal, start_ms + i * 60_000)
            for i, signal in reference_crossovers(closes)
            if i < len(closes) - 1
        ]
    return sorted(result)


class Runnable(Protocol):
    def run(self, stop: threading.Event) -> None: ...


def run_until(targets: list[Runnable], done: Callable[[], bool], timeout: float) -> None:
    stop = threading.Event()
    threads = [threading.Thread(target=t.run, args=(stop,)) for t in targets]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not done() and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def test_known_crossovers_alert_exactly_once_end_to_end(
    settings: Settings, resources: Resources, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"consumer_flush_age_ms": 200})
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

    driver = driver_for(settings, lambda: make_processor(settings))
    trend = trend_event_source(settings)
    run_until([driver, trend], all_alerts_in, timeout=90)
    time.sleep(1)
    got += alerts_feed.drain(sqs, resources.alerts_queue_url)
    assert sorted((a["symbol"], a["signal"], a["bar_start_ms"]) for a in got) == want

    # every stream record delivered again (a new event source from TRIM_HORIZON): no alert
    again = trend_event_source(settings)
    run_until([again], lambda: again.idle_polls >= 3, timeout=60)
    assert again.records_delivered >= stats.produced
    assert alerts_feed.drain(sqs, resources.alerts_queue_url) == []
